"""Putting a finished capture into a bundle through the sink's streaming writer."""

from __future__ import annotations

from irkit.bundle.model import ArtifactSink, StepRecord, StepStatus
from irkit.capture.model import CaptureResult
from irkit.capture.pcap import read_chunks

SOURCE = "tcpdump"


def add_to_bundle(
    result: CaptureResult, sink: ArtifactSink, path: str, *, step: str = "pcap"
) -> StepRecord:
    """Stream the pcap into `path` (under artifacts/), record the capture step and return it.

    The hash the sink computes must equal the one taken while capturing: a pcap
    changed on disk in between makes the step failed, saying so.
    """
    record = sink.add_stream(path, read_chunks(result.path), step=step, source=SOURCE)
    detail = {**result.manifest_detail(), "artifact": record.path}
    error = None
    if record.sha256 != result.sha256:
        error = f"{result.path} changed since it was captured (sha256 {record.sha256})"
    status = StepStatus.FAILED if error else StepStatus.OK
    recorded = StepRecord(step, status, result.started, result.ended, error, detail)
    sink.record_step(recorded)
    return recorded
