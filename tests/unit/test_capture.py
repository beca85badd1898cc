"""Capture logic without an engine: the pcap spooler, counters, method choice, sessions."""

from __future__ import annotations

import hashlib
import io
import queue
import struct
import tarfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irkit.bundle.model import StepStatus
from irkit.capture import CaptureLimits, CaptureOptions, Method, add_to_bundle
from irkit.capture.image import image_tar, library_paths
from irkit.capture.model import is_filter_error, parse_counters, tcpdump_args, tcpdump_error
from irkit.capture.pcap import CaptureStreamError, PcapSpooler
from irkit.capture.select import choose
from irkit.capture.session import CaptureSession
from irkit.engine.clock import SystemClock
from irkit.engine.owner import owner_alive, owner_tag
from irkit.errors import EnvironmentProblem, ExitCode
from tests.support.memory_bundle import MemoryBundle

HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 276)


def record(payload: bytes, ts: int = 1) -> bytes:
    return struct.pack("<IIII", ts, 0, len(payload), len(payload)) + payload


def stream(count: int) -> bytes:
    return HEADER + b"".join(record(bytes([i % 256]) * (10 + i)) for i in range(count))


def read_pcap(path: Path) -> int:
    """Count records, failing on any truncation (what `tcpdump -r` would refuse)."""
    data = path.read_bytes()
    assert data[:4] == HEADER[:4]
    offset, count = 24, 0
    while offset < len(data):
        (length,) = struct.unpack_from("<I", data, offset + 8)
        offset += 16 + length
        count += 1
    assert offset == len(data)
    return count


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=97), max_size=30))
def test_spooler_is_byte_exact_whatever_the_chunking(tmp_path_factory, cuts) -> None:
    data = stream(12)
    path = tmp_path_factory.mktemp("spool") / "x.pcap"
    spool = PcapSpooler(path)
    offset = 0
    for cut in [*cuts, len(data)]:
        spool.feed(data[offset : offset + cut])
        offset += cut
    result = spool.finish()
    assert path.read_bytes() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.packets == 12
    assert path.with_name("x.pcap.sha256").read_text() == f"{result.sha256}  x.pcap\n"
    assert not path.with_name("x.pcap.partial").exists()


def test_max_packets_stops_at_a_record_boundary(tmp_path) -> None:
    spool = PcapSpooler(tmp_path / "x.pcap", max_packets=3)
    assert spool.feed(stream(5)) == "max-packets"
    assert spool.feed(record(b"late")) == "max-packets"
    result = spool.finish()
    assert result.packets == 3 == read_pcap(result.path)


def test_max_bytes_keeps_the_file_under_the_limit(tmp_path) -> None:
    data = stream(5)
    spool = PcapSpooler(tmp_path / "x.pcap", max_bytes=len(data) - 1)
    assert spool.feed(data) == "max-bytes"
    result = spool.finish()
    assert result.size < len(data)
    assert read_pcap(result.path) == 4


def test_trailing_partial_record_is_dropped(tmp_path) -> None:
    spool = PcapSpooler(tmp_path / "x.pcap")
    spool.feed(stream(2) + record(b"cut short")[:20])
    result = spool.finish()
    assert read_pcap(result.path) == 2


def test_no_output_still_leaves_a_readable_pcap(tmp_path) -> None:
    result = PcapSpooler(tmp_path / "x.pcap").finish()
    assert result.size == 24 and read_pcap(result.path) == 0


def test_not_a_pcap_is_refused(tmp_path) -> None:
    spool = PcapSpooler(tmp_path / "x.pcap")
    with pytest.raises(CaptureStreamError, match="not a pcap"):
        spool.feed(b"\x0a\x0d\x0d\x0a" + bytes(40))


STDERR = """tcpdump: data link type LINUX_SLL2
tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes
^C12 packets captured
14 packets received by filter
1 packet dropped by kernel
"""


