"""A private, throw-away dockerd for tests that must kill an engine.

The shared engine is never stopped: this one has its own socket, data root,
exec root and pid file, its own bridge and no iptables, so killing it touches
nothing else. (Never `--bridge=none`: dockerd then deletes the host's docker0,
which the shared engine uses.) The bridge carries a documentation address
(TEST-NET-1) and the engine neither forwards nor masquerades. `stop()` kills
it, its containerd, shims and container processes (found by its private root,
by pid), unmounts and deletes its folders and its bridge.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import docker

BRIDGE_ADDRESS = "192.0.2.1/24"  # TEST-NET-1: documentation only, never routed


class PrivateEngine:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.pidfile = root / "docker.pid"
        self.process: subprocess.Popen[bytes] | None = None
        self.client: docker.DockerClient | None = None
        self.bridge = f"irkpe{os.getpid() % 100000}"

    def _add_bridge(self) -> None:
        self._remove_bridge()
        for args in (
            ["link", "add", self.bridge, "type", "bridge"],
            ["addr", "add", BRIDGE_ADDRESS, "dev", self.bridge],
            ["link", "set", self.bridge, "up"],
        ):
            subprocess.run(["ip", *args], check=True, capture_output=True)

    def _remove_bridge(self) -> None:
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

    def start(self, timeout: float = 30) -> docker.DockerClient:
        self.root.mkdir(parents=True, exist_ok=True)
        self._add_bridge()
        log = open(self.root / "dockerd.log", "wb")  # noqa: SIM115
        argv = [
            "dockerd",
            "-H", self.host,
            "--data-root", str(self.root / "data"),
            "--exec-root", str(self.root / "exec"),
            "--pidfile", str(self.pidfile),
            f"--bridge={self.bridge}", "--iptables=false", "--ip6tables=false",
            "--ip-forward=false", "--ip-masq=false",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"private dockerd exited: {self.log_tail()}")
            with contextlib.suppress(Exception):
                client = docker.DockerClient(base_url=self.host, timeout=60)
                client.ping()
                self.client = client
                return client
            time.sleep(0.2)
        raise RuntimeError(f"private dockerd did not answer: {self.log_tail()}")

    def load(self, image: str) -> None:
        """Copy an image from the shared engine (docker save | docker load)."""
        saved = subprocess.run(["docker", "save", image], capture_output=True, check=True)
        subprocess.run(
            ["docker", "-H", self.host, "load"], input=saved.stdout, capture_output=True, check=True
        )

    def kill(self) -> None:
        """SIGKILL the engine (the fault under test)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "dockerd.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        """Kill everything this engine started, unmount and delete its folders."""
        self.kill()
        for pid in self._own_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        mounts = [
            line.split()[1]
            for line in Path("/proc/self/mounts").read_text().splitlines()
            if line.split()[1].startswith(str(self.root))
        ]
        for mount in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True)
        for task in (self.root / "exec").glob("containerd/daemon/*/moby/*"):
            for cgroup in Path("/sys/fs/cgroup").glob(f"*/docker/{task.name}"):
                with contextlib.suppress(OSError):
                    cgroup.rmdir()
        shutil.rmtree(self.root, ignore_errors=True)
        self._remove_bridge()

    def _own_pids(self) -> list[int]:
        """containerd, shims (their command line names our root) and the
        container processes they hold (their init.pid files)."""
        pids: list[int] = []
        root = str(self.root).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if root in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
        for pidfile in (self.root / "exec").rglob("init.pid"):
            with contextlib.suppress(OSError, ValueError):
                pids.append(int(pidfile.read_text().strip()))
        return [p for p in pids if p != os.getpid()]
