"""Spooling tcpdump's pcap stream to a file: whole records only, hashed on the way.

tcpdump's stdout arrives in arbitrary chunks. The spooler cuts it at record
boundaries so the file on disk is a complete, readable pcap at every moment it
is closed, enforces the packet and byte limits exactly, and hashes exactly the
bytes it writes.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from irkit.engine.files import write_sha256_file
from irkit.errors import IrkitError

GLOBAL_HEADER = 24
RECORD_HEADER = 16
_MAGICS = {
    b"\xd4\xc3\xb2\xa1": "<",  # microseconds, little-endian
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",  # nanoseconds
    b"\xa1\xb2\x3c\x4d": ">",
}
LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL2 = 276
_CHUNK = 1 << 20


class CaptureStreamError(IrkitError):
    """tcpdump's output is not a pcap stream."""


def empty_pcap_header(interface: str) -> bytes:
    """A valid header for a capture that never produced one (no packets at all)."""
    linktype = LINKTYPE_LINUX_SLL2 if interface == "any" else LINKTYPE_ETHERNET
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)


@dataclass(frozen=True)
class SpoolResult:
    path: Path
    sha256: str
    size: int
    packets: int


class PcapSpooler:
    """Write `PATH.partial`, rename it to PATH and write PATH.sha256 on `finish()`."""

    def __init__(
        self,
        path: Path,
        *,
        max_packets: int | None = None,
        max_bytes: int | None = None,
        interface: str = "any",
    ) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self._file = open(self.partial, "wb")  # noqa: SIM115 - closed in finish()
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self._endian: str | None = None
        self._max_packets = max_packets
        self._max_bytes = max_bytes
        self._interface = interface
        self.packets = 0
        self.size = 0
        self.limit: str | None = None  # the limit reached; further input is dropped

    def feed(self, data: bytes) -> str | None:
        """Take a chunk of tcpdump's stdout; the name of the limit once one is reached."""
        if self.limit is not None:
            return self.limit
        self._buffer += data
        while self.limit is None:
            if self._endian is None:
                if len(self._buffer) < GLOBAL_HEADER:
                    break
                self._endian = self._read_magic(bytes(self._buffer[:4]))
                self._emit(GLOBAL_HEADER)
                continue
            if len(self._buffer) < RECORD_HEADER:
                break
            (included,) = struct.unpack_from(self._endian + "I", self._buffer, 8)
            length = RECORD_HEADER + included
            if len(self._buffer) < length:
                break
            if self._max_bytes is not None and self.size + length > self._max_bytes:
                self.limit = "max-bytes"
                break
            self._emit(length)
            self.packets += 1
            if self._max_packets is not None and self.packets >= self._max_packets:
                self.limit = "max-packets"
        return self.limit

    def _read_magic(self, magic: bytes) -> str:
        endian = _MAGICS.get(magic)
        if endian is None:
            raise CaptureStreamError(f"tcpdump's output is not a pcap (magic {magic.hex()})")
        return endian

    def _emit(self, length: int) -> None:
        record = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._file.write(record)
        self._hash.update(record)
        self.size += len(record)

    def finish(self) -> SpoolResult:
        """Close a complete pcap (a trailing partial record is dropped) and its .sha256."""
        if self._endian is None:
            self._buffer.clear()
            header = empty_pcap_header(self._interface)
            self._file.write(header)
            self._hash.update(header)
            self.size += len(header)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial, self.path)
        digest = self._hash.hexdigest()
        write_sha256_file(self.path, digest)
        return SpoolResult(self.path, digest, self.size, self.packets)

    def discard(self) -> None:
        """Drop the partial file (the capture never started)."""
        self._file.close()
        self.partial.unlink(missing_ok=True)


def read_chunks(path: Path, size: int = _CHUNK) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk
