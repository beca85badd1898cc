"""The state file: atomic, locked, round-trips; the audit log appends."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from irkit.contain.rules import isolation_comment, isolation_rules
from irkit.contain.spec import Mode, block_spec
from irkit.contain.state import BlockEntry, Endpoint, IsolationEntry, StateStore
from irkit.errors import EnvironmentProblem


def _entry() -> IsolationEntry:
    import ipaddress

    cid = "ab" * 32
    return IsolationEntry(
        container_id=cid,
        name="web",
        case="c1",
        modes=(Mode.FIREWALL, Mode.DISCONNECT, Mode.PAUSE),
        started="2026-11-25T00:00:00.000000Z",
        phase="applied",
        rules=tuple(
            isolation_rules([ipaddress.ip_address("10.1.2.3")], [], isolation_comment("c1", cid))
        ),
        allow=("10.0.0.5:514",),
        endpoints=(Endpoint("net", "n" * 64, ("web", "api"), "10.1.2.3", None, ("db:db",)),),
        restart_policy={"Name": "always", "MaximumRetryCount": 0},
        was_paused=False,
        was_running=True,
    )


def test_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    with store.locked() as state:
        state.isolations["x"] = _entry()
        spec = block_spec("203.0.113.0/24")
        state.blocks[spec.key] = BlockEntry(spec, "c1", "t", "applied", ())
        store.save(state)
    loaded = store.load()
    assert loaded.isolations["x"] == _entry()
    assert loaded.blocks["203.0.113.0/24,both"].spec == block_spec("203.0.113.0/24")
    assert [p.name for p in (tmp_path / "state").iterdir() if p.suffix == ".partial"] == []
    assert oct((tmp_path / "state" / "state.json").stat().st_mode & 0o777) == "0o600"


def test_lock_is_exclusive(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    with store.locked():
        fd = os.open(tmp_path / "state.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(tmp_path / "state.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)


def test_audit_appends_json_lines(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.audit([{"action": "isolate", "case": "c1"}])
    store.audit([{"action": "release", "case": "c1"}, {"action": "block", "case": "c2"}])
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["isolate", "release", "block"]
    assert all("actor" in json.loads(line) for line in lines)


def test_unreadable_state_is_an_environment_problem(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(EnvironmentProblem, match="unreadable"):
        StateStore(tmp_path).load()
