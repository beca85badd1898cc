"""Putting a finished capture into a bundle through the sink's streaming writer."""

from __future__ import annotations

from irkit.bundle.model import ArtifactRecord, ArtifactSink, StepRecord, StepStatus
from irkit.capture.model import CaptureResult
from irkit.capture.pcap import read_chunks
from irkit.errors import VerificationFailed

SOURCE = "tcpdump"


def add_to_bundle(
    result: CaptureResult, sink: ArtifactSink, path: str, *, step: str = "pcap"
) -> ArtifactRecord:
    """Stream the pcap into `path` (under artifacts/) and record the capture step.

    The hash the sink computes must equal the one taken while capturing: a pcap
    changed on disk in between is refused (VerificationFailed), and the step says so.
    """
    record = sink.add_stream(path, read_chunks(result.path), step=step, source=SOURCE)
    detail = {**result.manifest_detail(), "artifact": record.path}
    if record.sha256 != result.sha256:
        error = f"{result.path} changed since it was captured (sha256 {record.sha256})"
        sink.record_step(
            StepRecord(step, StepStatus.FAILED, result.started, result.ended, error, detail)
        )
        raise VerificationFailed(error)
    sink.record_step(StepRecord(step, StepStatus.OK, result.started, result.ended, None, detail))
    return record
