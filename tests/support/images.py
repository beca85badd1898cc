"""Local test images, built without any registry.

- victim: a static busybox with its applets, /tmp and /etc/passwd.
- noshell: only a static busybox renamed after a non-shell applet (no /bin/sh).
- capture: the host's tcpdump with every library ldd lists (irkit's own builder).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import docker

from irkit.capture.image import build_capture_image
from irkit.engine.commands import SubprocessRunner

VICTIM_IMAGE = "irkit-test/victim:1"
NOSHELL_IMAGE = "irkit-test/noshell:1"
CAPTURE_IMAGE = "irkit-test/capture:2"
TEST_LABEL = {"irkit.test": "1"}

BUSYBOX = "/bin/busybox"


def _busybox_applets() -> list[str]:
    out = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True)
    return [a for a in out.stdout.split() if a and "/" not in a]


def _import(client: docker.DockerClient, tag: str, root: Path, changes: list[str]) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(root, arcname=".")
    args = ["docker", "import"]
    for change in [*changes, 'LABEL irkit.test="1"']:
        args += ["-c", change]
    args += ["-", tag]
    subprocess.run(args, input=buf.getvalue(), check=True, capture_output=True)


def _has(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def _passwd(root: Path) -> None:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
    )
    (root / "etc/group").write_text("root:x:0:\nnobody:x:65534:\n")
    for d in ("tmp", "root", "proc", "sys", "dev", "var/tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)


def ensure_victim_image(client: docker.DockerClient, workdir: Path) -> str:
    if _has(client, VICTIM_IMAGE):
        return VICTIM_IMAGE
    root = workdir / "victim"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin/busybox")
    for applet in _busybox_applets():
        link = root / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    _passwd(root)
    _import(client, VICTIM_IMAGE, root, ['CMD ["/bin/sleep", "infinity"]', "ENV PATH=/bin"])
    return VICTIM_IMAGE


def ensure_noshell_image(client: docker.DockerClient, workdir: Path) -> str:
    """No shell, no netstat: only busybox named after harmless applets."""
    if _has(client, NOSHELL_IMAGE):
        return NOSHELL_IMAGE
    root = workdir / "noshell"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin/sleep")
    for applet in ("nc", "ping", "cat", "echo"):
        os.link(root / "bin/sleep", root / "bin" / applet)
    _passwd(root)
    _import(client, NOSHELL_IMAGE, root, ['CMD ["/bin/sleep", "infinity"]', "ENV PATH=/bin"])
    return NOSHELL_IMAGE


def ensure_capture_image(client: docker.DockerClient, tag: str = CAPTURE_IMAGE) -> str:
    """Built by irkit's own `capture-image build` code, labelled as a test image."""
    if not _has(client, tag):
        build_capture_image(client, SubprocessRunner(), tag, labels=TEST_LABEL)
    return tag
