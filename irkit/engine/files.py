"""Durable small writes: evidence sidecars and state must survive a crash whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `PATH.<pid>.partial`, fsync, rename over PATH, fsync the directory.

    A reader sees the old file or the new one, never a torn one; the partial
    file is removed if anything fails.
    """
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def sha256_file_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def write_sha256_file(path: Path, digest: str) -> Path:
    """`FILE.sha256` in sha256sum's format, so `sha256sum -c` checks it; written atomically."""
    sums = sha256_file_path(path)
    write_atomic(sums, f"{digest}  {path.name}\n".encode())
    return sums
