"""Local test images, built without any registry, by irkit's own builders.

- victim: a static busybox with its applets, /tmp and /etc/passwd (irkit.engine.images).
- noshell: only a static busybox under a few non-shell applet names (no /bin/sh).
- capture: the host's tcpdump with every library ldd lists (irkit.capture.image).
"""

from __future__ import annotations

import docker

from irkit.capture.image import build_capture_image
from irkit.engine.commands import SubprocessRunner
from irkit.engine.images import ensure_busybox_image, has_image

VICTIM_IMAGE = "irkit-test/victim:2"
NOSHELL_IMAGE = "irkit-test/noshell:2"
CAPTURE_IMAGE = "irkit-test/capture:2"
TEST_LABEL = {"irkit.test": "1"}
NOSHELL_APPLETS = ("sleep", "nc", "ping", "cat", "echo")

BUSYBOX = "/bin/busybox"


def ensure_victim_image(client: docker.DockerClient) -> str:
    return ensure_busybox_image(client, SubprocessRunner(), VICTIM_IMAGE, labels=TEST_LABEL)


def ensure_noshell_image(client: docker.DockerClient) -> str:
    """No shell, no netstat: only busybox named after harmless applets."""
    return ensure_busybox_image(
        client, SubprocessRunner(), NOSHELL_IMAGE, labels=TEST_LABEL, only=NOSHELL_APPLETS
    )


def ensure_capture_image(client: docker.DockerClient, tag: str = CAPTURE_IMAGE) -> str:
    """Built by irkit's own `capture-image build` code, labelled as a test image."""
    if not has_image(client, tag):
        build_capture_image(client, SubprocessRunner(), tag, labels=TEST_LABEL)
    return tag
