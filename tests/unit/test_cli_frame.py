"""The CLI frame: version, JSON discipline, error messages and exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner

from irkit import __version__
from irkit.cli.main import cli, main
from irkit.errors import ContainerNotFound, ExitCode, IrkitError


def test_version_prints_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_usage_error(capsys) -> None:
    assert main(["no-such-command"]) == ExitCode.USAGE
    assert "No such command" in capsys.readouterr().err


def test_errors_carry_exit_codes() -> None:
    err = ContainerNotFound("web")
    assert str(err) == "no such container: web"
    assert err.exit_code == ExitCode.USAGE
    assert IrkitError("x").exit_code == ExitCode.USAGE


def test_help_lists_doctor() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "doctor" in result.output


def test_json_error_document_on_stdout(capsys, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    code = main(["doctor", "--json"])
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert code == ExitCode.ENVIRONMENT
    assert document["ok"] is False
    engine = next(c for c in document["checks"] if c["name"] == "docker engine")
    assert engine["status"] == "fail"
