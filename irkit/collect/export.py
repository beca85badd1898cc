"""`export`: the container's whole filesystem as the engine's tar, streamed into the sink.

Hashed on the way by the sink, never extracted on the host (the tar holds
absolute symlinks). Run by default only when the filesystem is at most
`CollectOptions.export_limit` bytes; asking for `export` by name lifts the limit.
"""

from __future__ import annotations

from irkit.bundle.model import ArtifactSink
from irkit.collect.base import Artifact, CollectContext, Detail, Target, register
from irkit.engine.docker import engine_errors
from irkit.steps import StepSkipped

SOURCE = "docker export (engine API)"
CHUNK = 1 << 20
NAME = "export"


def filesystem_size(ctx: CollectContext, target: Target) -> int | None:
    """Image plus writable layer, as the engine counts it (`docker ps --size`)."""
    with engine_errors(f"size of {target.name}"):
        rows = ctx.host.docker.api.containers(all=True, filters={"id": target.id}, size=True)
    sizes = [row.get("SizeRootFs") for row in rows if row.get("Id") == target.id]
    return int(sizes[0]) if sizes and sizes[0] is not None else None


def collect_export(ctx: CollectContext, target: Target, sink: ArtifactSink) -> Detail:
    limit = ctx.options.export_limit
    size = None
    if NAME not in ctx.explicit:
        size = filesystem_size(ctx, target)
        if size is not None and size > limit:
            raise StepSkipped(
                f"filesystem is {size} bytes, over the default export limit of {limit} bytes; "
                "ask for it with --artifacts export"
            )
    with engine_errors(f"docker export {target.name}"):
        chunks = ctx.host.docker.api.export(target.id, chunk_size=CHUNK)
        record = sink.add_stream(
            target.path("export.tar"), ctx.counting(chunks), step=ctx.step, source=SOURCE
        )
    return {"bytes": record.size, "sha256": record.sha256, "filesystem_size": size}


register(
    Artifact(
        NAME,
        "the whole filesystem (docker export) as a tar, streamed and hashed",
        order=70,
        per_container=collect_export,
    )
)
