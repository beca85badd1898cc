"""Bundle throughput against sha256sum over the same bytes, in the same run.

1. seal 1 GB streamed from a pipe vs `sha256sum` reading the same pipe
2. the same with AES-256
3. peak RSS of sealing 2 GB (in a child process)
4. verify vs `sha256sum` over the same bundle file

Usage: .venv/bin/python bench/bundle.py [--gb 1] [--rss-gb 2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from irkit.bundle.manifest import CaseInfo
from irkit.bundle.verify import TrustPolicy, verify_bundle
from irkit.bundle.writer import BundleWriter
from irkit.engine.clock import SystemClock
from tests.support.bundles import new_signer, trusting

CHUNK = 1024 * 1024
# A child that writes N MiB of incompressible bytes to stdout: the "pipe" source.
PRODUCER = (
    "import os,sys\n"
    "block = os.urandom(1 << 20)\n"
    "out = sys.stdout.buffer\n"
    "for _ in range(int(sys.argv[1])):\n"
    "    out.write(block)\n"
)


def producer(mib: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", PRODUCER, str(mib)], stdout=subprocess.PIPE, bufsize=0
    )


def pipe_chunks(proc: subprocess.Popen[bytes]) -> Iterator[bytes]:
    assert proc.stdout is not None
    while chunk := proc.stdout.read(CHUNK):
        yield chunk


def time_sha256sum_pipe(mib: int) -> float:
    start = time.perf_counter()
    src = producer(mib)
    subprocess.run(["sha256sum"], stdin=src.stdout, capture_output=True, check=True)
    src.wait()
    return time.perf_counter() - start


def time_hashlib_pipe(mib: int) -> float:
    start = time.perf_counter()
    src = producer(mib)
    digest = hashlib.sha256()
    for chunk in pipe_chunks(src):
        digest.update(chunk)
    src.wait()
    return time.perf_counter() - start


def time_seal(mib: int, path: Path, password: bytes | None) -> float:
    start = time.perf_counter()
    src = producer(mib)
    case = CaseInfo("bench", "bench")
    with BundleWriter(path, case, SystemClock(), signer=SIGNER, password=password) as w:
        w.add_stream("pipe.bin", pipe_chunks(src), step="bench", source="pipe")
    src.wait()
    return time.perf_counter() - start


def time_verify(path: Path, password: bytes | None, policy: TrustPolicy) -> float:
    start = time.perf_counter()
    report = verify_bundle(path, policy=policy, password=password)
    assert report.ok, report.failures
    return time.perf_counter() - start


def time_sha256sum_file(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["sha256sum", str(path)], capture_output=True, check=True)
    return time.perf_counter() - start


def peak_rss_child(mib: int, workdir: Path) -> float:
    """Seal `mib` MiB in a fresh process; return its peak RSS in MB."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[3])\n"
        "from pathlib import Path\n"
        "import bench.bundle as b\n"
        "b.time_seal(int(sys.argv[1]), Path(sys.argv[2]), None)\n"
    )
    repo = str(Path(__file__).resolve().parent.parent)
    subprocess.run(
        [sys.executable, "-c", code, str(mib), str(workdir / "rss.zip"), repo], check=True
    )
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


SIGNER = new_signer("bench")


def best(measure: Callable[[], float], runs: int = 2) -> float:
    """The fastest of a few runs: the machine is shared, noise only slows things down."""
    return min(measure() for _ in range(runs))


def fresh(path: Path) -> Path:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".sha256").unlink(missing_ok=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--rss-gb", type=float, default=2.0)
    args = parser.parse_args()
    mib = int(args.gb * 1024)
    policy = trusting(SIGNER)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        work = Path(tmp)
        base = best(lambda: time_sha256sum_pipe(mib))
        raw = best(lambda: time_hashlib_pipe(mib))
        plain = best(lambda: time_seal(mib, fresh(work / "plain.zip"), None))
        aes = best(lambda: time_seal(mib, fresh(work / "aes.zip"), b"bench passphrase"))
        sum_file = best(lambda: time_sha256sum_file(work / "plain.zip"))
        verify = best(lambda: time_verify(work / "plain.zip", None, policy))
        verify_aes = best(lambda: time_verify(work / "aes.zip", b"bench passphrase", policy))
        for name in ("plain.zip", "aes.zip"):
            fresh(work / name)
        rss = peak_rss_child(int(args.rss_gb * 1024), work)
    mb = mib * 1.048576
    print(f"data: {mib} MiB streamed from a pipe (incompressible)")
    print(f"sha256sum over the pipe:  {mb / base:7.1f} MB/s")
    print(f"python hashlib over pipe: {mb / raw:7.1f} MB/s (seal vs it: {raw / plain:.2f}x)")
    print(f"seal (stored, signed):    {mb / plain:7.1f} MB/s  ratio {base / plain:.2f}x (>= 0.5)")
    print(f"seal (AES-256, signed):   {mb / aes:7.1f} MB/s  ratio {base / aes:.2f}x (>= 0.4)")
    print(f"sha256sum over bundle:    {mb / sum_file:7.1f} MB/s")
    ratio = sum_file / verify
    print(f"verify (stored):          {mb / verify:7.1f} MB/s  ratio {ratio:.2f}x (>= 0.6)")
    print(
        f"verify (AES-256):         {mb / verify_aes:7.1f} MB/s  ratio {sum_file / verify_aes:.2f}x"
    )
    print(f"peak RSS sealing {args.rss_gb:g} GB: {rss:.0f} MB (< 100)")


if __name__ == "__main__":
    main()
