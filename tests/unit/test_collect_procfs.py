"""The /proc adapter over a fake tree: namespaces, socket fds, NSpid, exe hashing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from irkit.engine.procfs import ProcFS


def _process(root: Path, pid: int, *, pidns: str, netns: str, sockets: dict[int, int]) -> Path:
    base = root / str(pid)
    (base / "ns").mkdir(parents=True)
    (base / "fd").mkdir()
    os.symlink(f"pid:[{pidns}]", base / "ns" / "pid")
    os.symlink(f"net:[{netns}]", base / "ns" / "net")
    for fd, inode in sockets.items():
        os.symlink(f"socket:[{inode}]", base / "fd" / str(fd))
    os.symlink("/dev/null", base / "fd" / "99")
    (base / "status").write_text(f"Name:\tx\nNSpid:\t{pid}\t{pid - 100}\n")
    return base


def test_namespace_peers_and_cgroup(tmp_path: Path) -> None:
    _process(tmp_path, 1, pidns="1", netns="1", sockets={})
    _process(tmp_path, 101, pidns="7", netns="8", sockets={3: 555})
    _process(tmp_path, 102, pidns="7", netns="8", sockets={})
    _process(tmp_path, 200, pidns="1", netns="8", sockets={4: 556})
    (tmp_path / "self").mkdir()
    (tmp_path / "102" / "cgroup").write_text("12:pids:/docker/abc123\n")
    procfs = ProcFS(tmp_path)
    assert procfs.pids() == [1, 101, 102, 200]
    assert procfs.namespace_peers(101, "pid") == [101, 102]
    assert procfs.namespace_peers(101, "net") == [101, 102, 200]
    assert procfs.namespace_peers(999, "pid") == []
    assert procfs.cgroup_members("abc123") == [102]
    assert procfs.ns_pid(101) == 1
    assert list(procfs.socket_fds(101)) == [(3, 555)]
    assert list(procfs.socket_fds(999)) == []


def test_exe_is_hashed_even_when_deleted_and_cached_per_inode(tmp_path: Path) -> None:
    binary = tmp_path / "implant"
    binary.write_bytes(b"\x7fELF implant" * 1000)
    expected = hashlib.sha256(binary.read_bytes()).hexdigest()
    for pid in (10, 11):
        (tmp_path / str(pid)).mkdir()
        os.link(binary, tmp_path / str(pid) / "exe")  # an open inode, like /proc/PID/exe
    binary.unlink()
    procfs = ProcFS(tmp_path)
    first = procfs.hash_exe(10)
    assert first is not None and first.sha256 == expected and first.size == 12000
    assert procfs.hash_exe(11) is first
    assert procfs.hash_exe(12) is None
