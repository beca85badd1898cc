"""The Docker engine through the SDK, with its exceptions translated into ours.

Library code never catches `docker.errors.*` itself: it calls these helpers or
wraps a block in `engine_errors()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import docker
import docker.errors
import urllib3.exceptions
from docker.models.containers import Container
from docker.utils.socket import SocketError
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import RequestException

from irkit.errors import ContainerNotFound, EngineError, EngineUnavailable, UsageError

DEFAULT_TIMEOUT = 120
# What the engine accepts as a container name (or an id, or its prefix). Anything
# else is refused before it reaches the API's URL path: "x/../../images/foo" would
# otherwise be resolved by the HTTP client into another endpoint.
_CONTAINER_REF = re.compile(r"/?[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


def connect(timeout: int = DEFAULT_TIMEOUT) -> docker.DockerClient:
    """A client that has already answered a ping."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, RequestsConnectionError) as e:
        raise EngineUnavailable(_first_line(e)) from e
    return client


@contextmanager
def engine_errors(what: str) -> Iterator[None]:
    """Translate SDK errors raised inside the block; `what` names the operation."""
    try:
        yield
    except docker.errors.NotFound as e:
        raise EngineError(f"{what}: not found: {_explanation(e)}") from e
    except docker.errors.APIError as e:
        raise EngineError(f"{what}: {_explanation(e)}") from e
    except RequestsConnectionError as e:
        raise EngineUnavailable(_first_line(e)) from e
    except (RequestException, SocketError, urllib3.exceptions.HTTPError) as e:
        # A stream cut short (engine killed, container removed): whether the
        # engine is gone is for the caller to ask (`engine_answers`).
        raise EngineError(f"{what}: the engine's stream broke: {_first_line(e)}") from e
    except docker.errors.DockerException as e:
        raise EngineError(f"{what}: {_first_line(e)}") from e


def engine_answers(client: docker.DockerClient, timeout: float = 5) -> str | None:
    """None when the engine answers a ping, else why not (one line)."""
    api = client.api
    try:
        response = api.get(f"{api.base_url}/_ping", timeout=timeout)
    except RequestException as e:
        return _first_line(e)
    return None if response.ok else f"ping answered {response.status_code}"


def get_container(client: docker.DockerClient, ref: str) -> Container:
    """Look a container up by name or id; unknown gives `ContainerNotFound`."""
    if not _CONTAINER_REF.fullmatch(ref):
        raise UsageError(
            f"invalid container name or id: {ref[:80]!r}",
            hint="a name is letters, digits, '_', '.' or '-'; or give the container id",
        )
    try:
        return client.containers.get(ref)
    except docker.errors.NotFound as e:
        raise ContainerNotFound(ref) from e
    except docker.errors.APIError as e:
        raise EngineError(f"looking up container {ref}: {_explanation(e)}") from e
    except RequestsConnectionError as e:
        raise EngineUnavailable(_first_line(e)) from e


def _explanation(e: docker.errors.APIError) -> str:
    return str(e.explanation or e).strip()


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


FRAME_HEADER = 8
READ_BYTES = 1 << 20


def log_stream(
    client: docker.DockerClient,
    container_id: str,
    *,
    stream: str,
    tty: bool,
    since: float | None,
    until: float | None,
) -> Iterator[bytes]:
    """One of a container's log streams, with timestamps, as large blocks of lines.

    The SDK parses the engine's multiplexed stream frame by frame, a few system
    calls per log line; this reads the response in 1 MiB blocks and strips the
    8-byte frame headers itself (a TTY container's log has none).
    """
    api: Any = client.api
    params: dict[str, Any] = {
        "stdout": int(stream == "stdout"),
        "stderr": int(stream == "stderr"),
        "timestamps": 1,
        "follow": 0,
        "tail": "all",
    }
    if since is not None:
        params["since"] = since
    if until is not None:
        params["until"] = until
    with engine_errors(f"docker logs --{stream}"):
        response = api._get(
            api._url("/containers/{0}/logs", container_id), params=params, stream=True
        )
        api._raise_for_status(response)
        blocks = _read_blocks(response.raw)
        yield from blocks if tty else _strip_frame_headers(blocks)


def _read_blocks(raw: Any) -> Iterator[bytes]:
    """Blocks of up to READ_BYTES however the engine chunked its response."""
    while block := raw.read(READ_BYTES):
        yield block


def _strip_frame_headers(blocks: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for block in blocks:
        data = pending + block if pending else block
        out = bytearray()
        offset, end = 0, len(data)
        while end - offset >= FRAME_HEADER:
            size = int.from_bytes(data[offset + 4 : offset + 8], "big")
            if end - offset - FRAME_HEADER < size:
                break
            start = offset + FRAME_HEADER
            out += data[start : start + size]
            offset = start + size
        pending = data[offset:]
        if out:
            yield bytes(out)
    if pending:
        raise EngineError(f"log stream ended inside a frame ({len(pending)} bytes left over)")
