"""Exact cleanup of what tests create: containers, networks, iptables rules."""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess

import docker

from tests.support.images import TEST_LABEL

IPTABLES_TOOLS = ("iptables", "ip6tables")


def remove_rules(comment_prefix: str) -> list[str]:
    """Delete every rule whose comment starts with `comment_prefix`; return them."""
    removed: list[str] = []
    for tool in IPTABLES_TOOLS:
        if shutil.which(tool) is None:
            continue
        for table in ("filter", "raw", "mangle", "nat"):
            dump = subprocess.run([tool, "-w", "-t", table, "-S"], capture_output=True, text=True)
            if dump.returncode != 0:
                continue
            for line in dump.stdout.splitlines():
                if not line.startswith("-A "):
                    continue
                words = shlex.split(line)
                if "--comment" not in words:
                    continue
                comment = words[words.index("--comment") + 1]
                if not comment.startswith(comment_prefix):
                    continue
                subprocess.run([tool, "-w", "-t", table, "-D", *words[1:]], capture_output=True)
                removed.append(f"{tool} -t {table} {line}")
    return removed


def remove_labelled(client: docker.DockerClient, label: str) -> None:
    """Remove containers, then networks, carrying `label` (key=value)."""
    for container in client.containers.list(
        all=True, filters={"label": label}, ignore_removed=True
    ):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
    for network in client.networks.list(filters={"label": label}):
        for container in network.attrs.get("Containers") or {}:
            with contextlib.suppress(docker.errors.APIError):
                network.disconnect(container, force=True)
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()


def test_label_filter() -> str:
    key, value = next(iter(TEST_LABEL.items()))
    return f"{key}={value}"
