"""Small guards against hostile input, checked without an engine."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import pytest

from irkit.bundle.custody import CustodyChain, check_chain, current_actor
from irkit.bundle.manifest import to_json_bytes
from irkit.capture.model import CaptureOptions, tcpdump_args
from irkit.cli.output import one_line, untrusted
from irkit.engine.archive import file_chunks
from irkit.engine.docker import get_container
from irkit.errors import EngineError, UsageError
from tests.support.bundles import FixedClock

NOT_UTF8 = b"\xff\xfe-cmd".decode("utf-8", "surrogateescape")


def _tar(size: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("grown")
        info.size = size
        tar.addfile(info, io.BytesIO(b"x" * size))
    return buffer.getvalue()


def test_a_file_grown_past_the_budget_is_not_copied() -> None:
    with pytest.raises(EngineError, match="over 10"):
        next(file_chunks([_tar(4096)], max_size=10))
    assert b"".join(file_chunks([_tar(10)], max_size=10)) == b"x" * 10


def test_non_utf8_text_stays_exact_and_valid_json() -> None:
    data = to_json_bytes({"cmdline": [NOT_UTF8]})
    data.decode("utf-8")
    assert json.loads(data)["cmdline"] == [NOT_UTF8]
    chain = CustodyChain("b", current_actor(), FixedClock())
    chain.append("opened", f"case {NOT_UTF8}")
    assert check_chain(chain.text(), "b").failures == ()


def test_printed_text_is_one_inert_line() -> None:
    assert one_line("a\nb\x1b[2J\u2028") == "a\\nb\\x1b[2J\\u2028"
    assert untrusted("[/][link=x]") == "\\[/]\\[link=x]"


@pytest.mark.parametrize("bpf", ["-w/etc/x", "--version", "icmp"])
def test_the_filter_is_never_a_tcpdump_option(bpf: str) -> None:
    args = tcpdump_args(CaptureOptions(bpf_filter=bpf))
    assert args[-2:] == ["--", bpf]


@pytest.mark.parametrize("ref", ["x/../../images/y", "../info", "a b", "", "-x", "x" * 300])
def test_container_refs_are_checked_before_the_engine(ref: str) -> None:
    client: Any = None  # never reached
    with pytest.raises(UsageError, match="invalid container name"):
        get_container(client, ref)
