"""iptables missing or failing, and two irkit processes at once on one container.

Faults are injected with fake tools earlier in PATH for the irkit process only;
the real iptables of the host is what the assertions read.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_contain import irkit_rules
from tests.support.faults import assert_no_traceback

pytestmark = pytest.mark.docker

REAL_RESTORE = shutil.which("iptables-restore") or "/usr/sbin/iptables-restore"

REFUSE_OUTPUT = f"""#!/bin/sh
input=$(cat)
case "$input" in *"-I OUTPUT"*) echo "iptables-restore: line 4 failed" >&2; exit 1;; esac
printf '%s\\n' "$input" | {REAL_RESTORE} "$@"
"""
APPLY_THEN_FAIL_ONCE = f"""#!/bin/sh
{REAL_RESTORE} "$@" || exit $?
[ -e "$0.failed" ] && exit 0
touch "$0.failed"; echo "iptables-restore: lost the commit" >&2; exit 1
"""


def _fake_restore(folder: Path, script: str) -> dict[str, str]:
    folder.mkdir()
    fake = folder / "iptables-restore"
    fake.write_text(script)
    fake.chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


def _drift(status: dict[str, Any], case: str) -> list[dict[str, Any]]:
    """Drift about this test's case (other tests' rules share the host's iptables)."""
    return [d for d in status["drift"] if case in f"{d['subject']} {d['detail']}"]


def _state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / "state.json"
    return json.loads(path.read_text()) if path.exists() else {"isolations": {}}


@pytest.mark.parametrize("fault", ["missing", "refused", "applied-then-failed"])
def test_failing_iptables_leaves_nothing_half_applied(
    fault: str,
    make_container: Callable[..., Any],
    iptables_guard: str,
    state_dir: Path,
    irkit_cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    victim = make_container()
    if fault == "missing":
        (tmp_path / "empty").mkdir()
        env = {"PATH": str(tmp_path / "empty")}
    else:
        env = _fake_restore(
            tmp_path / "bin", REFUSE_OUTPUT if fault == "refused" else APPLY_THEN_FAIL_ONCE
        )
    result = irkit_cli("isolate", victim.name, "--case", iptables_guard, env=env)
    assert result.returncode == 4, result.stderr
    assert_no_traceback(result.stderr)
    expected = {
        "missing": "required tool not found: iptables",
        "refused": "nothing was applied: iptables-restore: line 4 failed",
        "applied-then-failed": "lost the commit",
    }[fault]
    assert expected in result.stderr
    assert irkit_rules(iptables_guard) == []  # rolled back, or never applied
    assert _state(state_dir)["isolations"] == {}
    status = json.loads(irkit_cli("status", "--json").stdout)
    assert status["isolations"] == [] and _drift(status, iptables_guard) == []


def test_concurrent_isolates_and_releases_stay_consistent(
    make_container: Callable[..., Any],
    iptables_guard: str,
    state_dir: Path,
    irkit_cli: Callable[..., Any],
) -> None:
    victim = make_container()
    calls = [("isolate", victim.name, "--case", iptables_guard), ("release", victim.name)] * 5
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(lambda args: irkit_cli(*args), calls))
    for result in results:
        assert_no_traceback(result.stderr)
        # A release that finds nothing isolated is a clean usage error.
        assert result.returncode == 0 or "is not isolated by irkit" in result.stderr
    assert sum(r.returncode == 0 for r in results[::2]) == 5  # every isolate succeeded
    entries = _state(state_dir)["isolations"]
    rules = irkit_rules(iptables_guard)
    if entries:
        assert [e["phase"] for e in entries.values()] == ["applied"]
        assert len(rules) == 4 and len(set(rules)) == 4  # never twice
    else:
        assert rules == []
    assert _drift(json.loads(irkit_cli("status", "--json").stdout), iptables_guard) == []
    if entries:
        assert irkit_cli("release", victim.name).returncode == 0
    assert irkit_rules(iptables_guard) == []
    audit = [json.loads(x) for x in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert sum(a["action"] == "isolate" for a in audit) == 5
