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


def bundle_password() -> bytes | None:
    """IRKIT_BUNDLE_PASSWORD, never a command-line argument."""
    value = os.environ.get("IRKIT_BUNDLE_PASSWORD")
    return value.encode() if value else None
