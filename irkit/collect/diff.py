"""`diff`: what changed in the container's filesystem, and the changed files themselves.

`docker diff` lists added, changed and deleted paths; the content of every
added or changed regular file is copied through the archive API into
diff/files/, up to `CollectOptions.diff_limit` bytes in total (files that do
not fit are listed with the reason). Works on stopped containers too.
"""

from __future__ import annotations

from typing import Any

from irkit.bundle.model import ArtifactSink, safe_component
from irkit.collect.base import Artifact, CollectContext, Detail, Target, register
from irkit.engine.archive import file_chunks, file_type, stat_path
from irkit.engine.docker import engine_errors
from irkit.errors import IrkitError

SOURCE = "docker diff and archive API"
KINDS = {0: "changed", 1: "added", 2: "deleted"}


def bundle_path(container_path: str, taken: set[str]) -> str:
    """A safe relative path for a container path, unique among `taken`."""
    parts = [safe_component(p, 120) for p in container_path.split("/") if p]
    candidate = "/".join(parts) or "root"
    unique, n = candidate, 1
    while unique in taken:
        n += 1
        unique = f"{candidate}-{n}"
    taken.add(unique)
    return unique


def _copy_file(
    ctx: CollectContext,
    target: Target,
    sink: ArtifactSink,
    entry: dict[str, Any],
    dest: str,
    budget: int,
) -> int:
    with engine_errors(f"copy {entry['path']}"):
        chunks, _stat = ctx.host.docker.api.get_archive(target.id, entry["path"])
        record = sink.add_stream(
            target.path("diff", "files", dest),
            file_chunks(chunks, budget),
            step=ctx.step,
            source=SOURCE,
        )
    entry.update(content=record.path, sha256=record.sha256)
    return record.size


def _fill(
    ctx: CollectContext, target: Target, sink: ArtifactSink, entries: list[dict[str, Any]]
) -> dict[str, int]:
    budget = ctx.options.diff_limit
    taken: set[str] = set()
    counts = {"copied": 0, "over_limit": 0, "errors": 0}
    for entry in entries:
        if entry["kind"] == "deleted":
            continue
        try:
            with engine_errors(f"stat {entry['path']}"):
                stat = stat_path(ctx.host.docker, target.id, entry["path"])
            entry.update(type=file_type(int(stat["mode"])), size=int(stat["size"]))
            if entry["type"] != "file":
                continue
            if entry["size"] > budget:
                entry["note"] = f"not copied: over the {ctx.options.diff_limit}-byte diff limit"
                counts["over_limit"] += 1
                continue
            dest = bundle_path(entry["path"], taken)
            budget -= _copy_file(ctx, target, sink, entry, dest, budget)
            counts["copied"] += 1
        except IrkitError as e:
            entry["note"] = f"not copied: {e.message}"
            counts["errors"] += 1
    return counts


def collect_diff(ctx: CollectContext, target: Target, sink: ArtifactSink) -> Detail:
    with engine_errors(f"docker diff {target.name}"):
        changes = target.container.diff() or []
    entries = [{"path": c["Path"], "kind": KINDS.get(int(c["Kind"]), "unknown")} for c in changes]
    counts = _fill(ctx, target, sink, entries)
    document = {"container": target.id, "limit_bytes": ctx.options.diff_limit, "changes": entries}
    sink.add_json(target.path("diff", "diff.json"), document, step=ctx.step, source=SOURCE)
    return {"changes": len(entries), **counts}


register(
    Artifact(
        "diff",
        "docker diff, plus the content of added/changed regular files (bounded)",
        order=60,
        per_container=collect_diff,
    )
)