def test_counters_from_tcpdump_stderr() -> None:
    counters = parse_counters(STDERR.replace("^C", ""))
    assert (counters.captured, counters.received_by_filter) == (12, 14)
    assert counters.dropped_by_kernel == 1
    assert counters.dropped_by_interface is None
    assert parse_counters("").captured is None


def test_tcpdump_error_line_and_filter_errors() -> None:
    text = (
        "tcpdump: data link type LINUX_SLL2\ntcpdump: can't parse filter expression: syntax error\n"
    )
    message = tcpdump_error(text)
    assert message == "tcpdump: can't parse filter expression: syntax error"
    assert is_filter_error(message)
    assert not is_filter_error("tcpdump: any: You don't have permission")


def test_tcpdump_args_stream_pcap_to_stdout() -> None:
    options = CaptureOptions(CaptureLimits(max_packets=5), bpf_filter="icmp or tcp")
    args = tcpdump_args(options)
    assert args[:2] == ["-i", "any"]
    assert "-U" in args and args[args.index("-w") + 1] == "-"
    assert args[args.index("-c") + 1] == "5"
    assert args[-1] == "icmp or tcp"


class FakeImages:
    def __init__(self, present: set[str], pull_ok: bool) -> None:
        self.present = present
        self.pull_ok = pull_ok
        self.pulled: list[str] = []

    def get(self, name: str) -> object:
        if name not in self.present:
            raise docker.errors.ImageNotFound(name)
        return object()

    def pull(self, name: str) -> None:
        self.pulled.append(name)
        if not self.pull_ok:
            raise docker.errors.APIError("no registry")


class FakeClient:
    def __init__(self, present: Iterable[str] = (), pull_ok: bool = False) -> None:
        self.images = FakeImages(set(present), pull_ok)


class FakeCommands:
    def __init__(self, tools: set[str]) -> None:
        self.tools = tools

    def which(self, tool: str) -> str | None:
        return f"/usr/bin/{tool}" if tool in self.tools else None


HOST_TOOLS = {"tcpdump", "nsenter"}


def plan(client: Any, tools: set[str], **options: Any) -> tuple[Any, list[str]]:
    notices: list[str] = []
    return choose(client, FakeCommands(tools), CaptureOptions(**options), notices.append), notices


def test_local_image_means_sidecar_without_pull() -> None:
    client = FakeClient({"irkit/capture:local"})
    chosen, notices = plan(client, HOST_TOOLS)
    assert (chosen.method, chosen.image) == (Method.SIDECAR, "irkit/capture:local")
    assert client.images.pulled == [] and notices == []


def test_no_pull_falls_back_to_host_and_says_so() -> None:
    client = FakeClient()
    chosen, notices = plan(client, HOST_TOOLS, image="absent:1", allow_pull=False)
    assert chosen.method is Method.HOST
    assert client.images.pulled == []
    assert "host" in notices[0]


def test_a_pull_is_announced_and_a_failed_one_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IRKIT_NO_PULL")  # the fake engine pulls nothing for real
    client = FakeClient()
    chosen, notices = plan(client, HOST_TOOLS, image="remote/img:1")
    assert client.images.pulled == ["remote/img:1"]
    assert notices[0].startswith("pulling capture image remote/img:1")
    assert chosen.method is Method.HOST


def test_nothing_available_is_exit_4_naming_three_ways() -> None:
    with pytest.raises(EnvironmentProblem) as caught:
        plan(FakeClient(), set(), allow_pull=False)
    assert caught.value.exit_code == ExitCode.ENVIRONMENT
    hint = caught.value.hint or ""
    assert "capture-image build" in hint and "tcpdump" in hint and "pull" in hint


def test_owner_tag_of_a_live_and_a_dead_process() -> None:
    assert owner_alive(owner_tag())
    host, pid, _started = owner_tag().rsplit(":", 2)
    assert not owner_alive(f"{host}:{pid}:1.000")
    assert not owner_alive("garbage")


