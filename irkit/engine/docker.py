"""The Docker engine through the SDK, with its exceptions translated into ours.

Library code never catches `docker.errors.*` itself: it calls these helpers or
wraps a block in `engine_errors()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import docker
import docker.errors
from docker.models.containers import Container
from docker.utils.socket import SocketError
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import RequestException

from irkit.errors import ContainerNotFound, EngineError, EngineUnavailable

DEFAULT_TIMEOUT = 120


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
    except (RequestException, SocketError) as e:
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
