"""`exec-netstat` (optional): the container's own `netstat -an`, or `ss -an`.

This is what the seed practice did. It runs the container's binaries, which
may be missing or lying, so it is off by default and its output is stored
under untrusted/ with a source that says so.
"""

from __future__ import annotations

from typing import cast

from irkit.bundle.model import ArtifactSink
from irkit.collect.base import Artifact, CollectContext, Detail, Target, register
from irkit.engine.docker import engine_errors
from irkit.errors import EngineError, IrkitError
from irkit.steps import StepSkipped

COMMANDS = (("netstat", "-an"), ("ss", "-an"))
UNTRUSTED = "UNTRUSTED: output of the container's own binary via docker exec"


def _last_line(data: bytes | None) -> str:
    lines = [ln for ln in (data or b"").decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "no output"


def collect_exec_netstat(ctx: CollectContext, target: Target, sink: ArtifactSink) -> Detail:
    if target.status != "running":
        raise StepSkipped(f"container is {target.status}: cannot run commands in it")
    failures: list[str] = []
    for argv in COMMANDS:
        command = " ".join(argv)
        try:
            with engine_errors(f"docker exec {command}"):
                result = target.container.exec_run(list(argv), demux=True)
        except IrkitError as e:
            failures.append(e.message)
            continue
        stdout, stderr = cast("tuple[bytes | None, bytes | None]", result.output)
        if result.exit_code == 0:
            sink.add_bytes(
                target.path("untrusted", "exec-netstat.txt"),
                stdout or b"",
                step=ctx.step,
                source=f"docker exec {command} ({UNTRUSTED})",
            )
            return {"command": command, "untrusted": True}
        failures.append(f"{command}: exit {result.exit_code}: {_last_line(stderr or stdout)}")
    raise EngineError("no netstat or ss ran in the container: " + "; ".join(failures))


register(
    Artifact(
        "exec-netstat",
        "netstat -an (or ss -an) run inside the container; untrusted, not a default",
        order=30,
        default=False,
        per_container=collect_exec_netstat,
    )
)
