"""The Docker engine through the SDK, with its exceptions translated into ours.

Library code never catches `docker.errors.*` itself: it calls these helpers or
wraps a block in `engine_errors()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import docker.errors
from docker.models.containers import Container
from requests.exceptions import ConnectionError as RequestsConnectionError

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
    except docker.errors.DockerException as e:
        raise EngineError(f"{what}: {_first_line(e)}") from e


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
