"""`inspect`: the engine's view of the container, its image, networks and volumes.

Each document is kept as the engine returned it. A part that fails (an image
deleted since) does not stop the others; the step then fails naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from irkit.bundle.model import ArtifactSink, safe_component
from irkit.collect.base import Artifact, CollectContext, Detail, Target, register
from irkit.engine.docker import engine_errors
from irkit.errors import EngineError, IrkitError

SOURCE = "docker engine API"


def collect_inspect(ctx: CollectContext, target: Target, sink: ArtifactSink) -> Detail:
    api: Any = ctx.host.docker.api  # the SDK is untyped; documents are plain dicts
    image_id = str(target.attrs.get("Image", ""))
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("container.json", lambda: api.inspect_container(target.id)),
        ("image.json", lambda: api.inspect_image(image_id)),
        ("image-history.json", lambda: api.history(image_id)),
        ("mounts.json", lambda: target.attrs.get("Mounts") or []),
    ]
    networks = target.attrs.get("NetworkSettings", {}).get("Networks") or {}
    for name, settings in networks.items():
        ref = settings.get("NetworkID") or name
        parts.append((f"networks/{safe_component(name)}.json", _bind(api.inspect_network, ref)))
    for mount in target.attrs.get("Mounts") or []:
        if mount.get("Type") == "volume" and mount.get("Name"):
            volume = str(mount["Name"])
            path = f"volumes/{safe_component(volume)}.json"
            parts.append((path, _bind(api.inspect_volume, volume)))
    written, errors = 0, []
    for path, fetch in parts:
        try:
            with engine_errors(f"inspect {path.removesuffix('.json')}"):
                document = fetch()
        except IrkitError as e:
            errors.append(e.message)
            continue
        sink.add_json(target.path("inspect", path), document, step=ctx.step, source=SOURCE)
        written += 1
    if errors:
        raise EngineError(f"{len(errors)} of {len(parts)} inspect documents missing: {errors[0]}")
    return {"documents": written, "networks": sorted(networks)}


def _bind(fetch: Callable[[str], Any], ref: str) -> Callable[[], Any]:
    return lambda: fetch(ref)


register(
    Artifact(
        "inspect",
        "inspect of the container, its image (and history), networks and volumes",
        order=40,
        per_container=collect_inspect,
    )
)
