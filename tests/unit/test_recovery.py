"""Leftovers of killed runs, found from the state directory alone (no engine)."""

from __future__ import annotations

import json
from pathlib import Path

from irkit.bundle import journal
from irkit.capture.background import OWNER_FILE, SPOOL_DIR
from irkit.engine.clock import SystemClock
from irkit.engine.commands import SubprocessRunner
from irkit.engine.host import Host
from irkit.engine.owner import owner_tag
from irkit.recovery import find_leftovers


def _host(tmp_path: Path) -> Host:
    return Host(SubprocessRunner(), SystemClock(), tmp_path / "state")


def _dead(tag: str) -> str:
    host, pid, _ = tag.rsplit(":", 2)
    return f"{host}:{pid}:1.000"  # same host and pid, another start time: gone


def test_a_live_write_is_not_a_leftover_a_killed_one_is(tmp_path: Path) -> None:
    host = _host(tmp_path)
    live = tmp_path / "live.zip.partial"
    live.write_bytes(b"PK")
    entry = journal.note(host.state_dir, "live", live)
    assert entry is not None
    assert find_leftovers(host, with_engine=False) == []

    killed = tmp_path / "killed.zip.partial"
    killed.write_bytes(b"PK")
    note = host.state_dir / journal.JOURNAL_DIR / "killed.json"
    note.write_text(json.dumps({"partial": str(killed), "owner": _dead(owner_tag())}))
    (found,) = find_leftovers(host, with_engine=False)
    assert (found.kind, found.subject) == ("stale-partial", str(killed))

    journal.forget(entry)
    assert not entry.exists()


def test_spool_of_a_dead_owner_is_reported_with_its_pcaps(tmp_path: Path) -> None:
    host = _host(tmp_path)
    mine = host.state_dir / SPOOL_DIR / "pcap-live"
    mine.mkdir(parents=True)
    (mine / OWNER_FILE).write_text(owner_tag())
    orphan = host.state_dir / SPOOL_DIR / "pcap-dead"
    orphan.mkdir()
    (orphan / OWNER_FILE).write_text(_dead(owner_tag()))
    (orphan / "0.pcap").write_bytes(b"\xd4\xc3\xb2\xa1")
    (found,) = find_leftovers(host, with_engine=False)
    assert found.kind == "pcap-spool" and found.subject == str(orphan)
    assert "0.pcap" in found.detail and not found.cleaned
