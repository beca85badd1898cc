"""Hostile bundles for fuzzing `bundle verify` / `bundle extract`, and the checks
every one of them must pass.

A case is the bytes of a mutated real bundle (signed, plain or AES). `check_case`
runs it through the library (verify_bundle, extract_bundle) and the command line
in process (irkit.cli.main.main), in a jail directory, and asserts: exit 3 or 2
(or 0 only when every member's content is the sealed one), one error line, no
traceback, no file outside the target directory, bounded time.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from irkit.bundle import layout
from irkit.bundle.extract import EXTRACTED_CUSTODY, extract_bundle
from irkit.bundle.verify import TrustPolicy, verify_bundle
from irkit.bundle.writer import BundleWriter
from irkit.cli.main import main
from irkit.errors import IrkitError
from tests.support.bundles import CASE, FixedClock, new_signer, trusting

PASSWORD = b"fuzz-password"
CANARY = Path(tempfile.gettempdir()) / "irkit-fuzz-canary"
CASE_SECONDS = 20.0

HOSTILE_NAMES = [
    "../escape.txt",
    "../../../../../../../../tmp/irkit-fuzz-canary/dotdot",
    "artifacts/../../escape.txt",
    "artifacts/./a",
    "/tmp/irkit-fuzz-canary/abs",
    "//tmp/irkit-fuzz-canary/abs2",
    "artifacts\\..\\..\\win.txt",
    "C:/windows.txt",
    "artifacts/a\x00.txt",
    "artifacts/new\nline",
    "artifacts/[/]markup",
    "artifacts/\x1b[31mred",
    "artifacts/ünïcode",
    "artifacts/" + "a" * 2000,
    "artifacts//double",
    "artifacts/dir/",
    "",
    ".",
    "..",
    layout.MANIFEST,
    EXTRACTED_CUSTODY,
    "artifacts/notes/a.txt",
]


@dataclass(frozen=True)
class Seed:
    """A real sealed bundle, its members and what trusts it."""

    data: bytes
    sidecar: bytes
    members: dict[str, bytes]
    pubkey: str
    policy: TrustPolicy
    password: bytes | None

    def __repr__(self) -> str:
        return f"Seed({'aes' if self.password else 'plain'}, {len(self.data)} bytes)"


def build_seed(workdir: Path, password: bytes | None = None) -> Seed:
    signer = new_signer()
    path = workdir / ("seed-aes.zip" if password else "seed.zip")
    with BundleWriter(path, CASE, FixedClock(), signer=signer, password=password) as writer:
        writer.add_bytes("notes/a.txt", b"hello evidence\n", step="notes", source="test")
        writer.add_stream("logs/x.log", (b"%d\n" % i * 50 for i in range(40)), step="l", source="g")
        writer.add_json("inspect.json", {"Id": "abc"}, step="inspect", source="api")
        writer.seal()
    members = {}
    for name in _names(path):
        members[name] = _read(path, name, password)
    return Seed(
        path.read_bytes(),
        layout.sidecar_path(path).read_bytes(),
        members,
        signer.public_key.openssh() + "\n",
        trusting(signer),
        password,
    )


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def _read(path: Path, name: str, password: bytes | None) -> bytes:
    import pyzipper

    with pyzipper.AESZipFile(path) as zf:
        if password:
            zf.setpassword(password)
        return bytes(zf.read(name))


# -- mutations ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    label: str
    data: bytes
    keep_sidecar: bool


@st.composite
def raw_mutation(draw: st.DrawFn, seed: bytes) -> Case:
    """Byte flips, truncation, insertion or a spliced copy of the file's own bytes."""
    data = bytearray(seed)
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "splice"]))
    if kind == "flip":
        for pos in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
            data[pos] ^= draw(st.integers(1, 255))
    elif kind == "truncate":
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif kind == "insert":
        pos = draw(st.integers(0, len(data)))
        data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
    else:
        start = draw(st.integers(0, len(data) - 1))
        piece = data[start : start + draw(st.integers(1, 512))]
        pos = draw(st.integers(0, len(data) - 1))
        data[pos : pos + len(piece)] = piece
    return Case(kind, bytes(data), draw(st.booleans()))


