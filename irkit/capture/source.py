"""Where tcpdump runs. A source yields its pcap stdout and keeps its stderr."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol

from irkit.capture.model import READY_MARK, Method


class PacketSource(Protocol):
    method: Method
    image: str | None
    image_digest: str | None
    ready: threading.Event  # set once tcpdump listens

    def read(self) -> Iterator[bytes]:
        """tcpdump's stdout until it exits (runs in the session's reader thread)."""
        ...

    def stop(self) -> None:
        """Ask tcpdump to finish (SIGINT): it flushes, prints its counters, exits."""
        ...

    def close(self) -> int:
        """Wait for tcpdump, release everything (remove the sidecar); its exit code."""
        ...

    def stderr(self) -> str: ...


class StderrLog:
    """tcpdump's stderr collected across threads, with the 'listening' signal."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self._parts: list[str] = []
        self._lock = threading.Lock()

    def add(self, data: bytes) -> None:
        with self._lock:
            self._parts.append(data.decode(errors="replace"))
            if READY_MARK in "".join(self._parts):
                self.ready.set()

    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)
