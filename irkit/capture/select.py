"""Choosing how to capture: a local capture image, a pull (said aloud), or the host."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import docker
import docker.errors
from requests.exceptions import RequestException

from irkit import config
from irkit.capture.model import CaptureOptions, Method
from irkit.engine.commands import CommandRunner
from irkit.engine.images import has_image
from irkit.errors import EnvironmentProblem

Notice = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    method: Method
    image: str | None = None


def host_available(commands: CommandRunner) -> bool:
    return commands.which("tcpdump") is not None and commands.which("nsenter") is not None


def choose(
    client: docker.DockerClient,
    commands: CommandRunner,
    options: CaptureOptions,
    notice: Notice,
) -> Plan:
    """Sidecar from a local image, else a pull if allowed, else the host's tcpdump."""
    if options.method is Method.HOST:
        if not host_available(commands):
            raise _no_method("the host has no tcpdump or no nsenter", options)
        return Plan(Method.HOST)
    wanted = options.image or config.capture_image()
    candidates = [wanted] if options.image else [wanted, config.LOCAL_CAPTURE_IMAGE]
    for name in candidates:
        if has_image(client, name):
            return Plan(Method.SIDECAR, name)
    if options.allow_pull and config.pull_allowed() and _pull(client, wanted, notice):
        return Plan(Method.SIDECAR, wanted)
    if options.method is Method.SIDECAR:
        raise _no_method(f"capture image {wanted} is not present locally", options)
    if host_available(commands):
        notice(f"capture image {wanted} not available: capturing with the host's tcpdump")
        return Plan(Method.HOST)
    raise _no_method(f"no capture image ({wanted}) and no host tcpdump/nsenter", options)


def _pull(client: docker.DockerClient, image: str, notice: Notice) -> bool:
    notice(f"pulling capture image {image} (--no-pull forbids this)")
    try:
        client.images.pull(image)
    except (docker.errors.APIError, RequestException) as e:
        notice(f"pull of {image} failed: {str(e).strip().splitlines()[0]}")
        return False
    return True


def _no_method(reason: str, options: CaptureOptions) -> EnvironmentProblem:
    pull = (
        "pull an image"
        if options.allow_pull and config.pull_allowed()
        else "allow a pull (without --no-pull or IRKIT_NO_PULL)"
    )
    return EnvironmentProblem(
        f"no capture method available: {reason}",
        hint=(
            "build a local image with 'irkit capture-image build', "
            f"install tcpdump and nsenter on the host (apt-get install tcpdump util-linux), "
            f"or {pull} with --capture-image IMAGE"
        ),
    )
