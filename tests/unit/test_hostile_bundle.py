"""Fuzzing `bundle verify`, `bundle extract` and `bundle show` with mutated real bundles.

Each case runs through the library and the CLI in process (see
tests/support/hostile.py for the invariants). The default run is bounded so
the suite stays fast; the slow-marked run (and bench/hostile.py) tries many more.
Set IRKIT_FUZZ_EXAMPLES to change the per-strategy count of the slow run.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import hostile
from tests.support.hostile import Case, Seed, check_case

FAST_EXAMPLES = 40
SLOW_EXAMPLES = int(os.environ.get("IRKIT_FUZZ_EXAMPLES", "600"))
MAX_RSS_GROWTH_KIB = 400 * 1024


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Seed]:
    workdir = tmp_path_factory.mktemp("seeds")
    return {
        "plain": hostile.build_seed(workdir),
        "aes": hostile.build_seed(workdir, hostile.PASSWORD),
    }


def fuzz(strategy: st.SearchStrategy[Case], seed: Seed, examples: int, *, cli: bool = True) -> int:
    """Run `check_case` on `examples` drawn cases; return how many ran."""
    before = hostile.TALLY.cases

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Case) -> None:
        check_case(case, seed, cli=cli)

    run()
    return hostile.TALLY.cases - before


def strategies(seed: Seed) -> dict[str, Callable[[], st.SearchStrategy[Case]]]:
    return {
        "raw": lambda: hostile.raw_mutation(seed.data),
        "members": lambda: hostile.member_mutation(seed),
    }


@pytest.mark.parametrize("kind", ["raw", "members"])
@pytest.mark.parametrize("seed_name", ["plain", "aes"])
def test_fuzz_bounded(seeds: dict[str, Seed], seed_name: str, kind: str) -> None:
    seed = seeds[seed_name]
    examples = FAST_EXAMPLES if seed.password is None else FAST_EXAMPLES // 2  # AES is slower
    assert fuzz(strategies(seed)[kind](), seed, examples) == examples


def test_crafted_hostile_bundles(seeds: dict[str, Seed]) -> None:
    for case in hostile.crafted_cases(seeds["plain"]):
        check_case(case, seeds["plain"])


def test_untouched_seed_passes_every_check(seeds: dict[str, Seed]) -> None:
    """The harness itself: a real bundle verifies, extracts and shows (exit 0)."""
    for seed in seeds.values():
        accepted = hostile.TALLY.accepted
        check_case(Case("untouched", seed.data, True), seed)
        assert hostile.TALLY.accepted == accepted + 1


def test_markup_and_control_characters_in_a_bundle_print_as_text(
    seeds: dict[str, Seed], tmp_path: Path
) -> None:
    seed = seeds["plain"]
    members = [hostile.Member(n, d) for n, d in seed.members.items()]
    manifest = next(m for m in members if m.name == "manifest.json")
    manifest.data = manifest.data.replace(b'"artifacts/notes/a.txt', b'"[/]\\u001b[2J\\nFAKE: ok')
    manifest.data = manifest.data.replace(b'"case-1"', b'"[bold]x[/bold]\\n"')
    path = tmp_path / "b.zip"
    path.write_bytes(hostile.write_zip(members))
    (tmp_path / "k.pub").write_text(seed.pubkey)
    code, _, err = hostile.run_cli(
        ["bundle", "verify", str(path), "--pubkey", str(tmp_path / "k.pub")]
    )
    assert code == 3 and "Traceback" not in err
    assert "[/]\\x1b[2J\\nFAKE: ok" in err  # escaped, on one line
    assert "\x1b" not in err and "\nFAKE" not in err
    code, _, err = hostile.run_cli(["bundle", "show", str(path)])
    assert code == 0 and "[bold]x[/bold]\\n" in err and "\x1b" not in err


@pytest.mark.slow
def test_through_the_real_command(seeds: dict[str, Seed], tmp_path: Path) -> None:
    """A few cases through `python -m irkit` as a user runs it: exit 3, one line."""
    seed = seeds["plain"]
    at = seed.data.index(b"hello evidence")
    cases = [
        Case("flip", seed.data[:at] + b"j" + seed.data[at + 1 :], False),
        Case("truncated", seed.data[: len(seed.data) // 2], False),
        hostile.crafted_cases(seed)[2],  # the zip bomb
    ]
    (tmp_path / "k.pub").write_text(seed.pubkey)
    for number, case in enumerate(cases):
        bundle = tmp_path / f"{number}.zip"
        bundle.write_bytes(case.data)
        for command in (["verify", str(bundle)], ["extract", str(bundle), str(tmp_path / "o")]):
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "irkit",
                    "bundle",
                    *command,
                    "--pubkey",
                    str(tmp_path / "k.pub"),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, "NO_COLOR": "1"},
            )
            hostile.TALLY.cases += 1
            assert proc.returncode == 3, (case.label, proc.stderr)
            assert "Traceback" not in proc.stderr
            assert sum(line.startswith("irkit: error:") for line in proc.stderr.splitlines()) == 1
            assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_fuzz_many(seeds: dict[str, Seed]) -> None:
    """The larger run: SLOW_EXAMPLES per strategy and seed, memory bounded throughout."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ran = 0
    for seed in seeds.values():
        for case in hostile.crafted_cases(seed, bomb_mib=256, many=5_000):
            check_case(case, seed, cli=False)
            ran += 1
    for seed in seeds.values():
        for make in strategies(seed).values():
            ran += fuzz(make(), seed, SLOW_EXAMPLES, cli=False)
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(f"\nfuzz: {ran} cases in this run, {hostile.TALLY.cases} in the session")
    assert growth < MAX_RSS_GROWTH_KIB, f"peak RSS grew by {growth} KiB"


@pytest.mark.parametrize("kind", ["fifo", "directory", "device", "sidecar-fifo", "sidecar-zero"])
def test_special_files_never_hang_or_crash(
    seeds: dict[str, Seed], tmp_path: Path, kind: str
) -> None:
    """A FIFO or device given as the bundle (or planted as its .sha256) is refused at once."""
    bundle = tmp_path / "b.zip"
    sidecar = tmp_path / "b.zip.sha256"
    if kind == "fifo":
        os.mkfifo(bundle)
    elif kind == "directory":
        bundle.mkdir()
    elif kind == "device":
        bundle.symlink_to("/dev/zero")
    else:
        bundle.write_bytes(seeds["plain"].data)
        if kind == "sidecar-fifo":
            os.mkfifo(sidecar)
        else:
            sidecar.symlink_to("/dev/zero")
    key = ["--pubkey", str(tmp_path / "k.pub")]
    (tmp_path / "k.pub").write_text(seeds["plain"].pubkey)
    code, _, err = hostile.run_cli(["bundle", "verify", str(bundle), *key])
    assert code in (2, 3) and "Traceback" not in err, err
    assert "regular file" in err or "is a directory" in err
    code, _, err = hostile.run_cli(["bundle", "show", str(bundle)])
    assert code in ((0,) if kind.startswith("sidecar") else (2, 3)) and "Traceback" not in err


def test_deeply_nested_custody_line_is_a_failure_not_a_crash(seeds: dict[str, Seed]) -> None:
    """Found by the fuzzer: `[[[[...` in custody.jsonl raised RecursionError (exit 70)."""
    seed = seeds["plain"]
    members = [hostile.Member(n, d) for n, d in seed.members.items()]
    custody = next(m for m in members if m.name == "custody.jsonl")
    custody.data += b"[" * 100_000 + b"]" * 100_000 + b"\n"
    check_case(Case("nested custody", hostile.write_zip(members), False), seed)
