"""Sealing existing files and folders (a responder's notes, another tool's output)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from irkit.bundle.model import ArtifactSink, StepStatus, safe_component
from irkit.engine.clock import Clock
from irkit.errors import UsageError
from irkit.steps import StepSkipped, run_step

CHUNK = 1024 * 1024


def file_chunks(path: Path) -> Iterator[bytes]:
    """A file's bytes in chunks; a read error becomes an IrkitError (a recorded failure)."""
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from e


def _walk(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files under `root` with their path relative to it; symlinks are not followed."""
    if root.is_file() and not root.is_symlink():
        yield root, root.name
        return
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path, path.relative_to(root.parent).as_posix()


def _member(relative: str) -> str:
    return "/".join(safe_component(part, 200) for part in relative.split("/"))


def add_paths(
    sink: ArtifactSink, clock: Clock, paths: Sequence[Path], exclude: Sequence[Path] = ()
) -> list[str]:
    """Add each PATH as one step under artifacts/files/; return the names of failed steps.

    `exclude` names files never to read (the bundle being written, when it lies
    inside a sealed folder: reading it while it grows would never end).
    """
    skip = {p.resolve() for p in exclude}
    failed: list[str] = []
    for index, root in enumerate(paths):
        step = f"seal {root}"

        def action(root: Path = root, index: int = index, step: str = step) -> dict[str, Any]:
            if root.is_symlink() or not (root.is_file() or root.is_dir()):
                raise StepSkipped(f"{root} is not a regular file or folder")
            count = 0
            errors: list[str] = []
            for path, relative in _walk(root):
                if path.resolve() in skip:
                    continue
                member = f"files/{index}/{_member(relative)}"
                try:
                    sink.add_stream(member, file_chunks(path), step=step, source=f"file {path}")
                except UsageError as e:  # keep going: one unreadable file loses only itself
                    errors.append(e.message)
                count += 1
            if errors:
                raise UsageError(f"{len(errors)} of {count} files failed: {'; '.join(errors)}")
            return {"files": count, "source": str(root.resolve())}

        record = run_step(sink, clock, step, action)
        if record.status is not StepStatus.OK:
            failed.append(step)
    return failed
