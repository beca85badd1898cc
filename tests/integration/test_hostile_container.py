"""A hostile container, on the real engine.

Its image (imported from a tar built here) holds absolute and `..` symlinks, a
self-loop, a character device, file names that are not UTF-8 or carry markup
and newlines; at run time it makes a 3 GiB sparse file, writes logs with
invalid UTF-8 and a 3 MB line, and runs a process (a static C program, its
binary then deleted) that rewrites its own command line and name with escape
sequences, markup and bytes that are not UTF-8.

Collection stays correct and bounded, nothing is extracted on the host, the
bundle verifies, and triage prints it all as text.
"""

from __future__ import annotations

import io
import json
import resource
import shutil
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.support.images import TEST_LABEL

pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMAGE = "irkit-test/hostile:1"
LONG_LINE = 3_000_000
SPARSE = "3G"
REWRITER = r"""
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
int main(int argc, char **argv) {
    size_t room = 0;
    for (int i = 0; i < argc; i++) room += strlen(argv[i]) + 1;
    const char fake[] = "[/]\x1b[2J\xff\xfe kworker/0:0\nFAKE";
    memset(argv[0], 0, room);
    memcpy(argv[0], fake, sizeof(fake) < room ? sizeof(fake) : room - 1);
    prctl(PR_SET_NAME, "\xff[/]\x1b[31m", 0, 0, 0);
    for (;;) pause();
}
"""
ODD_NAMES = ["tmp/\udcff\udcfe-not-utf8", "tmp/[/]markup", "tmp/new\nline", "tmp/\x1b[2Jclear"]
SCRIPT = (
    "cp /bin/rewriter '/tmp/[/]evil'; '/tmp/[/]evil' " + "x" * 64 + " & sleep 0.5; "
    "rm '/tmp/[/]evil'; "
    f"truncate -s {SPARSE} /tmp/sparse; "
    f"head -c {LONG_LINE} /dev/zero | tr '\\0' A; printf '\\n\\377\\376 not utf-8\\n'; "
    "printf '\\033[2J[/] on stderr\\n' >&2; "
    "echo ready; exec sleep 100000"
)


