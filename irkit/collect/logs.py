"""`logs`: stdout and stderr, each in its own member, with Docker's timestamps.

Streamed from the engine into the sink chunk by chunk, never held whole in
memory. A container with a TTY has one merged stream (the kernel merged them),
which lands in stdout.log; the manifest detail says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from irkit.bundle.model import ArtifactSink
from irkit.collect.base import Artifact, CollectContext, Detail, Target, register
from irkit.engine.docker import log_stream

SOURCE = "docker logs (engine API GET /containers/ID/logs, timestamps)"
STREAMS = ("stdout", "stderr")


def _stream(ctx: CollectContext, target: Target, name: str) -> Iterator[bytes]:
    tty = bool(target.attrs.get("Config", {}).get("Tty"))
    return ctx.counting(
        log_stream(
            ctx.host.docker,
            target.id,
            stream=name,
            tty=tty,
            since=_epoch(ctx.options.since),
            until=_epoch(ctx.options.until),
        )
    )


def _epoch(moment: datetime | None) -> float | None:
    """The SDK mishandles aware datetimes; seconds since the epoch are exact."""
    return moment.timestamp() if moment else None


def collect_logs(ctx: CollectContext, target: Target, sink: ArtifactSink) -> Detail:
    sizes = {}
    for name in STREAMS:
        path = target.path("logs", f"{name}.log")
        record = sink.add_stream(path, _stream(ctx, target, name), step=ctx.step, source=SOURCE)
        sizes[name] = record.size
    tty = bool(target.attrs.get("Config", {}).get("Tty"))
    driver = target.attrs.get("HostConfig", {}).get("LogConfig", {}).get("Type")
    return {"bytes": sizes, "tty_merged_streams": tty, "log_driver": driver}


register(
    Artifact(
        "logs",
        "stdout and stderr separately, with timestamps, streamed (--since/--until)",
        order=50,
        per_container=collect_logs,
    )
)
