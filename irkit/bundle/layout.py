"""The fixed layout of a bundle: member names, name rules, and the SHA256SUMS format.

Shared by the writer and the verifier so both apply the same rules.
"""

from __future__ import annotations

import re
from pathlib import Path

from irkit.bundle.model import ARTIFACTS_DIR
from irkit.engine.files import sha256_file_path
from irkit.errors import UsageError

FORMAT_NAME = "irkit-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CUSTODY = "custody.jsonl"
SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
SIGNER = "signer.pub"
UNSUMMED = frozenset({SUMS, SIGNATURE})

_COMPONENT = re.compile(r"[A-Za-z0-9._@+=,:-]+")
_SUMS_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
MAX_NAME = 1024


def name_problem(name: str) -> str | None:
    """Why `name` is not an acceptable member name, or None."""
    if not name or len(name) > MAX_NAME:
        return "empty or overlong name"
    if name.startswith("/") or "\\" in name or "\x00" in name:
        return "absolute name, backslash or NUL"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return "empty, '.' or '..' path component"
        if not _COMPONENT.fullmatch(part):
            return f"unsupported characters in {part!r}"
    return None


def artifact_member(path: str) -> str:
    """The member name for an artifact path relative to artifacts/; refuses unsafe paths."""
    name = f"{ARTIFACTS_DIR}/{path}"
    problem = name_problem(name)
    if problem:
        raise UsageError(f"bad artifact path {path!r}: {problem}")
    return name


def format_sums(entries: list[tuple[str, str]]) -> bytes:
    """`sha256sum` text-mode lines: HASH, two spaces, NAME."""
    return "".join(f"{digest}  {name}\n" for name, digest in entries).encode()


def parse_sums(data: bytes) -> tuple[dict[str, str], list[str]]:
    """Name -> hash from SHA256SUMS, and the problems found in it."""
    sums: dict[str, str] = {}
    problems: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}, ["SHA256SUMS is not UTF-8 text"]
    for number, line in enumerate(text.splitlines(), start=1):
        match = _SUMS_LINE.fullmatch(line)
        if not match:
            problems.append(f"SHA256SUMS line {number} is malformed")
            continue
        digest, name = match.groups()
        if name in sums:
            problems.append(f"SHA256SUMS lists {name} twice")
        sums[name] = digest
    return sums, problems


def sidecar_path(bundle: Path) -> Path:
    """BUNDLE.sha256 beside the bundle, for transfer logs."""
    return sha256_file_path(bundle)


def partial_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".partial")
