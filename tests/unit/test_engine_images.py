"""Busybox root filesystems built in memory (no engine needed)."""

from __future__ import annotations

import io
import struct
import tarfile

from irkit.engine.images import busybox_rootfs, is_static


def _elf(interp: bool) -> bytes:
    header = bytearray(0x40 + 56 * 2)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 0x40)
    struct.pack_into("<HH", header, 0x36, 56, 2)
    struct.pack_into("<I", header, 0x40, 1)  # PT_LOAD
    struct.pack_into("<I", header, 0x40 + 56, 3 if interp else 1)
    return bytes(header)


def test_static_and_dynamic_binaries_are_told_apart() -> None:
    assert is_static(_elf(interp=False))
    assert not is_static(_elf(interp=True))
    assert is_static(b"#!/bin/sh\n")


def _members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_rootfs_with_applet_links() -> None:
    members = _members(busybox_rootfs(b"BB", ["sh", "nc", "busybox"]))
    assert members["bin/busybox"].size == 2
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["tmp"].mode == 0o1777
    assert "etc/passwd" in members


def test_rootfs_without_a_shell() -> None:
    members = _members(busybox_rootfs(b"BB", ["sleep", "cat"], links=False))
    assert members["bin/sleep"].isfile()
    assert members["bin/cat"].islnk() and members["bin/cat"].linkname == "bin/sleep"
    assert "bin/sh" not in members and "bin/busybox" not in members
