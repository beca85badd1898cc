#!/usr/bin/env python3
"""A TheHive/Cortex responder that runs an irkit playbook on a Docker host.

Cortex starts a responder with the job JSON on stdin and reads the report JSON
from stdout (this script also honours Cortex's /job/input, /job/output folders
when it is started with a job directory argument). The job carries:

- `config`: `ssh_host` (user@host, required), `playbook` (default
  contain-and-collect), `irkit` (remote command, default irkit), `out`
  (bundle folder on the host), `ssh` (ssh command, default "ssh -o BatchMode=yes"),
  `dry_run` (only plan);
- `data`: the TheHive case / alert / observable. The container is the value of
  a `container:NAME` tag or of the custom field `container`; attacker addresses
  are the `ip` observables (`artifacts` of an alert, or the observable itself).

The report's `full` holds irkit's `result` event; `operations` tag the case or
alert with `irkit:<status>` so analysts see the outcome in TheHive.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from irkit_ssh import IrkitFailed, run_playbook


def _tags(data: dict[str, Any]) -> list[str]:
    return [str(t) for t in data.get("tags") or []]


def find_target(data: dict[str, Any]) -> str | None:
    for tag in _tags(data):
        if tag.startswith("container:"):
            return tag.split(":", 1)[1]
    field = (data.get("customFields") or {}).get("container") or {}
    value = field.get("string") if isinstance(field, dict) else field
    return str(value) if value else None


def find_attackers(job: dict[str, Any]) -> list[str]:
    data = job.get("data") or {}
    if job.get("dataType") == "thehive:case_artifact" and data.get("dataType") == "ip":
        return [str(data["data"])]
    return [str(a["data"]) for a in data.get("artifacts") or [] if a.get("dataType") == "ip"]


def case_id(data: dict[str, Any]) -> str | None:
    """TheHive's case number as an irkit case id (letters, digits, . _ -)."""
    raw = str(data.get("caseId") or data.get("id") or "")
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "", raw)
    return f"thehive-{cleaned}"[:40] if cleaned else None


def respond(job: dict[str, Any]) -> dict[str, Any]:
    config = job.get("config") or {}
    data = job.get("data") or {}
    target = find_target(data)
    if not config.get("ssh_host"):
        return {"success": False, "errorMessage": "config.ssh_host is not set"}
    if not target:
        return {"success": False, "errorMessage": "no container: add a container:NAME tag"}
    inputs = {}
    attackers = find_attackers(job)
    if attackers:
        inputs["attacker"] = ",".join(attackers)
    try:
        result = run_playbook(
            config["ssh_host"],
            config.get("playbook", "contain-and-collect"),
            target,
            inputs,
            ssh=shlex.split(config.get("ssh", "ssh -o BatchMode=yes")),
            irkit=config.get("irkit", "irkit"),
            out=config.get("out"),
            case=case_id(data),
            dry_run=bool(config.get("dry_run")),
        )
    except IrkitFailed as e:
        return {"success": False, "errorMessage": f"irkit: {e} (exit {e.exit_code})"}
    kind = "AddTagToAlert" if job.get("dataType") == "thehive:alert" else "AddTagToCase"
    return {
        "success": result.get("exit_code") in (0, 1),
        "full": result,
        "operations": [{"type": kind, "tag": f"irkit:{result.get('status')}"}],
    }


def main(argv: list[str]) -> int:
    job_dir = Path(argv[1]) if len(argv) > 1 else None
    if job_dir is not None:
        job = json.loads((job_dir / "input" / "input.json").read_text())
    else:
        job = json.load(sys.stdin)
    report = respond(job)
    text = json.dumps(report)
    if job_dir is not None:
        (job_dir / "output").mkdir(exist_ok=True)
        (job_dir / "output" / "output.json").write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