def test_ldd_paths_and_image_tar() -> None:
    ldd = (
        "\tlinux-vdso.so.1 (0x00007ffd)\n"
        "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n"
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n"
    )
    assert library_paths(ldd) == ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
    with tarfile.open(fileobj=io.BytesIO(image_tar(["/bin/busybox"]))) as tar:
        names = tar.getnames()
        passwd = tar.extractfile("etc/passwd").read()  # type: ignore[union-attr]
    assert {"tmp", "etc/passwd", "etc/group", "bin/busybox"} <= set(names)
    assert b"tcpdump:" in passwd


class FakeSource:
    """Yields queued chunks until stopped, like tcpdump after SIGINT."""

    method = Method.HOST
    image = None
    image_digest = None

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.ready.set()
        self.chunks: queue.Queue[bytes | None] = queue.Queue()
        self.stops = 0

    def read(self) -> Iterator[bytes]:
        while (chunk := self.chunks.get()) is not None:
            yield chunk

    def stop(self) -> None:
        self.stops += 1
        self.chunks.put(None)

    def close(self) -> int:
        return 0

    def stderr(self) -> str:
        return "3 packets captured\n3 packets received by filter\n0 packets dropped by kernel\n"


class FakeTarget:
    id = "c" * 64
    name = "victim"


def session(tmp_path: Path, limits: CaptureLimits) -> tuple[CaptureSession, FakeSource]:
    source = FakeSource()
    options = CaptureOptions(limits)
    spool = PcapSpooler(tmp_path / "s.pcap", max_packets=limits.max_packets)
    made = CaptureSession(source, spool, FakeTarget(), options, SystemClock())  # type: ignore[arg-type]
    made._await_listening()
    return made, source


def test_session_stops_itself_at_the_packet_limit(tmp_path) -> None:
    capture, source = session(tmp_path, CaptureLimits(max_packets=2))
    source.chunks.put(stream(3))
    assert capture.wait(5)
    result = capture.stop()
    assert (result.stop_reason, result.packets) == ("max-packets", 2)
    assert result.counters.captured == 3
    assert read_pcap(result.path) == 2
    assert capture.stop() is result


def test_session_seconds_limit(tmp_path) -> None:
    capture, source = session(tmp_path, CaptureLimits(seconds=0.2))
    source.chunks.put(stream(1))
    assert capture.wait(5)
    result = capture.stop()
    assert result.stop_reason == "seconds"
    assert result.packets == 1
    assert result.started <= result.ended


def test_add_to_bundle_streams_and_records_the_manifest_detail(tmp_path) -> None:
    capture, source = session(tmp_path, CaptureLimits())
    source.chunks.put(stream(3))
    result = capture.stop()
    sink = MemoryBundle()
    returned = add_to_bundle(result, sink, "pcap/victim.pcap")  # type: ignore[arg-type]
    assert sink.members["pcap/victim.pcap"] == result.path.read_bytes()
    (step,) = sink.steps
    assert returned == step
    assert step.status is StepStatus.OK
    assert step.detail["method"] == "host" and step.detail["packets"] == 3
    assert step.detail["tcpdump"]["dropped_by_kernel"] == 0
    assert step.detail["sha256"] == result.sha256


def test_add_to_bundle_refuses_a_pcap_changed_after_capture(tmp_path) -> None:
    capture, source = session(tmp_path, CaptureLimits())
    source.chunks.put(stream(1))
    result = capture.stop()
    with open(result.path, "ab") as handle:
        handle.write(b"x")
    sink = MemoryBundle()
    step = add_to_bundle(result, sink, "pcap/victim.pcap")  # type: ignore[arg-type]
    assert step.status is StepStatus.FAILED
    assert "changed since it was captured" in (step.error or "")
    assert sink.steps == [step]


def test_irkit_no_pull_forbids_a_pull_like_the_flag() -> None:
    client = FakeClient()
    chosen, notices = plan(client, HOST_TOOLS, image="remote/img:1")
    assert client.images.pulled == []
    assert chosen.method is Method.HOST
    assert not any("pulling" in n for n in notices)
