"""The one factory that builds the real outside world."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import docker

from irkit import config
from irkit.engine.clock import Clock, SystemClock
from irkit.engine.commands import CommandRunner, SubprocessRunner
from irkit.engine.docker import connect


@dataclass
class Host:
    """What irkit acts on. The Docker client is connected on first use, so that
    commands which do not need the engine (bundle verify) work without one."""

    commands: CommandRunner
    clock: Clock
    state_dir: Path
    proc_root: Path = Path("/proc")
    _docker: docker.DockerClient | None = field(default=None, repr=False)

    @property
    def docker(self) -> docker.DockerClient:
        if self._docker is None:
            self._docker = connect()
        return self._docker


def real_host() -> Host:
    return Host(commands=SubprocessRunner(), clock=SystemClock(), state_dir=config.state_dir())
