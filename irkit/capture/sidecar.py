"""The sidecar method: tcpdump in a throw-away container inside the target's network.

The pcap leaves the sidecar as its stdout over a raw attach stream (Docker's
8-byte multiplexed framing, demultiplexed exactly), never through a host path
or the engine's log files (logging is off). Each sidecar carries its owner
(host, pid, process start) so a later run can tell a live capture from an
orphan of a crashed one.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container
from docker.types import LogConfig
from docker.utils.socket import STDOUT, frames_iter_no_tty
from requests.exceptions import RequestException

from irkit.capture.model import OWNER_LABEL, ROLE_CAPTURE, ROLE_LABEL, TARGET_LABEL, Method
from irkit.capture.source import StderrLog
from irkit.engine.docker import engine_errors
from irkit.engine.owner import owner_alive, owner_tag

# NET_RAW and NET_ADMIN to capture. SETUID and SETGID only because Debian's and
# Ubuntu's tcpdump always switch to their unprivileged 'tcpdump' user right
# after opening the socket (which then leaves them with no capability at all).
CAPABILITIES = ("NET_RAW", "NET_ADMIN", "SETUID", "SETGID")
STOP_TIMEOUT = 10


class SidecarSource:
    method = Method.SIDECAR

    def __init__(
        self, client: docker.DockerClient, target_id: str, image: str, args: list[str]
    ) -> None:
        self.image: str | None = image
        self.image_digest: str | None = None
        self._client = client
        self._log = StderrLog()
        self.ready = self._log.ready
        self._stopped = threading.Event()
        with engine_errors(f"starting a capture sidecar from {image}"):
            self.image_digest = _digest(client.images.get(image).attrs)
            labels = {ROLE_LABEL: ROLE_CAPTURE, TARGET_LABEL: target_id, OWNER_LABEL: owner_tag()}
            self.container: Container = client.containers.create(
                image,
                args,
                entrypoint=["tcpdump"],
                name=f"irkit-capture-{target_id[:12]}-{os.urandom(3).hex()}",
                labels=labels,
                network_mode=f"container:{target_id}",
                cap_drop=["ALL"],
                cap_add=list(CAPABILITIES),
                security_opt=["no-new-privileges"],
                read_only=True,
                restart_policy={"Name": "no"},  # type: ignore[arg-type]
                log_config=LogConfig(type=LogConfig.types.NONE),
                pids_limit=8,
                stdin_open=False,
                tty=False,
            )
        self._id: str = str(self.container.id)
        try:
            with engine_errors("attaching to the capture sidecar"):
                self._socket = client.api.attach_socket(
                    self._id, params={"stdout": 1, "stderr": 1, "stream": 1}
                )
                _no_timeout(self._socket)
                self.container.start()
        except BaseException:
            self._remove()
            raise

    def read(self) -> Iterator[bytes]:
        try:
            for stream, data in frames_iter_no_tty(self._socket):
                if stream == STDOUT:
                    yield _as_bytes(data)
                else:
                    self._log.add(_as_bytes(data))
        except OSError:
            if not self._stopped.is_set():
                raise
        finally:
            with contextlib.suppress(OSError):
                self._socket.close()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(docker.errors.APIError, RequestException):
            self._client.api.kill(self._id, signal="SIGINT")

    def close(self) -> int:
        try:
            status = self._client.api.wait(self._id, timeout=STOP_TIMEOUT)
            return int(status.get("StatusCode", -1))
        except (docker.errors.APIError, RequestException):
            return -1
        finally:
            self._remove()

    def stderr(self) -> str:
        return self._log.text()

    def _remove(self) -> None:
        with contextlib.suppress(docker.errors.APIError, RequestException):
            self.container.remove(force=True)


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _no_timeout(sock: Any) -> None:
    """The attach stream idles while no packet matches: no read timeout on it."""
    for candidate in (sock, getattr(sock, "_sock", None)):
        if candidate is not None and hasattr(candidate, "settimeout"):
            candidate.settimeout(None)


def _digest(attrs: dict[str, Any]) -> str | None:
    repo_digests = attrs.get("RepoDigests") or []
    return str(repo_digests[0]) if repo_digests else attrs.get("Id")


@dataclass(frozen=True)
class Sidecar:
    """A capture sidecar seen on the engine."""

    id: str
    name: str
    target: str
    owner: str
    status: str


def list_sidecars(client: docker.DockerClient) -> list[Sidecar]:
    with engine_errors("listing capture sidecars"):
        containers = client.containers.list(
            all=True, filters={"label": f"{ROLE_LABEL}={ROLE_CAPTURE}"}, ignore_removed=True
        )
    return [
        Sidecar(
            str(c.id),
            c.name or str(c.id)[:12],
            c.labels.get(TARGET_LABEL, ""),
            c.labels.get(OWNER_LABEL, ""),
            c.status,
        )
        for c in containers
    ]


def find_orphans(client: docker.DockerClient) -> list[Sidecar]:
    """Capture sidecars whose irkit process is gone (what `irkit status` reports)."""
    return [s for s in list_sidecars(client) if not owner_alive(s.owner)]


def remove_orphans(client: docker.DockerClient) -> list[Sidecar]:
    """Remove the orphans a crashed run left; return what was removed."""
    removed = []
    for orphan in find_orphans(client):
        with (
            engine_errors(f"removing orphaned capture sidecar {orphan.name}"),
            contextlib.suppress(docker.errors.NotFound),
        ):
            client.api.remove_container(orphan.id, force=True)
            removed.append(orphan)
    return removed
