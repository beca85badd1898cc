"""The engine's archive API (what `docker cp` uses), read-only and streamed.

`stat_path` asks for a path's type and size without transferring it (HEAD),
so directories and oversized files are never pulled; `file_chunks` streams
the one regular file out of the tar the engine sends.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import docker
from docker.utils import decode_json_header

from irkit.errors import EngineError

CHUNK = 1 << 20
# Go's os.ModeType: dir, symlink, named pipe, socket, device, char device, irregular.
GO_MODE_TYPE = (1 << 31) | (1 << 27) | (1 << 25) | (1 << 24) | (1 << 26) | (1 << 21) | (1 << 19)
GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27


def stat_path(client: docker.DockerClient, container_id: str, path: str) -> dict[str, Any]:
    """{name, size, mode, mtime, linkTarget} of `path` in the container's filesystem."""
    api = client.api
    url = f"{api.base_url}/v{api.api_version}/containers/{quote(container_id)}/archive"
    response = api.head(url, params={"path": path}, timeout=api.timeout)
    if not response.ok:
        raise EngineError(f"stat {path}: engine answered {response.status_code}")
    header = response.headers.get("X-Docker-Container-Path-Stat")
    if not header:
        raise EngineError(f"stat {path}: engine sent no stat header")
    return dict(decode_json_header(header))


def file_type(mode: int) -> str:
    if not mode & GO_MODE_TYPE:
        return "file"
    if mode & GO_MODE_DIR:
        return "dir"
    if mode & GO_MODE_SYMLINK:
        return "symlink"
    return "special"


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (for tarfile's stream mode)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def file_chunks(tar_chunks: Iterable[bytes], max_size: int | None = None) -> Iterator[bytes]:
    """The content of the first regular file in a streamed tar, chunk by chunk.

    `max_size` bounds what is read: the container may have grown the file
    since it was measured, and the tar header says how big it is now.
    """
    with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(tar_chunks), CHUNK), mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            if max_size is not None and member.size > max_size:
                raise EngineError(f"the file is now {member.size} bytes, over {max_size}")
            handle = tar.extractfile(member)
            if handle is None:
                break
            while chunk := handle.read(CHUNK):
                yield chunk
            return
    raise EngineError("the archive held no regular file")
