"""The host's /proc, read directly: namespaces, fds, socket tables.

Collection trusts the host's kernel view, not the container's own binaries.
Everything is relative to a root (normally /proc) so tests can point it at a
fake tree. Processes vanish at any moment: a missing entry is `None` or an
empty result, never an exception.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ExeHash:
    sha256: str
    size: int


class ProcFS:
    def __init__(self, root: Path = Path("/proc")) -> None:
        self.root = root
        self._hash_cache: dict[tuple[int, int, int, int], ExeHash] = {}

    def pids(self) -> list[int]:
        """Every process id on the host, ascending."""
        return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())

    def namespace(self, pid: int, kind: str) -> str | None:
        """The namespace link of `pid` (e.g. 'pid:[4026531836]'), None if gone."""
        return self._readlink(self.root / str(pid) / "ns" / kind)

    def namespace_peers(self, pid: int, kind: str) -> list[int]:
        """Every process in the same `kind` namespace as `pid`, itself included."""
        wanted = self.namespace(pid, kind)
        if wanted is None:
            return []
        return [p for p in self.pids() if self.namespace(p, kind) == wanted]

    def cgroup_members(self, needle: str) -> list[int]:
        """Processes whose /proc/PID/cgroup mentions `needle` (a full container id)."""
        return [p for p in self.pids() if needle in (self.read_text(p, "cgroup") or "")]

    def read_text(self, pid: int, name: str) -> str | None:
        try:
            return (self.root / str(pid) / name).read_text(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
            return None
        except OSError:
            return None

    def ns_pid(self, pid: int) -> int | None:
        """The pid as seen inside its innermost pid namespace (last NSpid field)."""
        for line in (self.read_text(pid, "status") or "").splitlines():
            if line.startswith("NSpid:"):
                fields = line.split()[1:]
                return int(fields[-1]) if fields else None
        return None

    def socket_fds(self, pid: int) -> Iterator[tuple[int, int]]:
        """(fd number, socket inode) for every socket `pid` holds open."""
        fd_dir = self.root / str(pid) / "fd"
        try:
            entries = list(os.scandir(fd_dir))
        except OSError:
            return
        for entry in entries:
            link = self._readlink(Path(entry.path))
            match = _SOCKET_LINK.match(link or "")
            if match:
                yield int(entry.name), int(match.group(1))

    def net_table(self, pid: int, table: str) -> str | None:
        """/proc/PID/net/TABLE: the socket table of the network namespace of `pid`."""
        return self.read_text(pid, f"net/{table}")

    def exe_link(self, pid: int) -> str | None:
        return self._readlink(self.root / str(pid) / "exe")

    def hash_exe(self, pid: int) -> ExeHash | None:
        """sha256 of the binary `pid` runs, through /proc/PID/exe, so a deleted
        binary is still hashed; cached per inode so 200 copies of one binary cost one read."""
        path = self.root / str(pid) / "exe"
        try:
            with open(path, "rb") as handle:
                st = os.fstat(handle.fileno())
                key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
                cached = self._hash_cache.get(key)
                if cached is not None:
                    return cached
                digest = hashlib.sha256()
                size = 0
                while chunk := handle.read(HASH_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError:
            return None
        result = ExeHash(digest.hexdigest(), size)
        self._hash_cache[key] = result
        return result

    @staticmethod
    def _readlink(path: Path) -> str | None:
        try:
            return os.readlink(path)
        except OSError:
            return None
