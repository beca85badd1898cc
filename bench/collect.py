"""Collection benchmarks, each against a raw baseline in the same run.

1. export: `irkit collect --artifacts export` of a container holding ~1 GB
   (random data) into an unencrypted bundle, against
   `docker export CONTAINER | sha256sum`; throughput ratio and irkit's peak RSS.
2. processes + netstat of a container with 200 processes and 1,000 sockets
   (the sockets are opened by a helper that joins the container's network
   namespace), against the 2 s budget.

Run as root with a Docker engine: `.venv/bin/python bench/collect.py [--gib 1]`.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from irkit.bundle.manifest import CaseInfo  # noqa: E402
from irkit.bundle.writer import BundleWriter  # noqa: E402
from irkit.collect import collect  # noqa: E402
from irkit.engine.host import real_host  # noqa: E402
from tests.support.images import ensure_victim_image  # noqa: E402

LABEL = {"irkit.bench": uuid.uuid4().hex[:10]}
CLONE_NEWNET = 0x40000000


def _run_measured(argv: list[str]) -> tuple[float, int, int]:
    """Wall seconds, exit status and peak RSS (KiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, proc.returncode, usage.ru_maxrss


def bench_export(client: docker.DockerClient, image: str, gib: float, workdir: Path) -> None:
    megabytes = int(gib * 1024)
    container = client.containers.run(
        image,
        ["sh", "-c", f"dd if=/dev/urandom of=/blob bs=1M count={megabytes} 2>/dev/null; "
         "touch /ready; sleep 100000"],
        detach=True,
        labels=LABEL,
        name=f"irkit-bench-{LABEL['irkit.bench']}",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while container.exec_run(["test", "-f", "/ready"]).exit_code != 0:
            if time.monotonic() > deadline:
                raise SystemExit("the data never got written")
            time.sleep(1)
        size = sum(len(c) for c in client.api.export(container.id, chunk_size=1 << 20))
        shell = f"docker export {container.id} | sha256sum"
        raw_s, raw_rc, _ = _run_measured(["sh", "-c", shell])
        bundle = workdir / "export.zip"
        argv = [sys.executable, "-m", "irkit", "collect", container.id, "--artifacts", "export",
                "--out", str(bundle), "--no-sign", "--force"]  # fmt: skip
        irkit_s, irkit_rc, rss_kib = _run_measured(argv)
        if raw_rc or irkit_rc:
            raise SystemExit(f"export failed: baseline {raw_rc}, irkit {irkit_rc}")
        raw_rate, irkit_rate = size / raw_s / 1e6, size / irkit_s / 1e6
        print(f"export of {size / 1e9:.2f} GB (container filesystem):")
        print(f"  docker export | sha256sum : {raw_s:6.2f} s  {raw_rate:7.1f} MB/s")
        print(f"  irkit collect (bundle)    : {irkit_s:6.2f} s  {irkit_rate:7.1f} MB/s")
        print(f"  throughput ratio          : {irkit_rate / raw_rate:.2f}x (target >= 0.70x)")
        print(f"  irkit peak RSS            : {rss_kib / 1024:.1f} MB (target < 100 MB)")
        bundle.unlink(missing_ok=True)
    finally:
        container.remove(force=True, v=True)


def _open_sockets(netns: str, count: int) -> list[socket.socket]:
    """Join the network namespace at path `netns` and open `count` sockets there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(netns, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")
    os.close(fd)
    held: list[socket.socket] = []
    listeners = count // 2
    for _ in range(listeners):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        held.append(s)
    for server in held[: (count - listeners) // 2]:
        client = socket.create_connection(server.getsockname())
        held += [client, server.accept()[0]]
    return held


def bench_host_view(client: docker.DockerClient, image: str, workdir: Path) -> None:
    script = "for i in $(seq 199); do sleep 100000 & done; wait"
    container = client.containers.run(image, ["sh", "-c", script], detach=True, labels=LABEL)
    helper = None
    try:
        deadline = time.monotonic() + 60
        while len(container.top()["Processes"]) < 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        container.reload()
        netns = f"/proc/{container.attrs['State']['Pid']}/ns/net"
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); from bench.collect import _open_sockets;"
            "held = _open_sockets(sys.argv[2], 1000); print(len(held), flush=True);"
            "sys.stdin.read()"
        )
        helper = subprocess.Popen(
            [sys.executable, "-c", code, str(REPO), netns],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        opened = int(helper.stdout.readline()) if helper.stdout else 0
        host = real_host()
        with BundleWriter(
            workdir / "hostview.zip", CaseInfo("bench", "bench"), host.clock, force=True
        ) as writer:
            start = time.perf_counter()
            result = collect(host, [container.id], writer, ["processes", "netstat"])
            elapsed = time.perf_counter() - start
            writer.seal()
        detail = {s.name.split(":")[0]: s.detail for s in result.steps}
        print(f"processes + netstat ({opened} sockets opened in the namespace):")
        print(f"  processes found : {detail['processes'].get('processes')}")
        print(f"  sockets found   : {detail['netstat'].get('sockets')}")
        print(f"  time            : {elapsed:.2f} s (target < 2 s)")
    finally:
        if helper is not None:
            helper.kill()
            helper.wait()
        container.remove(force=True, v=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0, help="data in the export container")
    args = parser.parse_args()
    client = docker.from_env(timeout=600)
    with tempfile.TemporaryDirectory(prefix="irkit-bench-") as tmp:
        image = ensure_victim_image(client)
        bench_host_view(client, image, Path(tmp))
        bench_export(client, image, args.gib, Path(tmp))


if __name__ == "__main__":
    main()
