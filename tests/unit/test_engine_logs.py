"""The log stream's frame parser: exact bytes however the blocks are cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irkit.engine.docker import _strip_frame_headers
from irkit.errors import EngineError


def frame(payload: bytes, stream: int = 1) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


@given(
    lines=st.lists(st.binary(max_size=300), max_size=40),
    cuts=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=200),
)
def test_payloads_come_out_exactly(lines: list[bytes], cuts: list[int]) -> None:
    data = b"".join(frame(line) for line in lines)
    blocks, offset, i = [], 0, 0
    while offset < len(data):
        size = cuts[i % len(cuts)]
        blocks.append(data[offset : offset + size])
        offset, i = offset + size, i + 1
    assert b"".join(_strip_frame_headers(iter(blocks))) == b"".join(lines)


def test_a_stream_cut_inside_a_frame_is_an_error() -> None:
    data = frame(b"2026-11-25T12:00:00Z beacon\n")
    with pytest.raises(EngineError, match="inside a frame"):
        list(_strip_frame_headers(iter([data[:-3]])))
