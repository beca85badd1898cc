"""samples/soar: the SSH wrapper and the Cortex responder, with ssh faked locally.

The fake ssh runs the remote command through `sh -c` on this machine, which is
exactly what sshd does, so the wrapper's quoting is tested for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "soar"


@pytest.fixture
def fake_ssh(tmp_path: Path) -> str:
    script = tmp_path / "ssh"
    script.write_text('#!/bin/sh\nshift\nexec sh -c "$1"\n')
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1",
            "IRKIT_STATE_DIR": str(tmp_path / "state")}  # fmt: skip


IRKIT = f"{sys.executable} -m irkit"


def test_ssh_wrapper_reads_the_event_stream(fake_ssh: str, env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(SAMPLES / "irkit_ssh.py"), "--host", "root@h", "--ssh", fake_ssh,
         "--irkit", IRKIT, "contain-and-collect", "--target", "web; touch /tmp/x",
         "--input", "attacker=203.0.113.7", "--dry-run"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["event"] == "result" and result["status"] == "planned"


def test_ssh_wrapper_reports_irkit_errors(fake_ssh: str, env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(SAMPLES / "irkit_ssh.py"), "--host", "h", "--ssh", fake_ssh,
         "--irkit", IRKIT, "block-attacker", "--target", "web"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert json.loads(proc.stdout) == {
        "ok": False,
        "error": "missing required input 'attacker'",
        "exit_code": 2,
    }


def test_cortex_responder(fake_ssh: str, env: dict[str, str]) -> None:
    job = {
        "dataType": "thehive:alert",
        "config": {"ssh_host": "root@h", "ssh": fake_ssh, "irkit": IRKIT, "dry_run": True},
        "data": {
            "id": "~4242",
            "tags": ["web", "container:shop-web"],
            "artifacts": [
                {"dataType": "ip", "data": "203.0.113.7"},
                {"dataType": "domain", "data": "evil.example"},
            ],
        },
    }
    proc = subprocess.run(
        [sys.executable, str(SAMPLES / "cortex_responder.py")],
        input=json.dumps(job), capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    report = json.loads(proc.stdout)
    assert report["success"] is True, report
    assert report["full"]["status"] == "planned"
    assert report["operations"] == [{"type": "AddTagToAlert", "tag": "irkit:planned"}]


def test_cortex_responder_without_container(env: dict[str, str]) -> None:
    job = {"config": {"ssh_host": "h"}, "data": {"tags": []}}
    proc = subprocess.run(
        [sys.executable, str(SAMPLES / "cortex_responder.py")],
        input=json.dumps(job), capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert json.loads(proc.stdout) == {
        "success": False,
        "errorMessage": "no container: add a container:NAME tag",
    }
