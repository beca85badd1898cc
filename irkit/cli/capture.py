"""`irkit capture` and `irkit capture-image build`."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import click

from irkit import config
from irkit.capture import (
    CaptureLimits,
    CaptureOptions,
    CaptureResult,
    CaptureSession,
    Method,
    build_capture_image,
    start_capture,
)
from irkit.cli.output import Output, pass_output, untrusted
from irkit.engine.host import real_host
from irkit.errors import ExitCode

TICK = 0.5


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a capture like Ctrl-C does: cleanly, with a complete pcap."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _uninterruptible() -> Iterator[None]:
    """While the pcap is being finished and the sidecar removed, ignore more signals."""
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _watch(out: Output, session: CaptureSession) -> str | None:
    """Wait for a limit or Ctrl-C, showing packets, bytes and time on a TTY."""
    status: Any = out.console.status("capturing") if out.interactive else contextlib.nullcontext()
    try:
        with status as live:
            while not session.wait(TICK):
                if live is not None:
                    p = session.progress()
                    live.update(
                        f"capturing: {p.packets} packets, {p.bytes} bytes, {p.elapsed:.0f} s"
                    )
    except KeyboardInterrupt:
        return "interrupted"
    return None


def _summary(out: Output, result: CaptureResult) -> None:
    via = f"sidecar ({result.image})" if result.method is Method.SIDECAR else "host tcpdump"
    c = result.counters
    out.say(
        f"wrote {untrusted(result.path)}: {result.packets} packets, {result.bytes} bytes, "
        f"via {via}; stopped: {result.stop_reason}"
    )
    out.say(
        f"tcpdump: {c.captured} captured, {c.received_by_filter} received by filter, "
        f"{c.dropped_by_kernel} dropped by kernel"
    )
    out.say(f"sha256 {result.sha256}  (in {result.path.name}.sha256)")


@click.command()
@click.argument("container")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The pcap file to write (FILE.sha256 is written beside it).",
)
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), help="Stop after N s.")
@click.option("--max-packets", type=click.IntRange(min=1), help="Stop after N packets.")
@click.option("--max-bytes", type=click.IntRange(min=25), help="Stop before the pcap exceeds N.")
@click.option("--filter", "bpf_filter", help="A BPF filter (tcpdump syntax).")
@click.option("--interface", default="any", show_default=True)
@click.option("--method", type=click.Choice([m.value for m in Method]), help="Default: auto.")
@click.option("--capture-image", help="Sidecar image (default: IRKIT_CAPTURE_IMAGE, then local).")
@click.option("--no-pull", is_flag=True, help="Never pull a capture image.")
@pass_output
def capture(
    out: Output,
    container: str,
    out_path: Path,
    seconds: float | None,
    max_packets: int | None,
    max_bytes: int | None,
    bpf_filter: str | None,
    interface: str,
    method: str | None,
    capture_image: str | None,
    no_pull: bool,
) -> int:
    """Capture CONTAINER's traffic from its own network namespace into a pcap.

    Stops at the first limit reached or on Ctrl-C, always leaving a complete pcap.
    """
    options = CaptureOptions(
        limits=CaptureLimits(seconds, max_packets, max_bytes),
        bpf_filter=bpf_filter,
        interface=interface,
        method=Method(method) if method else None,
        image=capture_image,
        allow_pull=not no_pull,
    )

    with _signals_as_interrupt():
        session = start_capture(real_host(), container, options, out_path, out.notice)
        out.say(f"capturing {untrusted(container)} via {session.method_label}; Ctrl-C stops")
        interrupted = _watch(out, session)
        with _uninterruptible():
            result = session.stop(interrupted or "stopped")
    if interrupted:
        out.notice("stopped by interrupt; the pcap is complete")
    failed = result.stop_reason.startswith("error")
    if out.json_mode:
        out.data(
            {
                "ok": not failed,
                "capture": {
                    **result.manifest_detail(),
                    "path": str(result.path),
                    "sha256_file": f"{result.path}.sha256",
                },
            }
        )
    else:
        _summary(out, result)
    return ExitCode.PARTIAL if failed else ExitCode.OK


@click.group("capture-image")
def capture_image_group() -> None:
    """Prepare a capture image without a registry."""


@capture_image_group.command("build")
@click.option("--tag", default=config.LOCAL_CAPTURE_IMAGE, show_default=True)
@pass_output
def build(out: Output, tag: str) -> int:
    """Build a capture image from this host's tcpdump and its libraries (no registry)."""
    host = real_host()
    built = build_capture_image(host.docker, host.commands, tag)
    if out.json_mode:
        out.data({"ok": True, "image": built})
    else:
        out.say(f"built {built.tag} ({built.id[:19]}) from {built.tcpdump}: {built.version}")
        out.say(f"{len(built.files)} files, {built.size} bytes; 'irkit capture' now uses it")
    return ExitCode.OK


def register(group: click.Group) -> None:
    group.add_command(capture)
    group.add_command(capture_image_group)
