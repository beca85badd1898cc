"""What containment did, on disk: one JSON state file, a lock, an audit log.

The state is written before anything is applied and updated after, with an
atomic rename, under an exclusive `flock`, so a crash half-way leaves an entry
that `status` shows and `release` can finish, and two irkit processes cannot
interleave their changes.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from irkit.contain.rules import Rule, rule_from_dict, rule_to_dict
from irkit.contain.spec import BlockSpec, Mode, block_spec
from irkit.engine.files import write_atomic
from irkit.errors import EnvironmentProblem

STATE_FILE = "state.json"
LOCK_FILE = "state.lock"
AUDIT_FILE = "audit.jsonl"
FORMAT = 1


@dataclass(frozen=True)
class Endpoint:
    """A network attachment recorded before disconnecting, to restore it exactly."""

    network: str
    network_id: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class IsolationEntry:
    container_id: str
    name: str
    case: str
    modes: tuple[Mode, ...]
    started: str
    phase: str  # applying | applied | partial | releasing
    rules: tuple[Rule, ...] = ()
    allow: tuple[str, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    restart_policy: Mapping[str, Any] | None = None
    was_paused: bool = False
    was_running: bool = True
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "container_id": self.container_id,
            "name": self.name,
            "case": self.case,
            "modes": [m.value for m in self.modes],
            "started": self.started,
            "phase": self.phase,
            "rules": [rule_to_dict(r) for r in self.rules],
            "allow": list(self.allow),
            "endpoints": [asdict(e) for e in self.endpoints],
            "restart_policy": dict(self.restart_policy) if self.restart_policy else None,
            "was_paused": self.was_paused,
            "was_running": self.was_running,
            "errors": list(self.errors),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IsolationEntry:
        return cls(
            container_id=data["container_id"],
            name=data["name"],
            case=data["case"],
            modes=tuple(Mode(m) for m in data["modes"]),
            started=data["started"],
            phase=data["phase"],
            rules=tuple(rule_from_dict(r) for r in data.get("rules", ())),
            allow=tuple(data.get("allow", ())),
            endpoints=tuple(
                Endpoint(
                    **{
                        **e,
                        "aliases": tuple(e.get("aliases") or ()),
                        "links": tuple(e.get("links") or ()),
                    }
                )
                for e in data.get("endpoints", ())
            ),
            restart_policy=data.get("restart_policy"),
            was_paused=bool(data.get("was_paused")),
            was_running=bool(data.get("was_running", True)),
            errors=tuple(data.get("errors", ())),
        )


@dataclass(frozen=True)
class BlockEntry:
    spec: BlockSpec
    case: str
    started: str
    phase: str  # applying | applied
    rules: tuple[Rule, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": str(self.spec.network),
            "port": self.spec.port,
            "proto": self.spec.proto,
            "direction": self.spec.direction.value,
            "case": self.case,
            "started": self.started,
            "phase": self.phase,
            "rules": [rule_to_dict(r) for r in self.rules],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlockEntry:
        spec = block_spec(data["network"], data.get("port"), data.get("proto"), data["direction"])
        rules = tuple(rule_from_dict(r) for r in data.get("rules", ()))
        return cls(spec, data["case"], data["started"], data["phase"], rules)


@dataclass
class State:
    isolations: dict[str, IsolationEntry] = field(default_factory=dict)
    blocks: dict[str, BlockEntry] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "isolations": {k: v.to_dict() for k, v in self.isolations.items()},
            "blocks": {k: v.to_dict() for k, v in self.blocks.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        return cls(
            {k: IsolationEntry.from_dict(v) for k, v in (data.get("isolations") or {}).items()},
            {k: BlockEntry.from_dict(v) for k, v in (data.get("blocks") or {}).items()},
        )


class StateStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _prepare(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            raise EnvironmentProblem(
                f"cannot create state directory {self.directory}: {e.strerror}",
                hint="run as root or set IRKIT_STATE_DIR to a writable directory",
            ) from e

    @contextmanager
    def locked(self) -> Iterator[State]:
        """The current state, held under an exclusive lock until the block ends."""
        self._prepare()
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self.load()
        finally:
            os.close(fd)  # closing releases the lock

    def load(self) -> State:
        path = self.directory / STATE_FILE
        try:
            text = path.read_text()
        except FileNotFoundError:
            return State()
        except OSError as e:
            raise EnvironmentProblem(f"cannot read {path}: {e.strerror}") from e
        try:
            return State.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError) as e:
            raise EnvironmentProblem(
                f"containment state {path} is unreadable: {e}",
                hint="inspect it by hand; irkit never guesses what was applied",
            ) from e

    def save(self, state: State) -> None:
        """Atomically replace the state file (write, fsync, rename, fsync the directory)."""
        data = json.dumps(state.to_dict(), sort_keys=True).encode()  # C encoder: no indent
        write_atomic(self.directory / STATE_FILE, data)

    def audit(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append JSON lines to the audit log in one write."""
        if not records:
            return
        actor = os.environ.get("SUDO_USER") or str(os.geteuid())
        lines = "".join(
            json.dumps({**r, "actor": actor, "pid": os.getpid()}, sort_keys=True) + "\n"
            for r in records
        )
        fd = os.open(self.directory / AUDIT_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, lines.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
