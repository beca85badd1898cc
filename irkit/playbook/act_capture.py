"""pcap.start and pcap.stop: a capture that runs across the steps in between.

The capture is spooled to a private temporary file and streamed into the bundle
when it stops: at pcap.stop, or before sealing when the run ends early (abort,
Ctrl-C), so the packets of an interrupted response are kept too.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from typing import Any

from irkit import capture
from irkit.bundle.model import safe_component
from irkit.capture.background import spool_dir
from irkit.engine.host import Host
from irkit.playbook.actions import ActionContext, ActionSpec
from irkit.steps import StepSkipped

KEY = "pcap"
MIB = 1 << 20


def start(host: Host, ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    if KEY in ctx.finalizers:
        raise StepSkipped("a capture is already running")
    seconds = params.get("seconds")
    max_mb = params.get("max_mb")
    options = capture.CaptureOptions(
        limits=capture.CaptureLimits(
            seconds=float(seconds) if seconds else None,
            max_bytes=int(max_mb) * MIB if max_mb else None,
        ),
        bpf_filter=params.get("filter") or None,
    )
    notices: list[str] = []
    folder = spool_dir(host)
    name = f"{safe_component(ctx.target)}.pcap"
    try:
        session = capture.start_capture(host, ctx.target, options, folder / name, notices.append)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    started = time.monotonic()
    sink = ctx.sink

    def finish() -> None:
        try:
            result = session.stop("playbook")
            capture.add_to_bundle(result, sink, f"pcap/{name}")
            ctx.shared[KEY] = result.manifest_detail()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    ctx.finalizers[KEY] = finish
    ctx.shared[f"{KEY}.started"] = started
    return {"method": session.method_label, "notices": notices}


def stop(ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    finish = ctx.finalizers.get(KEY)
    if finish is None:
        raise StepSkipped("no capture is running")
    minimum = float(params.get("min_seconds") or 0)
    ctx.wait(minimum - (time.monotonic() - float(ctx.shared[f"{KEY}.started"])))
    ctx.finalizers.pop(KEY)()
    detail: dict[str, Any] = ctx.shared[KEY]
    return detail


def specs(host: Host) -> list[ActionSpec]:
    return [
        ActionSpec(
            "pcap.start",
            lambda ctx, params: start(host, ctx, params),
            "start a packet capture in the container's network namespace",
            False,
            120.0,
        ),
        ActionSpec("pcap.stop", stop, "stop the capture and add the pcap", False, 3600.0),
    ]
