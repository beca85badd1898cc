"""The run's bundle: a BundleWriter under the run's case, named after case and target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from irkit.bundle.custody import current_actor
from irkit.bundle.facts import gather_host_facts
from irkit.bundle.manifest import CaseInfo
from irkit.bundle.model import ArtifactSink, TargetInfo, safe_component
from irkit.bundle.sshsig import Signer
from irkit.bundle.writer import BundleWriter
from irkit.collect.runner import resolve_targets, target_info
from irkit.engine.host import Host
from irkit.playbook.actions import EvidenceBundle, SealedBundle
from irkit.playbook.planning import BundleOpener, RunInfo


class WriterBundle:
    """`EvidenceBundle` over the bundle area's streaming writer."""

    def __init__(self, writer: BundleWriter, targets: tuple[TargetInfo, ...]) -> None:
        self.writer = writer
        self.targets = targets

    @property
    def sink(self) -> ArtifactSink:
        return self.writer

    def seal(self, *, complete: bool, note: str) -> SealedBundle:
        sealed = self.writer.seal(complete, None if complete else note)
        return SealedBundle(sealed.path, sealed.sha256, sealed.complete)


@dataclass(frozen=True)
class BundleSettings:
    """Where and how a run's bundle is written (the sealing options of the CLI)."""

    out_dir: Path
    signer: Signer | None
    password: bytes | None = None
    examiner: str | None = None
    force: bool = False
    verify_args: str = ""


def bundle_path(out_dir: Path, info: RunInfo) -> Path:
    return out_dir / f"{info.case}-{safe_component(info.target)}-{info.run_id[:6]}.zip"


def writer_opener(host: Host, settings: BundleSettings) -> BundleOpener:
    """Opens the bundle once the target is known to exist (else exit 2, nothing changed)."""

    def open_bundle(info: RunInfo) -> EvidenceBundle:
        targets = tuple(
            target_info(host.docker, t) for t in resolve_targets(host.docker, [info.target])
        )
        description = f"playbook {info.playbook.name} {info.playbook.version}".strip()
        case = CaseInfo(info.case, settings.examiner or current_actor().user, description)
        writer = BundleWriter(
            bundle_path(settings.out_dir, info),
            case,
            host.clock,
            signer=settings.signer,
            password=settings.password,
            force=settings.force,
            host_facts=gather_host_facts(host),
        )
        return WriterBundle(writer, targets)

    return open_bundle