def _entry(
    tar: tarfile.TarFile, name: str, kind: bytes, data: bytes | None = None, **fields: Any
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _image_tar(rewriter: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for folder in ("bin", "tmp", "etc", "dev", "proc", "sys", "evil"):
            _entry(tar, folder, tarfile.DIRTYPE, mode=0o1777 if folder == "tmp" else 0o755)
        tar.add("/bin/busybox", "bin/busybox")
        tar.add(rewriter, "bin/rewriter")
        for applet in ("sh", "sleep", "cp", "rm", "truncate", "head", "tr", "printf", "echo"):
            _entry(tar, f"bin/{applet}", tarfile.SYMTYPE, linkname="busybox", mode=0o777)
        _entry(tar, "etc/passwd", tarfile.REGTYPE, data=b"root:x:0:0::/:/bin/sh\n", mode=0o644)
        _entry(tar, "evil/abs", tarfile.SYMTYPE, linkname="/etc/shadow", mode=0o777)
        _entry(tar, "evil/up", tarfile.SYMTYPE, linkname="../../../../../../etc/passwd")
        _entry(tar, "evil/loop", tarfile.SYMTYPE, linkname="/evil/loop")
        _entry(tar, "evil/tty", tarfile.CHRTYPE, devmajor=5, devminor=0, mode=0o666)
        _entry(tar, "evil/fifo", tarfile.FIFOTYPE, mode=0o666)
        for name in ODD_NAMES:
            _entry(tar, name, tarfile.REGTYPE, data=b"odd\n", mode=0o644)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def hostile_image(docker_client: docker.DockerClient, tmp_path_factory: Any) -> str:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the command-line rewriter")
    work = tmp_path_factory.mktemp("hostile-image")
    (work / "rw.c").write_text(REWRITER)
    subprocess.run(
        ["gcc", "-static", "-Os", "-o", str(work / "rw"), str(work / "rw.c")],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *("docker", "import", "-c", 'CMD ["/bin/sleep", "100000"]', "-c", "ENV PATH=/bin"),
            *("-c", f'LABEL {next(iter(TEST_LABEL))}="1"', "-", IMAGE),
        ],
        input=_image_tar(work / "rw"),
        check=True,
        capture_output=True,
    )
    return IMAGE


@pytest.fixture
def hostile(make_container: Callable[..., Any], hostile_image: str) -> Any:
    container = make_container(["/bin/sh", "-c", SCRIPT], image=hostile_image)
    deadline = time.monotonic() + 60
    while b"ready" not in container.logs(stderr=False, tail=2):
        assert time.monotonic() < deadline, container.logs()[-500:]
        time.sleep(0.2)
    return container


@pytest.fixture
def keys(tmp_path: Path, irkit_cli: Callable[..., Any]) -> tuple[Path, Path]:
    assert irkit_cli("keys", "generate", "--out", str(tmp_path / "keys")).returncode == 0
    return tmp_path / "keys" / "irkit_ed25519", tmp_path / "keys" / "irkit_ed25519.pub"


def _collect(
    irkit_cli: Callable[..., Any], keys: tuple[Path, Path], bundle: Path, *args: str
) -> dict[str, bytes]:
    result = irkit_cli("collect", *args, "--out", str(bundle), "--key", str(keys[0]))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "\x1b" not in result.stderr
    verify = irkit_cli("bundle", "verify", str(bundle), "--pubkey", str(keys[1]))
    assert verify.returncode == 0, verify.stderr
    with zipfile.ZipFile(bundle) as z:
        return {name: z.read(name) for name in z.namelist()}


def _only_bundle_files(folder: Path) -> None:
    """Nothing of the container's filesystem was written on the host."""
    container_names = {"abs", "up", "loop", "tty", "fifo", "sparse", "rewriter", "busybox"}
    container_names |= {Path(n).name for n in ODD_NAMES}
    for path in folder.rglob("*"):
        assert path.name not in container_names, path
        assert not path.is_symlink() and (path.is_file() or path.is_dir()), path
    assert {p.name for p in folder.glob("*.zip")} <= {"b.zip", "e.zip"}


def test_collection_of_a_hostile_container(
    hostile: Any, irkit_cli: Callable[..., Any], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    members = _collect(irkit_cli, keys, tmp_path / "b.zip", hostile.name)
    folder = f"artifacts/containers/{hostile.name}"
    manifest = json.loads(members["manifest.json"])
    steps = {s["name"].split(":")[0]: s for s in manifest["steps"]}
    assert all(s["status"] != "failed" for s in manifest["steps"]), manifest["steps"]
    assert "export limit" in (steps["export"]["error"] or ""), "3 GiB sparse: export bounded"

    processes = json.loads(members[f"{folder}/processes.json"])["processes"]
    rewritten = [p for p in processes if p["cmdline"] and p["cmdline"][0].startswith("[/]")]
    assert rewritten, [p["cmdline"] for p in processes]
    assert "\udcff\udcfe" in rewritten[0]["cmdline"][0]  # the bytes, kept exactly (escaped)
    assert rewritten[0]["exe_deleted"] and rewritten[0]["exe_sha256"]
    members[f"{folder}/processes.json"].decode("utf-8")  # valid UTF-8 JSON all the same

    stdout = members[f"{folder}/logs/stdout.log"]
    assert stdout.count(b"A") == LONG_LINE  # the whole enormous line, streamed
    # json-file stores lines as JSON strings: the engine itself already replaced
    # the invalid bytes with U+FFFD before irkit could read them.
    assert b"\xff\xfe not utf-8" in stdout or "\ufffd\ufffd not utf-8".encode() in stdout
    assert b"[/] on stderr" in members[f"{folder}/logs/stderr.log"]
    diff = json.loads(members[f"{folder}/diff/diff.json"])
    sparse = next(c for c in diff["changes"] if c["path"] == "/tmp/sparse")
    assert "not copied" in sparse["note"] and sparse["size"] == 3 << 30
    assert sum(len(v) for v in members.values()) < 64 << 20  # bounded: no 3 GiB anywhere
    _only_bundle_files(tmp_path)


def test_export_keeps_hostile_entries_as_tar_entries(
    make_container: Callable[..., Any],
    hostile_image: str,
    irkit_cli: Callable[..., Any],
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    container = make_container(image=hostile_image)
    bundle = tmp_path / "e.zip"
    members = _collect(irkit_cli, keys, bundle, container.name, "--artifacts", "export")
    export = members[f"artifacts/containers/{container.name}/export.tar"]
    with tarfile.open(fileobj=io.BytesIO(export)) as tar:  # listed, never extracted
        entries = {m.name: m for m in tar.getmembers()}
    assert entries["evil/abs"].issym() and entries["evil/abs"].linkname == "/etc/shadow"
    assert entries["evil/up"].linkname.startswith("../../")
    assert entries["evil/tty"].ischr() and entries["evil/fifo"].isfifo()
    for name in ODD_NAMES:
        assert name in entries, sorted(entries)
    _only_bundle_files(tmp_path)
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 400 * 1024


def test_triage_prints_hostile_names_as_text(hostile: Any, irkit_cli: Callable[..., Any]) -> None:
    result = irkit_cli("triage", hostile.name)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "\x1b" not in result.stderr
    assert "deleted" in result.stderr and "[/]" in result.stderr
    document = json.loads(irkit_cli("triage", hostile.name, "--json").stdout)
    assert any(f["check"] == "deleted-binary" for f in document["findings"])