_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.sampled_from(HOSTILE_NAMES),
    st.text(max_size=40),
)
json_values = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
MANIFEST_KEYS = [
    "format",
    "format_version",
    "bundle_id",
    "case",
    "targets",
    "complete",
    "incomplete_reason",
    "signed",
    "signer",
    "encrypted",
    "steps",
    "artifacts",
]
GARBAGE_DOCUMENTS = [
    b"",
    b"{",
    b"\xff\xfe\x00{",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b"1e999999",
    b'"' + b"\\ud800" * 1000 + b'"',
    b"\x00" * 4096,
    b'{"artifacts": ' + b"[" * 3000 + b"]" * 3000 + b"}",
]


@st.composite
def manifest_change(draw: st.DrawFn, manifest: bytes) -> bytes:
    if draw(st.booleans()):
        return draw(st.sampled_from(GARBAGE_DOCUMENTS))
    try:
        document: dict[str, Any] = json.loads(manifest)
    except (ValueError, RecursionError):  # an earlier change already broke it
        document = {}
    if not isinstance(document, dict):
        document = {}
    for key in draw(st.lists(st.sampled_from(MANIFEST_KEYS), min_size=1, max_size=3)):
        document[key] = draw(json_values)
    if draw(st.booleans()) and isinstance(document.get("artifacts"), list):
        document["artifacts"].append({"path": draw(st.sampled_from(HOSTILE_NAMES))})
    return json.dumps(document, allow_nan=True).encode()


@st.composite
def custody_change(draw: st.DrawFn, custody: bytes) -> bytes:
    lines = custody.splitlines(keepends=True)
    choice = draw(st.sampled_from(["drop", "swap", "edit", "garbage", "long"]))
    if choice == "drop" and lines:
        del lines[draw(st.integers(0, len(lines) - 1))]
    elif choice == "swap" and len(lines) > 1:
        i = draw(st.integers(0, len(lines) - 2))
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif choice == "edit":
        lines.insert(draw(st.integers(0, len(lines))), json.dumps(draw(json_values)).encode())
    elif choice == "garbage":
        lines.append(draw(st.sampled_from(GARBAGE_DOCUMENTS)))
    else:
        lines.append(b'{"seq": 1, "detail": "' + b"x" * 2_000_000 + b'"}\n')
    return b"".join(lines)


METADATA_CHANGES = {
    "manifest": (layout.MANIFEST, manifest_change),
    "custody": (layout.CUSTODY, custody_change),
}
MEMBER_OPS = (
    *("remove", "add", "rename", "duplicate", "replace", "symlink", "device", "dir", "deflate"),
    *METADATA_CHANGES,
)


@dataclass
class Member:
    name: str
    data: bytes
    mode: int = stat.S_IFREG | 0o644
    deflate: bool = False


@st.composite
def member_mutation(draw: st.DrawFn, seed: Seed) -> Case:
    """Members added, removed, renamed, replaced, turned into symlinks; JSON mangled."""
    members = [Member(n, d) for n, d in seed.members.items()]
    labels = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(MEMBER_OPS))
        labels.append(op)
        index = draw(st.integers(0, max(0, len(members) - 1)))
        target = members[index] if members else None
        name = draw(st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(min_size=1, max_size=30)))
        if op == "remove" and target:
            members.remove(target)
        elif op == "add":
            members.append(Member(name, draw(st.binary(max_size=256))))
        elif op == "rename" and target:
            target.name = name
        elif op == "duplicate" and target:
            members.append(Member(target.name, draw(st.binary(max_size=64))))
        elif op == "replace" and target:
            target.data = draw(st.binary(max_size=256))
        elif op == "symlink" and target:
            target.mode = stat.S_IFLNK | 0o777
            target.data = draw(st.sampled_from([b"/etc/passwd", b"../../../../etc/shadow"]))
        elif op == "device" and target:
            target.mode = draw(st.sampled_from([stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO]))
        elif op == "dir":
            members.append(Member(name.rstrip("/") + "/", b"", stat.S_IFDIR | 0o755))
        elif op == "deflate" and target:
            target.deflate = True
        elif op in METADATA_CHANGES:
            meta, change = METADATA_CHANGES[op]
            found = next((m for m in members if m.name == meta), None)
            if found is not None:
                found.data = draw(change(found.data))
    return Case("+".join(labels), write_zip(members), draw(st.booleans()))


