"""Streaming one file out of the engine's tar, and Go file modes."""

from __future__ import annotations

import io
import tarfile

import pytest

from irkit.collect.diff import bundle_path
from irkit.engine.archive import file_chunks, file_type
from irkit.errors import EngineError


def _tar(members: dict[str, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("chunk", [3, 4096, 10**7])
def test_file_content_streams_out_byte_for_byte(chunk: int) -> None:
    content = bytes(range(256)) * 900
    raw = _tar({"planted.bin": content})
    assert b"".join(file_chunks(_chunked(raw, chunk))) == content


def test_no_regular_file_is_an_error() -> None:
    with pytest.raises(EngineError, match="no regular file"):
        list(file_chunks([_tar({"dir": None})]))


def test_go_modes() -> None:
    assert file_type(0o644) == "file"
    assert file_type((1 << 31) | 0o755) == "dir"
    assert file_type((1 << 27) | 0o777) == "symlink"
    assert file_type((1 << 26) | (1 << 21) | 0o600) == "special"


def test_bundle_paths_are_safe_and_unique() -> None:
    taken: set[str] = set()
    assert bundle_path("/tmp/planted.txt", taken) == "tmp/planted.txt"
    assert bundle_path("/tmp/../etc/pass wd", taken) == "tmp/unnamed/etc/pass_wd"
    assert bundle_path("/tmp/pass:wd", taken) == "tmp/pass_wd"
    assert bundle_path("/tmp/pass?wd", taken) == "tmp/pass_wd-2"
    assert bundle_path("/", taken) == "root"
