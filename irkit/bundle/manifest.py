"""manifest.json: what the bundle holds, who made it, where and when.

Layout documented in docs/bundle-format.md (format version 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from irkit import TOOL_NAME, __version__
from irkit.bundle.facts import HostFacts
from irkit.bundle.layout import FORMAT_NAME, FORMAT_VERSION
from irkit.bundle.model import ArtifactRecord, StepRecord, TargetInfo
from irkit.engine.clock import rfc3339
from irkit.jsonable import to_jsonable


@dataclass(frozen=True)
class CaseInfo:
    """Case metadata given by the responder."""

    case_id: str
    examiner: str
    description: str = ""


def utf8_json(text: str) -> bytes:
    """JSON text as UTF-8, keeping lone surrogates as JSON escapes (\\udcXX).

    Names, command lines and environments read from a hostile container may
    not be UTF-8; Python carries their bytes as lone surrogates, which strict
    UTF-8 cannot encode. As escapes they stay valid JSON and exact.
    """
    return text.encode("utf-8", "backslashreplace")


def to_json_bytes(document: Any) -> bytes:
    """Stable, readable JSON for members (dataclasses, datetimes and enums allowed)."""
    text = json.dumps(
        to_jsonable(document), indent=2, sort_keys=True, ensure_ascii=False, default=str
    )
    return utf8_json(text) + b"\n"


def build_manifest(
    *,
    bundle_id: str,
    case: CaseInfo,
    host: HostFacts,
    started: datetime,
    ended: datetime,
    complete: bool,
    reason: str | None,
    signer: dict[str, str] | None,
    encrypted: bool,
    targets: list[TargetInfo],
    steps: list[StepRecord],
    artifacts: list[ArtifactRecord],
) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "bundle_id": bundle_id,
        "case": {"id": case.case_id, "examiner": case.examiner, "description": case.description},
        "host": to_jsonable(host),
        "targets": to_jsonable(targets),
        "started": rfc3339(started),
        "ended": rfc3339(ended),
        "complete": complete,
        "incomplete_reason": reason,
        "signed": signer is not None,
        "signer": signer,
        "encrypted": encrypted,
        "steps": to_jsonable(steps),
        "artifacts": to_jsonable(artifacts),
    }
