"""Test harness: the real engine, local images, and exact cleanup.

Integration tests carry the `docker` marker. Without an engine they skip on a
developer's machine and fail in CI (CI=true), never silently pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import hypothesis
import pytest

from tests.support import cleanup, images
from tests.support.faults import irkit_env

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# No registry is reachable here, and tests send no packet beyond their own
# containers: irkit must never try to pull a capture image during the suite.
os.environ["IRKIT_NO_PULL"] = "1"

# CI replays the same examples every run (a red CI must be reproducible);
# developers' runs keep exploring new ones.
hypothesis.settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if IN_CI:
    hypothesis.settings.load_profile("ci")


def unique(prefix: str = "irkit-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as e:
        message = f"no Docker engine answers ({e}); run scripts/ensure-docker"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield client
    client.close()


@pytest.fixture(scope="session")
def victim_image(docker_client: docker.DockerClient) -> str:
    return images.ensure_victim_image(docker_client)


@pytest.fixture(scope="session")
def noshell_image(docker_client: docker.DockerClient) -> str:
    return images.ensure_noshell_image(docker_client)


@pytest.fixture(scope="session")
def capture_image(docker_client: docker.DockerClient) -> str:
    return images.ensure_capture_image(docker_client)


@pytest.fixture
def test_run_label() -> str:
    """A label value unique to this test: everything it creates carries it."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def case_id() -> str:
    """A case id unique to this test; irkit rules carry it in their comment."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("IRKIT_STATE_DIR", str(path))
    return path


@pytest.fixture
def make_network(
    docker_client: docker.DockerClient, test_run_label: str
) -> Iterator[Callable[..., Any]]:
    def factory(**kwargs: Any) -> Any:
        labels = {**images.TEST_LABEL, "irkit.test.run": test_run_label, **kwargs.pop("labels", {})}
        return docker_client.networks.create(kwargs.pop("name", unique()), labels=labels, **kwargs)

    yield factory
    cleanup.remove_labelled(docker_client, f"irkit.test.run={test_run_label}")


@pytest.fixture
def make_container(
    docker_client: docker.DockerClient,
    victim_image: str,
    test_run_label: str,
    make_network: Callable[..., Any],
) -> Iterator[Callable[..., Any]]:
    """Start a container (victim image by default); removed after the test."""

    def factory(command: str | list[str] | None = None, **kwargs: Any) -> Any:
        labels = {**images.TEST_LABEL, "irkit.test.run": test_run_label, **kwargs.pop("labels", {})}
        kwargs.setdefault("detach", True)
        return docker_client.containers.run(
            kwargs.pop("image", victim_image),
            command,
            name=kwargs.pop("name", unique()),
            labels=labels,
            **kwargs,
        )

    yield factory
    cleanup.remove_labelled(docker_client, f"irkit.test.run={test_run_label}")


@pytest.fixture
def iptables_guard(case_id: str) -> Iterator[str]:
    """Removes every rule irkit made for this test's case, pass or fail."""
    yield case_id
    cleanup.remove_rules(f"irkit:{case_id}:")


@pytest.fixture
def irkit_cli(state_dir: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real `irkit` command line as a user would (a new process)."""

    def run(
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "irkit", *args],
            input=input,
            capture_output=True,
            text=True,
            env=irkit_env(state_dir, env),
            timeout=timeout,
        )

    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI, sweep anything a crashed test left: test containers and irkit rules."""
    if not IN_CI:
        return
    try:
        client = docker.from_env(timeout=30)
        cleanup.remove_labelled(client, cleanup.test_label_filter())
    except Exception:
        return
    cleanup.remove_rules("irkit:")