def write_zip(members: list[Member]) -> bytes:
    """A zip of `members`; a name with NUL (zipfile would cut it) is patched in byte for byte."""
    buffer = io.BytesIO()
    patches: list[tuple[bytes, bytes]] = []
    with zipfile.ZipFile(buffer, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point
        for number, member in enumerate(members):
            name = member.name
            raw = name.encode("utf-8", "surrogateescape")
            if "\x00" in name and len(raw) >= 8:
                token = f"{number:06d}".encode()
                placeholder = b"\x01" * (len(raw) - len(token)) + token
                patches.append((placeholder, raw))
                name = placeholder.decode()
            info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
            info.external_attr = member.mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED if member.deflate else zipfile.ZIP_STORED
            zf.writestr(info, member.data)
    data = buffer.getvalue()
    for placeholder, raw in patches:
        data = data.replace(placeholder, raw)
    return data


# -- crafted cases ---------------------------------------------------------------


def crafted_cases(seed: Seed, bomb_mib: int = 16, many: int = 1000) -> list[Case]:
    """Fixed hostile constructions that random mutation rarely reaches."""
    cases = [Case("empty file", b"", False), Case("not a zip", b"PK\x03\x04" + b"\0" * 100, False)]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in seed.members.items():
            zf.writestr(name, data)
        zf.writestr("artifacts/bomb", b"\0" * (bomb_mib << 20))
    cases.append(
        Case(f"zip bomb within the deflate ratio ({bomb_mib} MiB)", bomb.getvalue(), False)
    )
    for field, size in ((24, 0xFFFFFFF0), (20, 0xFFFFFFF0), (24, 0), (42, 0x7FFFFFFF)):
        data = bytearray(seed.data)
        central = data.index(b"PK\x01\x02")
        data[central + field : central + field + 4] = size.to_bytes(4, "little")
        cases.append(Case(f"central directory field {field} = {size:#x}", bytes(data), False))
    end = seed.data.rindex(b"PK\x05\x06")
    for field in (8, 10, 12, 16):  # entries on disk, entries, size, offset of the directory
        data = bytearray(seed.data)
        data[end + field : end + field + 2] = b"\xff\xff"
        cases.append(Case(f"end record field {field} = 0xffff", bytes(data), False))
    members = [Member(f"artifacts/m{i}", b"") for i in range(many)]
    cases.append(Case(f"{many} empty members", write_zip(members), False))
    nested = [Member(n, d) for n, d in seed.members.items()]
    nested.append(Member("artifacts/inner.zip", seed.data))
    cases.append(Case("zip inside the zip", write_zip(nested), False))
    return cases


# -- checks ------------------------------------------------------------------------


@dataclass
class Tally:
    cases: int = 0
    cli_runs: int = 0
    accepted: int = 0


TALLY = Tally()


def check_case(case: Case, seed: Seed, *, cli: bool = True) -> None:
    """Every invariant of a hostile bundle, library and CLI, in a fresh jail."""
    TALLY.cases += 1
    jail = Path(tempfile.mkdtemp(prefix="irkit-fuzz-"))
    try:
        box = jail / "a" / "b"
        box.mkdir(parents=True)
        bundle = box / "bundle.zip"
        bundle.write_bytes(case.data)
        if case.keep_sidecar:
            layout.sidecar_path(bundle).write_bytes(seed.sidecar)
        (box / "key.pub").write_text(seed.pubkey)
        (box / "pw").write_bytes(seed.password or b"unused")
        started = time.monotonic()
        _check_library(case, seed, bundle, box / "out")
        if cli:
            _check_cli(case, seed, bundle, box)
        elapsed = time.monotonic() - started
        assert elapsed < CASE_SECONDS, f"{case.label}: took {elapsed:.1f} s"
        _check_jail(jail, box)
    finally:
        shutil.rmtree(jail, ignore_errors=True)
    assert not CANARY.exists(), f"{case.label}: a member escaped to {CANARY}"


def _check_library(case: Case, seed: Seed, bundle: Path, out: Path) -> None:
    report = verify_bundle(bundle, policy=seed.policy, password=seed.password)
    if case.keep_sidecar and case.data != seed.data:
        assert not report.ok, f"{case.label}: changed bytes verified despite the sidecar"
    try:
        extract_bundle(bundle, out, policy=seed.policy, password=seed.password)
    except IrkitError as e:
        assert int(e.exit_code) in (2, 3), f"{case.label}: exit {int(e.exit_code)}: {e}"
        assert not out.exists(), f"{case.label}: failed extraction left {out}"
        return
    TALLY.accepted += 1
    assert report.ok, f"{case.label}: extract accepted what verify refused"
    _assert_sealed_content(case, seed, out)
    shutil.rmtree(out)


def _assert_sealed_content(case: Case, seed: Seed, out: Path) -> None:
    found = {}
    for path in out.rglob("*"):
        assert not path.is_symlink(), f"{case.label}: extraction made a symlink {path}"
        if path.is_file():
            found[path.relative_to(out).as_posix()] = path.read_bytes()
    found.pop(EXTRACTED_CUSTODY)
    assert found == seed.members, f"{case.label}: accepted content differs from the sealed one"


def _check_cli(case: Case, seed: Seed, bundle: Path, box: Path) -> None:
    trust = ["--pubkey", str(box / "key.pub"), "--password-file", str(box / "pw")]
    json_mode = ["--json"] if TALLY.cases % 2 else []
    for command in (
        ["bundle", "verify", str(bundle), *trust],
        ["bundle", "extract", str(bundle), str(box / "cli-out"), *trust],
        ["bundle", "show", str(bundle), "--password-file", str(box / "pw")],
    ):
        TALLY.cli_runs += 1
        code, stdout, stderr = run_cli([*command, *json_mode])
        what = f"{case.label}: {' '.join(command[:2])}"
        assert "Traceback" not in stderr, f"{what}: traceback\n{stderr}"
        if command[1] == "show":
            assert code in (0, 2, 3), f"{what}: exit {code}\n{stderr}"
        elif code == 0:
            assert command[1] == "verify" or (box / "cli-out").is_dir()
        else:
            assert code in (2, 3), f"{what}: exit {code}\n{stderr}"
        if code:
            errors = [line for line in stderr.splitlines() if line.startswith("irkit: error:")]
            assert len(errors) == 1, f"{what}: {len(errors)} error lines\n{stderr}"
        if json_mode:
            document = json.loads(stdout)
            assert isinstance(document, dict), what
        else:
            assert stdout == "", f"{what}: human mode wrote to stdout"
    shutil.rmtree(box / "cli-out", ignore_errors=True)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """irkit's real entry point in process, stdout and stderr captured."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


def _check_jail(jail: Path, box: Path) -> None:
    """Only the case's own files exist in the jail: nothing escaped, nothing left over."""
    allowed = {"bundle.zip", "bundle.zip.sha256", "key.pub", "pw"}
    for root, dirs, files in os.walk(jail):
        here = Path(root)
        for name in dirs + files:
            path = here / name
            if path in (jail / "a", box):
                continue
            assert path.parent == box and name in allowed, f"unexpected file {path}"
