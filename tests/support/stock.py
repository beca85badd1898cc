"""The stock-tool verification recipe of docs/verify-without-irkit.md, as one helper."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

STOCK_TOOLS = ("7z", "sha256sum", "ssh-keygen")


def have_stock_tools() -> bool:
    return all(shutil.which(t) for t in STOCK_TOOLS)


def _ok(argv: list[str], cwd: Path | None = None, stdin: bytes | None = None) -> str:
    result = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, check=False)
    assert result.returncode == 0, (argv, result.stdout, result.stderr)
    return (result.stdout + result.stderr).decode()


def verify_with_stock_tools(bundle: Path, public_key: Path, workdir: Path) -> None:
    """sha256sum of the bundle, 7z x, sha256sum -c SHA256SUMS, ssh-keygen -Y verify."""
    _ok(["sha256sum", "--strict", "-c", f"{bundle.name}.sha256"], cwd=bundle.parent)
    out = workdir / "extracted"
    _ok(["7z", "x", f"-o{out}", str(bundle)])
    _ok(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=out)
    kind, blob = public_key.read_text().split()[:2]
    allowed = workdir / "allowed_signers"
    allowed.write_text(f"responder {kind} {blob}\n")
    argv = ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "responder"]
    argv += ["-n", "irkit-evidence", "-s", str(out / "SHA256SUMS.sig")]
    assert "Good" in _ok(argv, stdin=(out / "SHA256SUMS").read_bytes())
