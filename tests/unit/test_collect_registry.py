"""The artifact registry, the choice of artifacts, and the CLI's value parsers."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import irkit.collect  # noqa: F401 (registers the built-in artifacts)
from irkit.cli.collect import parse_size, parse_time
from irkit.collect.base import REGISTRY, Artifact, register, select
from irkit.errors import UsageError


def test_defaults_run_most_volatile_first_and_leave_out_exec() -> None:
    names = [a.name for a in select(None)]
    assert names == ["processes", "netstat", "host", "inspect", "logs", "diff", "export"]


def test_explicit_choice_keeps_volatility_order() -> None:
    chosen = select(["export", " exec-netstat", "processes", "export", ""])
    assert [a.name for a in chosen] == ["processes", "exec-netstat", "export"]


def test_unknown_artifact_is_a_usage_error_listing_the_known_ones() -> None:
    with pytest.raises(UsageError, match="unknown artifact: memory") as info:
        select(["memory"])
    assert "netstat" in (info.value.hint or "")


def test_an_add_on_artifact_slots_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("irkit.collect.base.REGISTRY", dict(REGISTRY))
    register(
        Artifact("memory", "memory", order=25, default=False, per_container=lambda c, t, s: None)
    )
    assert [a.name for a in select(["netstat", "memory", "processes"])] == [
        "processes",
        "netstat",
        "memory",
    ]


def test_pcap_is_accepted_but_runs_in_the_background() -> None:
    assert [a.name for a in select(["pcap", "inspect"])] == ["inspect"]
    with pytest.raises(UsageError, match="unknown artifact: pcapp"):
        select(["pcapp"])
    with pytest.raises(ValueError, match="exactly one"):
        register(Artifact("bad", "neither", order=1))


@pytest.mark.parametrize(
    ("text", "value"), [("1024", 1024), ("500M", 500 << 20), ("2G", 2 << 30), ("3kib", 3072)]
)
def test_sizes(text: str, value: int) -> None:
    assert parse_size(text) == value


def test_bad_size() -> None:
    with pytest.raises(UsageError):
        parse_size("lots")


def test_times() -> None:
    utc = timezone.utc
    assert parse_time(None) is None
    assert parse_time("0") == datetime(1970, 1, 1, tzinfo=utc)
    assert parse_time("2026-11-25T10:00:00Z") == datetime(2026, 11, 25, 10, tzinfo=utc)
    assert parse_time("2026-11-25T10:00:00") == datetime(2026, 11, 25, 10, tzinfo=utc)
    with pytest.raises(UsageError):
        parse_time("yesterday")
