"""`collect()`: run the chosen artifacts over one or more containers into one sink.

Artifacts run in order of volatility (processes and sockets first, export
last), each over every container before the next, so the most volatile
evidence of all targets is taken early. Every step is recorded, ok, failed or
skipped; the containers are never started, stopped or changed.

Each container's state is read again before each of its steps, so one removed
part-way has its remaining steps failed with the reason (one stopped part-way
has those that need it running skipped, with the reason); once the
engine stops answering, every remaining step is skipped and the result says
why (the caller seals the bundle as incomplete).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import docker

from irkit import __version__
from irkit.bundle.model import ArtifactSink, StepRecord, StepStatus, TargetInfo, safe_component
from irkit.capture.background import PcapTarget, captures_around
from irkit.collect.base import (
    PCAP,
    Artifact,
    CollectContext,
    CollectOptions,
    Detail,
    ProgressEvent,
    Target,
    select,
)
from irkit.engine.docker import engine_answers, engine_errors, get_container
from irkit.engine.host import Host
from irkit.engine.procfs import ProcFS
from irkit.errors import EngineError, IrkitError, UsageError
from irkit.steps import StepSkipped, run_step

CONTAINERS_DIR = "containers"


@dataclass(frozen=True)
class CollectionResult:
    targets: tuple[TargetInfo, ...]
    steps: tuple[StepRecord, ...]
    engine_lost: str | None = None  # set when the engine stopped answering part-way

    @property
    def ok(self) -> bool:
        """True when no step failed (skipped steps, e.g. on a stopped container, are fine)."""
        return all(s.status is not StepStatus.FAILED for s in self.steps)

    def failed(self) -> list[StepRecord]:
        return [s for s in self.steps if s.status is StepStatus.FAILED]


def resolve_targets(client: docker.DockerClient, refs: Sequence[str]) -> list[Target]:
    """Containers by name or id, each once, each with its own sanitised folder."""
    if not refs:
        raise UsageError("name at least one container")
    targets: list[Target] = []
    folders: set[str] = set()
    for ref in refs:
        container = get_container(client, ref)
        if any(t.id == container.id for t in targets):
            continue
        target = Target(container, "")
        folder = safe_component(target.name)
        if folder in folders:
            folder = f"{folder}-{target.id[:12]}"
        folders.add(folder)
        target.folder = f"{CONTAINERS_DIR}/{folder}"
        targets.append(target)
    return targets


def target_info(client: docker.DockerClient, target: Target) -> TargetInfo:
    image_id = str(target.attrs.get("Image", ""))
    api: Any = client.api
    digest: str | None = image_id or None
    try:
        with engine_errors("image inspect"):
            repo_digests = api.inspect_image(image_id).get("RepoDigests") or []
        digest = repo_digests[0] if repo_digests else digest
    except IrkitError:
        pass
    image = str(target.attrs.get("Config", {}).get("Image") or image_id)
    return TargetInfo(target.id, target.name, image, digest)


def collect(
    host: Host,
    refs: Sequence[str],
    sink: ArtifactSink,
    artifacts: Iterable[str] | None = None,
    options: CollectOptions | None = None,
    on_event: Callable[[ProgressEvent], None] | None = None,
    notice: Callable[[str], None] = lambda message: None,
) -> CollectionResult:
    """Collect `artifacts` (None: the defaults) of the containers `refs` into `sink`.

    Raises only for bad input (unknown artifact or container); everything
    else is a recorded step. `notice` hears what the user must be told (a
    capture image being pulled, a capture falling back to the host).
    """
    names = list(artifacts) if artifacts is not None else None
    chosen = select(names)
    targets = resolve_targets(host.docker, refs)
    ctx = CollectContext(
        host,
        options or CollectOptions(),
        ProcFS(host.proc_root),
        explicit=frozenset(names or ()),
        on_event=on_event,
    )
    infos = tuple(target_info(host.docker, t) for t in targets)
    for info in infos:
        sink.add_target(info)
    steps: list[StepRecord] = []
    pcap_targets = _pcap_targets(ctx, sink, targets, steps) if PCAP in (names or ()) else []
    with captures_around(
        host, ctx.options.capture, sink, pcap_targets, ctx.options.pcap_seconds, notice
    ) as captures:
        for artifact in chosen:
            steps.extend(_run_artifact(ctx, sink, artifact, targets))
    for record in captures.steps:
        _announce(ctx, record)
    steps.extend(captures.steps)
    if ctx.engine_lost is None:  # a stream cut by a dying engine may have ended quietly
        ctx.engine_lost = engine_answers(host.docker)
    kinds = ", ".join([*(a.name for a in chosen), *([PCAP] if pcap_targets else [])])
    for target in targets:
        sink.custody(
            "collected", f"container {target.name} ({target.id}) by irkit {__version__}: {kinds}"
        )
    return CollectionResult(infos, tuple(steps), ctx.engine_lost)


def _pcap_targets(
    ctx: CollectContext, sink: ArtifactSink, targets: list[Target], steps: list[StepRecord]
) -> list[PcapTarget]:
    """Live targets to capture; a stopped one is a skipped pcap step."""
    live: list[PcapTarget] = []
    for target in targets:
        if target.init_pid is None:
            steps.append(_run(ctx, sink, f"{PCAP}:{target.name}", partial(_no_network, target)))
        else:
            live.append(PcapTarget(target.id, target.name, target.path("pcap", "capture.pcap")))
    return live


def _no_network(target: Target) -> Detail:
    raise StepSkipped(f"container is {target.status}: it has no network to capture")


def _run_artifact(
    ctx: CollectContext, sink: ArtifactSink, artifact: Artifact, targets: list[Target]
) -> list[StepRecord]:
    if artifact.per_host is not None:
        host_collector = artifact.per_host
        return [_run(ctx, sink, artifact.name, lambda: host_collector(ctx, sink))]
    return [_run_one(ctx, sink, artifact, target) for target in targets]


def _run_one(
    ctx: CollectContext, sink: ArtifactSink, artifact: Artifact, target: Target
) -> StepRecord:
    collector = artifact.per_container
    assert collector is not None

    def action() -> Detail:
        _refresh(ctx, target)
        return {"container": target.id, **(collector(ctx, target, sink) or {})}

    return _run(ctx, sink, f"{artifact.name}:{target.name}", action)


def _refresh(ctx: CollectContext, target: Target) -> None:
    """Read the container's state again: it may have stopped or gone since the last step."""
    try:
        with engine_errors(f"inspect {target.name}"):
            state = ctx.host.docker.api.inspect_container(target.id).get("State") or {}
    except EngineError as e:
        if "not found" in e.message:
            raise EngineError(f"container {target.name} was removed during the collection") from e
        raise
    target.attrs["State"] = state


def _run(
    ctx: CollectContext, sink: ArtifactSink, name: str, action: Callable[[], Detail]
) -> StepRecord:
    ctx.step = name
    if ctx.on_event is not None:
        ctx.on_event(ProgressEvent("start", name))
    record = run_step(sink, ctx.host.clock, name, partial(_unless_engine_lost, ctx, action))
    if record.status is StepStatus.FAILED and ctx.engine_lost is None:
        ctx.engine_lost = engine_answers(ctx.host.docker)
    if ctx.on_event is not None:
        ctx.on_event(ProgressEvent("done", name, record=record))
    return record


def _unless_engine_lost(ctx: CollectContext, action: Callable[[], Detail]) -> Detail:
    if ctx.engine_lost is not None:
        raise StepSkipped(f"the Docker engine stopped answering: {ctx.engine_lost}")
    return action()


def _announce(ctx: CollectContext, record: StepRecord) -> None:
    """Report a step that ran in the background (a capture) when it ends."""
    if ctx.on_event is not None:
        ctx.on_event(ProgressEvent("start", record.name))
        ctx.on_event(ProgressEvent("done", record.name, record=record))
