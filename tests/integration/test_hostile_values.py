"""Hostile names and values on the command line: shell metacharacters, newlines,
unicode, bytes that are not UTF-8, very long values.

They never reach a shell (a canary file would appear), never break a path out
of the bundle or the state directory, never land in an iptables rule, and an
error is always exit 2 with one line and no traceback.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from irkit.bundle import layout
from tests.support.hostile import run_cli

pytestmark = pytest.mark.docker

CANARY = Path("/tmp/irkit-hostile-canary")
SHELLISH = [
    f"$(touch {CANARY})",
    f"`touch {CANARY}`",
    f"x; touch {CANARY} #",
    f"x && touch {CANARY}",
    f"x | tee {CANARY}",
    f"x > {CANARY}",
]
ODD = [
    "line\nbreak\r\x1b[31mred",
    "[/][bold]markup",
    "ünï ‮ḉødé 🦀",
    "\udcff\udcfe not utf-8",
    "../../../../etc/passwd",
    "/etc/passwd",
    "-rf",
    "--help",
    "x" * 100_000,
]
VALUES = SHELLISH + ODD


@pytest.fixture(autouse=True)
def no_canary() -> Any:
    CANARY.unlink(missing_ok=True)
    yield
    assert not CANARY.exists(), "a value reached a shell"


def one_error_line(code: int, err: str, expected: int = 2) -> None:
    assert code == expected, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith(("irkit: error:", "Error:"))]
    assert len(errors) == 1, err  # irkit's own line, or click's for a malformed option


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_case_and_examiner_are_recorded_verbatim(tmp_path: Path, value: str) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n.txt").write_text("note\n")
    bundle = tmp_path / "out" / "b.zip"
    bundle.parent.mkdir()
    args = ["bundle", "seal", str(notes), "--out", str(bundle), "--no-sign"]
    code, _, err = run_cli([*args, "--case", value, "--examiner", value, "--description", value])
    assert code == 0, err
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["b.zip", "b.zip.sha256"]
    with zipfile.ZipFile(bundle) as z:
        for name in z.namelist():
            assert layout.name_problem(name) is None
        manifest = json.loads(z.read(layout.MANIFEST))
        custody = z.read(layout.CUSTODY).decode("utf-8")
    assert manifest["case"] == {"id": value, "examiner": value, "description": value}
    assert all(json.loads(line)["bundle_id"] for line in custody.splitlines())
    code, _, err = run_cli(["bundle", "verify", str(bundle), "--allow-unsigned"])
    assert code == 0, err
    code, _, err = run_cli(["bundle", "show", str(bundle)])
    assert code == 0 and "\x1b" not in err


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_hostile_case_ids_never_reach_a_rule(
    make_container: Callable[..., Any], state_dir: Path, iptables_guard: str, value: str
) -> None:
    victim = make_container()
    for args in (
        ["isolate", victim.name, "--case", value],
        ["block-ip", "203.0.113.9", "--case", value],
    ):
        code, _, err = run_cli(args)
        one_error_line(code, err)
        assert "invalid case id" in err
    assert not (state_dir / "state.json").exists()
    rules = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
    assert "203.0.113.9" not in rules and "irkit-hostile-canary" not in rules


ADDRESSES = [
    f"203.0.113.7; touch {CANARY}",
    "203.0.113.7 -j ACCEPT",
    "-j ACCEPT",
    "203.0.113.7/33",
    "\uff12\uff10\uff13.0.113.7",
    "203.0.113.7:99999",
    "",
    "x" * 10_000,
]


@pytest.mark.parametrize("address", ADDRESSES, ids=range(len(ADDRESSES)))
def test_hostile_addresses_are_refused(
    make_container: Callable[..., Any], state_dir: Path, iptables_guard: str, address: str
) -> None:
    code, _, err = run_cli(["block-ip", address, "--case", iptables_guard])
    one_error_line(code, err)
    victim = make_container()
    code, _, err = run_cli(["isolate", victim.name, "--allow", address, "--case", iptables_guard])
    one_error_line(code, err)
    rules = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
    assert f"irkit:{iptables_guard}" not in rules


REFS = [
    "x/../../images/irkit-test/victim:1",
    "../info",
    f"$(touch {CANARY})",
    "a\nb",
    "\udcff",
    "x" * 5000,
    "irkit-test-[/]",
]


@pytest.mark.parametrize("ref", REFS, ids=range(len(REFS)))
def test_hostile_container_names_are_refused(
    tmp_path: Path, state_dir: Path, iptables_guard: str, ref: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for args in (
        ["triage", ref],
        ["collect", ref, "--out", str(out / "b.zip"), "--no-sign"],
        ["isolate", ref, "--case", iptables_guard],
        ["release", ref],
        ["capture", ref, "--out", str(out / "c.pcap"), "--seconds", "1"],
    ):
        code, _, err = run_cli(args)
        one_error_line(code, err)
        assert "\x1b" not in err and "\nb" not in err
    assert list(out.iterdir()) == []
    assert not (state_dir / "state.json").exists()


@pytest.mark.parametrize("method", ["host", "sidecar"])
def test_bpf_filter_is_an_expression_never_an_option(
    make_container: Callable[..., Any], capture_image: str, tmp_path: Path, method: str
) -> None:
    """A filter like "-w/some/file" would make tcpdump (root, on the host) write there."""
    victim = make_container()
    planted = tmp_path / "planted"
    for bpf in (f"-w{planted}", f"-r{planted}", f"-F{planted}", f"icmp; touch {CANARY}"):
        code, _, err = run_cli(
            [
                *("capture", victim.name, "--out", str(tmp_path / "c.pcap"), "--seconds", "2"),
                *(
                    "--method",
                    method,
                    "--capture-image",
                    capture_image,
                    "--no-pull",
                    "--filter",
                    bpf,
                ),
            ]
        )
        one_error_line(code, err)
        assert "invalid capture filter" in err
        assert not planted.exists()
        assert not (tmp_path / "c.pcap").exists()


def test_non_utf8_argv_through_the_real_command(
    irkit_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """Bytes that are not UTF-8 in argv (as a shell passes them) reach the manifest escaped."""
    notes = tmp_path / "n.txt"
    notes.write_text("n\n")
    bundle = tmp_path / "b.zip"
    result = irkit_cli(
        "bundle", "seal", str(notes), "--out", str(bundle), "--no-sign",
        "--case", "\udcffcase\nx", "--examiner", f"$(touch {CANARY})",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(bundle) as z:
        raw = z.read(layout.MANIFEST)
    raw.decode("utf-8")  # still valid UTF-8: the stray byte is a JSON escape
    assert json.loads(raw)["case"]["id"] == "\udcffcase\nx"
    assert irkit_cli("bundle", "verify", str(bundle), "--allow-unsigned").returncode == 0
