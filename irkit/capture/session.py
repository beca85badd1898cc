"""A capture running in the background: started before containment, stopped later.

`start_capture` returns once tcpdump listens, so whatever the caller does next
(isolate, collect) is on the record. A reader thread spools the pcap to the
caller's file, hashing as it goes; a timer enforces --seconds; the packet and
byte limits stop tcpdump from the reader. `stop()` always finishes a complete
pcap with its .sha256 and removes the sidecar, whatever happened before.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import docker.errors
from docker.models.containers import Container
from requests.exceptions import RequestException

from irkit.capture import select
from irkit.capture.hostproc import HostSource
from irkit.capture.model import (
    ROLE_CAPTURE,
    ROLE_LABEL,
    CaptureOptions,
    CaptureResult,
    Method,
    is_filter_error,
    parse_counters,
    tcpdump_args,
    tcpdump_error,
)
from irkit.capture.pcap import PcapSpooler
from irkit.capture.sidecar import SidecarSource, remove_orphans
from irkit.capture.source import PacketSource
from irkit.engine.clock import Clock
from irkit.engine.docker import get_container
from irkit.engine.host import Host
from irkit.errors import EnvironmentProblem, UsageError

READY_TIMEOUT = 15.0
JOIN_TIMEOUT = 30.0
TARGET_POLL = 1.0


def _ignore(_message: str) -> None:
    return None


@dataclass(frozen=True)
class Progress:
    packets: int
    bytes: int
    elapsed: float


class CaptureSession:
    """One running capture. Thread-safe enough for one controller thread."""

    def __init__(
        self,
        source: PacketSource,
        spool: PcapSpooler,
        target: Container,
        options: CaptureOptions,
        clock: Clock,
    ) -> None:
        self._source = source
        self._spool = spool
        self._target = target
        self._options = options
        self._clock = clock
        self.started = clock.now()
        self._t0 = clock.monotonic()
        self._reason: str | None = None
        self._error: BaseException | None = None
        self._result: CaptureResult | None = None
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._reader = threading.Thread(target=self._pump, name="irkit-capture", daemon=True)
        self._reader.start()
        watcher = threading.Thread(target=self._watch_target, name="irkit-target", daemon=True)
        watcher.start()
        self._timer: threading.Timer | None = None
        if options.limits.seconds is not None:
            self._timer = threading.Timer(options.limits.seconds, self._request_stop, ["seconds"])
            self._timer.daemon = True

    def _pump(self) -> None:
        try:
            for chunk in self._source.read():
                limit = self._spool.feed(chunk)
                if limit is not None:
                    self._request_stop(limit)
        except BaseException as e:
            self._error = e
            self._request_stop("error")
        finally:
            with self._lock:
                self._reason = self._reason or "tcpdump exited"
            self._finished.set()

    def _watch_target(self) -> None:
        """End the capture, saying why, when the target stops or is removed: its
        network is gone, so tcpdump would otherwise listen to nothing until a limit."""
        client = getattr(self._target, "client", None)
        api = client.api if client is not None else None
        while api is not None and not self._finished.wait(TARGET_POLL):
            try:
                state = api.inspect_container(self._target.id).get("State") or {}
            except docker.errors.NotFound:
                state = {"Status": "removing"}
            except (docker.errors.APIError, RequestException):
                continue  # the engine may be busy or gone: the capture goes on
            status = state.get("Status") or "not running"
            if status == "removing":
                self._request_stop("the target container was removed during the capture")
                return
            if not state.get("Running"):
                self._request_stop(f"the target container stopped during the capture ({status})")
                return

    def _request_stop(self, reason: str) -> None:
        with self._lock:
            if self._reason is None:
                self._reason = reason
        self._source.stop()

    def _await_listening(self) -> None:
        deadline = self._clock.monotonic() + READY_TIMEOUT
        while not self._source.ready.wait(0.05):
            if self._finished.is_set() or self._clock.monotonic() > deadline:
                break
        if not self._source.ready.is_set():
            self._request_stop("failed to start")
            self._reader.join(JOIN_TIMEOUT)
            self._spool.discard()
            code = self._source.close()
            if self._error is not None:
                raise EnvironmentProblem(f"capture failed: {self._error}") from self._error
            message = tcpdump_error(self._source.stderr())
            if is_filter_error(message) and self._options.bpf_filter:
                raise UsageError(f"invalid capture filter: {message}")
            raise EnvironmentProblem(
                f"tcpdump did not start ({self._source.method.value}, exit {code}): {message}"
            )
        if self._timer is not None:
            self._timer.start()

    @property
    def finished(self) -> bool:
        """True once tcpdump has ended by itself (a limit, or the target went away)."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def progress(self) -> Progress:
        return Progress(self._spool.packets, self._spool.size, self._clock.monotonic() - self._t0)

    @property
    def method_label(self) -> str:
        if self._source.method is Method.SIDECAR:
            return f"sidecar ({self._source.image})"
        return "host tcpdump (nsenter)"

    def stop(self, reason: str = "stopped") -> CaptureResult:
        """Stop tcpdump, finish the pcap and its .sha256, remove the sidecar. Idempotent."""
        if self._result is not None:
            return self._result
        if self._timer is not None:
            self._timer.cancel()
        self._request_stop(reason)
        self._reader.join(JOIN_TIMEOUT)
        code = self._source.close()
        self._reader.join(JOIN_TIMEOUT)
        spooled = self._spool.finish()
        stderr = self._source.stderr()
        reason = self._reason or "stopped"
        if self._error is not None:
            reason = f"error: {self._error}"
        elif code != 0:
            reason = f"{reason}; tcpdump exit {code}: {tcpdump_error(stderr)}"
        self._result = CaptureResult(
            method=self._source.method,
            target_id=str(self._target.id),
            target_name=self._target.name or str(self._target.id)[:12],
            image=self._source.image,
            image_digest=self._source.image_digest,
            interface=self._options.interface,
            bpf_filter=self._options.bpf_filter,
            limits=self._options.limits,
            started=self.started,
            ended=self._clock.now(),
            stop_reason=reason,
            packets=spooled.packets,
            bytes=spooled.size,
            counters=parse_counters(stderr),
            sha256=spooled.sha256,
            path=spooled.path,
        )
        return self._result


