"""Captures that run while other work happens (collection, a playbook), then go
into the bundle.

The pcap is spooled in a private folder of the state directory (mode 0700),
hashed as it is written, streamed into the bundle at the end and then removed;
a crash leaves it there for the responder rather than losing it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from irkit.bundle.model import ArtifactSink, StepRecord, StepStatus
from irkit.capture.bundle import add_to_bundle
from irkit.capture.model import CaptureOptions
from irkit.capture.session import CaptureSession, start_capture
from irkit.engine.host import Host
from irkit.engine.owner import owner_tag
from irkit.errors import IrkitError

SPOOL_DIR = "spool"
OWNER_FILE = "owner"


@dataclass(frozen=True)
class PcapTarget:
    """A container to capture, and where its pcap goes in the bundle."""

    ref: str
    name: str
    bundle_path: str


def spool_dir(host: Host) -> Path:
    """A new private folder, with an `owner` file naming this process."""
    root = host.state_dir / SPOOL_DIR
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = Path(tempfile.mkdtemp(prefix="pcap-", dir=root))
    (folder / OWNER_FILE).write_text(owner_tag() + "\n")
    return folder


class BackgroundCaptures:
    """Captures of several containers started together and finished together."""

    def __init__(
        self,
        host: Host,
        options: CaptureOptions,
        sink: ArtifactSink,
        notice: Callable[[str], None] = lambda message: None,
    ) -> None:
        self._host = host
        self._options = options
        self._sink = sink
        self._notice = notice
        self._spool: Path | None = None  # made only when there is something to capture
        self._running: list[tuple[PcapTarget, CaptureSession]] = []
        self.steps: list[StepRecord] = []

    def start(self, targets: Sequence[PcapTarget]) -> None:
        """Start one capture per target; a target that cannot be captured is a failed step."""
        if not targets:
            return
        spool = self._spool = self._spool or spool_dir(self._host)
        for index, target in enumerate(targets):
            started = self._host.clock.now()
            try:
                session = start_capture(
                    self._host,
                    target.ref,
                    self._options,
                    spool / f"{index}.pcap",
                    self._notice,
                )
            except IrkitError as e:
                self._record(
                    StepRecord(
                        self._step(target),
                        StepStatus.FAILED,
                        started,
                        self._host.clock.now(),
                        e.message,
                    )
                )
                continue
            self._running.append((target, session))

    def finish(self, reason: str = "stopped", min_seconds: float = 0) -> list[StepRecord]:
        """Stop every capture (not before `min_seconds` since its start) and stream
        each pcap into the bundle with its step."""
        for _target, session in self._running:
            remaining = min_seconds - session.progress().elapsed
            if remaining > 0:
                session.wait(remaining)
        while self._running:
            target, session = self._running.pop(0)
            result = session.stop(reason)
            self.steps.append(
                add_to_bundle(result, self._sink, target.bundle_path, step=self._step(target))
            )
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
        return self.steps

    def _record(self, record: StepRecord) -> None:
        self._sink.record_step(record)
        self.steps.append(record)

    @staticmethod
    def _step(target: PcapTarget) -> str:
        return f"pcap:{target.name}"


@contextmanager
def captures_around(
    host: Host,
    options: CaptureOptions,
    sink: ArtifactSink,
    targets: Sequence[PcapTarget],
    min_seconds: float = 0,
    notice: Callable[[str], None] = lambda message: None,
) -> Iterator[BackgroundCaptures]:
    """Capture `targets` for the duration of the block (and at least `min_seconds`),
    stopped at once on error. `notice` hears what the user must be told (a pull)."""
    captures = BackgroundCaptures(host, options, sink, notice)
    captures.start(targets)
    try:
        yield captures
    except BaseException:
        captures.finish("interrupted")
        raise
    captures.finish(min_seconds=min_seconds)
