"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/irkit")
DEFAULT_CAPTURE_IMAGE = "nicolaka/netshoot:latest"
LOCAL_CAPTURE_IMAGE = "irkit/capture:local"
SIGNATURE_NAMESPACE = "irkit-evidence"
LABEL_PREFIX = "irkit"


def state_dir() -> Path:
    return Path(os.environ.get("IRKIT_STATE_DIR") or DEFAULT_STATE_DIR)


def capture_image() -> str:
    return os.environ.get("IRKIT_CAPTURE_IMAGE") or DEFAULT_CAPTURE_IMAGE


def signing_key_path() -> Path | None:
    value = os.environ.get("IRKIT_SIGNING_KEY")
    return Path(value) if value else None


SECRET_VARIABLES = ("IRKIT_BUNDLE_PASSWORD",)


def child_environment() -> dict[str, str]:
    """The environment for host commands irkit starts: without its secrets, so a
    password never shows in /proc/PID/environ of iptables, nsenter or tcpdump."""
    return {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}


def bundle_password() -> bytes | None:
    """IRKIT_BUNDLE_PASSWORD, never a command-line argument."""
    value = os.environ.get("IRKIT_BUNDLE_PASSWORD")
    return value.encode() if value else None


def pull_allowed() -> bool:
    """IRKIT_NO_PULL=1 forbids pulling a capture image (air-gapped sites, tests)."""
    return os.environ.get("IRKIT_NO_PULL", "").lower() not in ("1", "true", "yes")
