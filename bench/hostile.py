"""Hostile-input fuzzing throughput against a raw baseline, in the same run.

1. verify_bundle of the untouched seed vs sha256 of the same bytes (the raw floor)
2. N hypothesis cases per strategy (raw bytes, members) through library checks:
   cases per second and the slowest case, as a ratio to the seed's verify time
3. N playbook cases per strategy: cases per second

Usage: .venv/bin/python bench/hostile.py [--examples 300]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings

from irkit.bundle.verify import verify_bundle
from tests.support import hostile
from tests.unit import test_hostile_playbook as playbook_fuzz


def timed_cases(strategy, seed, examples: int) -> tuple[int, float, float]:
    slowest = 0.0

    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def run(case: hostile.Case) -> None:
        nonlocal slowest
        started = time.perf_counter()
        hostile.check_case(case, seed, cli=False)
        slowest = max(slowest, time.perf_counter() - started)

    before = hostile.TALLY.cases
    started = time.perf_counter()
    run()
    return hostile.TALLY.cases - before, time.perf_counter() - started, slowest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="irkit-bench-hostile-"))
    seed = hostile.build_seed(work)
    path = work / "seed.zip"
    started = time.perf_counter()
    for _ in range(20):
        hashlib.sha256(path.read_bytes()).hexdigest()
    raw = (time.perf_counter() - started) / 20
    started = time.perf_counter()
    for _ in range(20):
        verify_bundle(path, policy=seed.policy)
    verify = (time.perf_counter() - started) / 20
    print(
        f"seed {len(seed.data)} bytes: sha256 {raw * 1e3:.2f} ms, verify {verify * 1e3:.2f} ms"
        f" ({verify / raw:.0f}x the raw hash)"
    )
    total = 0
    for name, strategy in (
        ("raw", hostile.raw_mutation(seed.data)),
        ("members", hostile.member_mutation(seed)),
    ):
        count, elapsed, slowest = timed_cases(strategy, seed, args.examples)
        total += count
        print(
            f"bundle {name}: {count} cases in {elapsed:.1f} s ({count / elapsed:.0f}/s),"
            f" slowest {slowest * 1e3:.0f} ms = {slowest / verify:.0f}x a clean verify"
        )
    for case in hostile.crafted_cases(seed, bomb_mib=256, many=5_000):
        started = time.perf_counter()
        hostile.check_case(case, seed, cli=False)
        total += 1
        print(f"crafted {case.label}: {time.perf_counter() - started:.2f} s")
    for name, strategy in playbook_fuzz.STRATEGIES.items():
        started = time.perf_counter()
        outcomes = playbook_fuzz.fuzz_playbooks(strategy, args.examples)
        count = sum(outcomes.values())
        total += count
        print(
            f"playbook {name}: {count} cases ({outcomes['error']} refused) in"
            f" {time.perf_counter() - started:.1f} s"
        )
    print(f"total fuzz cases: {total}")


if __name__ == "__main__":
    main()
