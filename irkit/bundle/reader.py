"""Opening a bundle as hostile input: bounded sizes, safe names, one read pass.

`HashingReader` hashes the bundle file as the zip reader walks its members in
order, so verification reads each byte once and still checks BUNDLE.sha256.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyzipper

from irkit.bundle import layout
from irkit.errors import VerificationFailed

CHUNK = 1024 * 1024
GAP_CATCH_UP = 256 * 1024

# What a damaged or hostile zip can raise from the zip and AES layers.
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    pyzipper.BadZipFile,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    KeyError,
    IndexError,
    OverflowError,
    struct.error,
    zlib.error,
)


_MANIFEST_ERRORS: tuple[type[BaseException], ...] = (
    *ZIP_ERRORS,
    json.JSONDecodeError,
    RecursionError,
)


@dataclass(frozen=True)
class Limits:
    """Bounds applied before any member is read."""

    max_members: int = 100_000
    max_total_size: int = 4 * 1024**4
    max_ratio: int = 1100  # deflate cannot exceed ~1032:1
    max_metadata: int = 64 * 1024 * 1024


DEFAULT_LIMITS = Limits()


class HashingReader:
    """A read-only file wrapper that hashes bytes in file order as they are read.

    Reads behind the hashed point are ignored; a small gap ahead (headers the
    zip reader skips) is caught up with pread; `finish()` hashes what is left.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._fd = raw.fileno()
        self.sha256 = hashlib.sha256()
        self.hashed = 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def read(self, n: int = -1) -> bytes:
        start = self._raw.tell()
        data = self._raw.read(n)
        if 0 < start - self.hashed <= GAP_CATCH_UP:
            self._catch_up(start)
        if start <= self.hashed < start + len(data):
            self.sha256.update(memoryview(data)[self.hashed - start :])
            self.hashed = start + len(data)
        return data

    def _catch_up(self, until: int) -> None:
        while self.hashed < until:
            block = os.pread(self._fd, min(CHUNK, until - self.hashed), self.hashed)
            if not block:
                return
            self.sha256.update(block)
            self.hashed += len(block)

    def finish(self) -> str:
        self._catch_up(os.fstat(self._fd).st_size)
        return self.sha256.hexdigest()

    def close(self) -> None:
        self._raw.close()


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading; a FIFO, device or directory is refused
    (opened non-blocking first, so a FIFO cannot hang verification)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_zip(reader: HashingReader, password: bytes | None) -> Any:
    """The zip reader over `reader`; raises one of ZIP_ERRORS on non-zip input."""
    zf = pyzipper.AESZipFile(reader, "r")
    if password:
        zf.setpassword(password)
    return zf


def structural_problems(infos: list[Any], limits: Limits) -> list[str]:
    """Name, type and size problems found from the central directory alone."""
    problems: list[str] = []
    if len(infos) > limits.max_members:
        return [f"bundle has {len(infos)} members, more than the bound {limits.max_members}"]
    seen: set[str] = set()
    total = 0
    for info in infos:
        name: str = info.filename
        problem = layout.name_problem(name)
        if problem:
            problems.append(f"unsafe member name {name!r}: {problem}")
        if name in seen:
            problems.append(f"member {name!r} appears twice")
        seen.add(name)
        file_type = stat.S_IFMT(info.external_attr >> 16)
        if file_type and file_type != stat.S_IFREG:
            problems.append(f"member {name!r} is not a regular file (symlink or special)")
        if info.file_size > info.compress_size * limits.max_ratio + 4096:
            problems.append(
                f"member {name!r} declares {info.file_size} bytes from {info.compress_size}:"
                " zip bomb"
            )
        total += info.file_size
    if total > limits.max_total_size:
        problems.append(f"bundle declares {total} bytes, more than the bound")
    return problems


def declared_total(infos: list[Any]) -> int:
    return sum(int(info.file_size) for info in infos)


def is_encrypted(infos: list[Any]) -> bool:
    return any(info.flag_bits & 0x1 for info in infos)


@dataclass
class MemberRead:
    sha256: str
    size: int
    kept: bytes | None  # the bytes, for small metadata members


def read_member(
    zf: Any,
    info: Any,
    keep_up_to: int,
    sink: Callable[[bytes], object] | None = None,
) -> MemberRead:
    """Stream one member: hash it, optionally keep it (bounded) and pass it to `sink`."""
    digest = hashlib.sha256()
    size = 0
    kept: list[bytes] | None = [] if keep_up_to > 0 else None
    with zf.open(info) as member:
        while chunk := member.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if size > info.file_size:
                raise pyzipper.BadZipFile("more data than declared")
            if kept is not None:
                if size > keep_up_to:
                    raise ValueError(f"larger than {keep_up_to} bytes")
                kept.append(chunk)
            if sink is not None:
                sink(chunk)
    return MemberRead(digest.hexdigest(), size, b"".join(kept) if kept is not None else None)


def read_manifest(
    path: Path, password: bytes | None, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Any]:
    """manifest.json alone, for display (not a verification); raises VerificationFailed."""
    try:
        with open_regular(path) as raw:
            zf = open_zip(HashingReader(raw), password)
            infos = zf.infolist()
            problems = structural_problems(infos, limits)
            if problems:
                raise VerificationFailed("; ".join(problems))
            info = next((i for i in infos if i.filename == layout.MANIFEST), None)
            if info is None:
                raise VerificationFailed(f"{path} has no manifest.json")
            if info.flag_bits & 0x1 and not password:
                raise VerificationFailed(
                    "bundle is encrypted: give --password-file or IRKIT_BUNDLE_PASSWORD"
                )
            data = read_member(zf, info, limits.max_metadata).kept or b""
            document = json.loads(data)
    except VerificationFailed:
        raise
    except OSError as e:
        raise VerificationFailed(f"cannot read {path}: {e.strerror or e}") from e
    except _MANIFEST_ERRORS as e:
        raise VerificationFailed(f"cannot read the manifest of {path}: {e}") from e
    if not isinstance(document, dict):
        raise VerificationFailed("manifest.json is not a JSON object")
    return document
