"""What killed irkit runs leave behind, found and cleaned by `irkit status`.

- a bundle's `.partial` file (noted in STATE_DIR/writing/ while it is written):
  never sealed, so not evidence; `clean` removes it;
- a capture sidecar whose irkit process is gone: `clean` removes it;
- a pcap spool folder (STATE_DIR/spool/pcap-*) whose owner is gone: it holds
  the pcap captured so far, so it is reported and kept (seal it with
  `irkit bundle seal DIR`), never deleted by irkit.

Half-applied containment is in the containment state (`irkit.contain.status`,
finished by `irkit release`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from irkit.bundle.journal import forget, writings
from irkit.capture.background import OWNER_FILE, SPOOL_DIR
from irkit.capture.sidecar import find_orphans, remove_orphans
from irkit.engine.host import Host
from irkit.engine.owner import owner_alive
from irkit.errors import IrkitError

STALE_PARTIAL = "stale-partial"
ORPHAN_SIDECAR = "orphan-sidecar"
PCAP_SPOOL = "pcap-spool"
UNCHECKED = "unchecked"


@dataclass(frozen=True)
class Leftover:
    kind: str  # stale-partial | orphan-sidecar | pcap-spool | unchecked
    subject: str  # a path or a container name
    detail: str
    cleaned: bool = False


def find_leftovers(host: Host, *, with_engine: bool = True) -> list[Leftover]:
    """Everything a killed run left; changes nothing."""
    found = [
        Leftover(STALE_PARTIAL, str(w.partial), "a bundle never sealed (its run was killed)")
        for w in writings(host.state_dir)
        if w.stale and w.partial.exists()
    ]
    found += _spools(host.state_dir)
    if with_engine:
        found += _sidecars(host, clean=False)
    return found


def clean_leftovers(host: Host) -> list[Leftover]:
    """Remove stale partials and orphaned sidecars; report spools (kept: evidence)."""
    result: list[Leftover] = []
    for w in writings(host.state_dir):
        if not w.stale:
            continue
        existed = w.partial.exists() and w.partial.name.endswith(".partial")
        if existed:
            with contextlib.suppress(OSError):
                w.partial.unlink()
        forget(w.note)
        if existed:
            result.append(Leftover(STALE_PARTIAL, str(w.partial), "removed", cleaned=True))
    return result + _spools(host.state_dir) + _sidecars(host, clean=True)


def _sidecars(host: Host, *, clean: bool) -> list[Leftover]:
    """Orphaned capture sidecars, found or removed; an unreachable engine is said so."""
    try:
        orphans = remove_orphans(host.docker) if clean else find_orphans(host.docker)
    except IrkitError as e:
        return [Leftover(UNCHECKED, "capture sidecars", e.message)]
    return [
        Leftover(
            ORPHAN_SIDECAR,
            s.name,
            "removed" if clean else f"capture of {s.target[:12]} ({s.status})",
            cleaned=clean,
        )
        for s in orphans
    ]


def _spools(state_dir: Path) -> list[Leftover]:
    found: list[Leftover] = []
    for folder in sorted((state_dir / SPOOL_DIR).glob("pcap-*")):
        try:
            owner = (folder / OWNER_FILE).read_text().strip()
        except OSError:
            owner = ""
        if owner_alive(owner):
            continue
        pcaps = sorted(p.name for p in folder.iterdir() if p.name != OWNER_FILE)
        found.append(
            Leftover(
                PCAP_SPOOL,
                str(folder),
                f"pcap of a killed run kept ({', '.join(pcaps) or 'empty'}); "
                f"seal it with 'irkit bundle seal {folder} --out FILE.zip', then remove it",
            )
        )
    return found
