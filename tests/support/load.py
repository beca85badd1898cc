"""Many running containers at once, and irkit's containment timed over them
(shared by tests/integration/test_fault_load.py and bench/load.py)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker

IrkitRun = Callable[..., subprocess.CompletedProcess[str]]


def start_many(
    client: docker.DockerClient,
    image: str,
    count: int,
    labels: dict[str, str],
    network: str,
    workers: int = 8,
) -> list[Any]:
    """`count` containers running `sleep`, started in parallel, all carrying `labels`."""

    def one(index: int) -> Any:
        return client.containers.run(
            image,
            ["sleep", "1d"],
            name=f"irkit-load-{uuid.uuid4().hex[:8]}-{index}",
            labels=labels,
            network=network,
            detach=True,
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(count)))


def iptables_lines(case: str) -> list[str]:
    lines: list[str] = []
    for tool in ("iptables-save", "ip6tables-save"):
        dump = subprocess.run([tool], capture_output=True, text=True)
        lines += [ln for ln in dump.stdout.splitlines() if f"irkit:{case}:" in ln]
    return lines


@dataclass
class LoadFigures:
    running: int
    seconds: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _timed(figures: LoadFigures, name: str, run: IrkitRun, *args: str) -> Any:
    start = time.perf_counter()
    result = run(*args)
    figures.seconds[name] = time.perf_counter() - start
    if result.returncode != 0:
        figures.problems.append(f"{name}: exit {result.returncode}: {result.stderr[-500:]}")
    return result


def exercise(run: IrkitRun, containers: list[Any], isolate: int, case: str) -> LoadFigures:
    """status, triage, isolate of `isolate` containers in one call, status, release;
    checks the state and the rule set after each change."""
    figures = LoadFigures(len(containers))
    chosen = [c.name for c in containers[:isolate]]
    _timed(figures, "status", run, "status", "--json")
    _timed(figures, "triage", run, "triage", chosen[0], "--json")
    _timed(figures, f"isolate {isolate}", run, "isolate", *chosen, "--case", case, "--json")
    rules = iptables_lines(case)
    if len(rules) != 4 * isolate or len(set(rules)) != len(rules):
        figures.problems.append(f"after isolate: {len(rules)} rules, expected {4 * isolate}")
    status = json.loads(_timed(figures, "status isolated", run, "status", "--json").stdout)
    mine = [i for i in status["isolations"] if i["case"] == case]
    if len(mine) != isolate or any(i["phase"] != "applied" for i in mine):
        figures.problems.append(f"state after isolate: {len(mine)} entries")
    if [d for d in status["drift"] if case in d["subject"] or case in d["detail"]]:
        figures.problems.append("drift after isolate")
    _timed(figures, f"release {isolate}", run, "release", *chosen, "--json")
    if iptables_lines(case):
        figures.problems.append("irkit rules left after release")
    status = json.loads(run("status", "--json").stdout)
    if [i for i in status["isolations"] if i["case"] == case]:
        figures.problems.append("state entries left after release")
    return figures
