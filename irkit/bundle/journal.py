"""Bundles being written, noted in the state directory so that `irkit status`
can find the `.partial` file a killed run left, wherever its output went."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from irkit.engine.owner import owner_alive, owner_tag

JOURNAL_DIR = "writing"


@dataclass(frozen=True)
class Writing:
    note: Path  # the journal entry
    partial: Path
    owner: str

    @property
    def stale(self) -> bool:
        return not owner_alive(self.owner)


def note(state_dir: Path, bundle_id: str, partial: Path) -> Path | None:
    """Record that this process writes `partial`; None when the state directory is
    not writable (the bundle is still written; only the record is missing)."""
    directory = state_dir / JOURNAL_DIR
    entry = directory / f"{bundle_id}.json"
    document = {"partial": str(partial.absolute()), "owner": owner_tag()}
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(entry, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle)
    except OSError:
        return None
    return entry


def forget(entry: Path | None) -> None:
    if entry is not None:
        with contextlib.suppress(OSError):
            entry.unlink()


def writings(state_dir: Path) -> list[Writing]:
    """Every noted bundle write, live or left by a killed run."""
    found: list[Writing] = []
    for entry in sorted((state_dir / JOURNAL_DIR).glob("*.json")):
        try:
            document = json.loads(entry.read_text())
            found.append(Writing(entry, Path(document["partial"]), str(document["owner"])))
        except (OSError, ValueError, KeyError, TypeError):
            found.append(Writing(entry, entry, ""))  # unreadable: report it as stale
    return found