def check_target(target: Container) -> None:
    if target.labels.get(ROLE_LABEL) == ROLE_CAPTURE:
        raise UsageError(f"{target.name} is itself an irkit capture sidecar: capture its target")
    if target.status not in ("running", "paused"):
        raise UsageError(
            f"container {target.name} is {target.status}: nothing to capture",
            hint="a stopped container has no network; start it, or collect its files instead",
        )


def start_capture(
    host: Host,
    ref: str,
    options: CaptureOptions,
    out: Path,
    notice: select.Notice = _ignore,
) -> CaptureSession:
    """Start capturing `ref`'s traffic into `out` (a .pcap path); returns once listening.

    Removes sidecars orphaned by crashed runs first. `notice` hears what the
    user must be told (a pull, a fallback to the host method).
    """
    client = host.docker
    for orphan in remove_orphans(client):
        notice(f"removed orphaned capture sidecar {orphan.name} (target {orphan.target[:12]})")
    target = get_container(client, ref)
    check_target(target)
    plan = select.choose(client, host.commands, options, notice)
    args = tcpdump_args(options)
    out.parent.mkdir(parents=True, exist_ok=True)
    limits = options.limits
    spool = PcapSpooler(
        out, max_packets=limits.max_packets, max_bytes=limits.max_bytes, interface=options.interface
    )
    source: PacketSource
    try:
        if plan.method is Method.SIDECAR:
            assert plan.image is not None
            source = SidecarSource(client, str(target.id), plan.image, args)
        else:
            pid = int(target.attrs.get("State", {}).get("Pid") or 0)
            if pid <= 0:
                raise UsageError(f"container {target.name} has no process: nothing to capture")
            source = HostSource(host.proc_root, pid, args)
    except BaseException:
        spool.discard()
        raise
    session = CaptureSession(source, spool, target, options, host.clock)
    try:
        session._await_listening()
    except KeyboardInterrupt:
        session.stop("interrupted")
        raise
    return session
