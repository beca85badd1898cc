"""`irkit playbook ...` and `irkit run --dry-run` as a user sees them."""

from __future__ import annotations

import json

from irkit.cli.main import main
from irkit.errors import ExitCode
from irkit.playbook import load


def test_list_names_the_shipped_playbooks(capsys) -> None:
    assert main(["playbook", "list", "--json"]) == 0
    names = [p["name"] for p in json.loads(capsys.readouterr().out)]
    assert "contain-and-collect" in names and "release" in names


def test_show_prints_the_yaml(capsys) -> None:
    assert main(["playbook", "show", "quarantine"]) == 0
    assert "action: contain.isolate" in capsys.readouterr().out


def test_validate_reports_every_file(tmp_path, capsys) -> None:
    bad = tmp_path / "contain.yml"
    bad.write_text("name: c\nsteps:\n  - action: contain.isolate\n    with: {mode: firewal}\n")
    code = main(["playbook", "validate", "playbooks/release.yml", str(bad)])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "playbooks/release.yml: ok" in err
    assert "contain.yml:4: step 1 (contain.isolate): unknown mode 'firewal'" in err


def test_validate_json(tmp_path, capsys) -> None:
    code = main(["playbook", "validate", "--json", "playbooks/quarantine.yml"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["ok"] is True


def test_dry_run_json_lines(capsys) -> None:
    code = main(
        ["run", "contain-and-collect", "--target", "web", "--dry-run", "--json",
         "--input", "attacker=203.0.113.9"]
    )  # fmt: skip
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    steps = len(load("contain-and-collect").steps)
    assert [e["event"] for e in lines] == ["run_start"] + ["plan"] * steps + ["result"]
    block = next(e for e in lines if e.get("name") == "block-attacker")
    assert block["params"]["addresses"] == ["203.0.113.9/32"] and block["will_run"]


def test_missing_required_input_is_exit_2_without_a_prompt(capsys) -> None:
    code = main(["run", "block-attacker", "--target", "web", "--json"])
    out = capsys.readouterr().out
    assert code == ExitCode.USAGE
    event = json.loads(out.strip())
    assert event == {
        "event": "error",
        "message": "missing required input 'attacker'",
        "hint": "give it with --input attacker=VALUE",
        "exit_code": 2,
    }


def test_bad_playbook_file_is_exit_2(tmp_path, capsys) -> None:
    path = tmp_path / "x.yml"
    path.write_text("name: x\nsteps:\n  - action: collect.nothing\n")
    assert main(["run", str(path), "--target", "web"]) == ExitCode.USAGE
    assert "x.yml:3: step 1 (collect.nothing): unknown action" in capsys.readouterr().err
