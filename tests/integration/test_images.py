"""The busybox images irkit builds for the demo and the tests, run for real."""

from __future__ import annotations

import uuid

import pytest

from irkit.engine.commands import SubprocessRunner
from irkit.engine.images import ensure_busybox_image
from tests.support.images import NOSHELL_APPLETS, TEST_LABEL

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("only", [None, NOSHELL_APPLETS], ids=["applets", "noshell"])
def test_built_image_runs(docker_client, only) -> None:
    tag = f"irkit-test/image-check:{uuid.uuid4().hex[:8]}"
    ensure_busybox_image(docker_client, SubprocessRunner(), tag, labels=TEST_LABEL, only=only)
    try:
        out = docker_client.containers.run(tag, ["cat", "/etc/passwd"], remove=True)
        assert out.startswith(b"root:x:0:0")
        image = docker_client.images.get(tag)
        assert image.labels["irkit.test"] == "1"
        shell = docker_client.containers.run(tag, ["ls", "/bin"], remove=True) if not only else b""
        assert (b"sh\n" in shell) is (only is None)
    finally:
        docker_client.images.remove(tag, force=True)
