"""BundleWriter: the real ArtifactSink, streaming evidence into a sealed ZIP64 bundle.

Each artifact flows from its source into the zip while its SHA-256 is computed
in the same pass; the whole bundle file is hashed as it is written (the zip is
written append-only, with data descriptors), so memory stays constant and no
byte is read twice. The bundle appears under its final name only once sealed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import stat
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import pyzipper

from irkit.bundle import journal, layout
from irkit.bundle.custody import Actor, CustodyChain, current_actor
from irkit.bundle.facts import HostFacts, gather_host_facts
from irkit.bundle.manifest import CaseInfo, build_manifest, to_json_bytes
from irkit.bundle.model import ArtifactRecord, StepRecord, TargetInfo
from irkit.bundle.sshsig import Signer
from irkit.engine.clock import Clock
from irkit.engine.files import fsync_dir, write_sha256_file
from irkit.errors import EnvironmentProblem, SinkBroken, UsageError

FILE_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class SealedBundle:
    path: Path
    sha256: str
    size: int
    signed: bool
    signer_fingerprint: str | None
    artifact_count: int
    complete: bool


class BundleWriteError(SinkBroken):
    """The bundle file could not be written (disk full, I/O error)."""


class _HashingOutput:
    """Append-only file wrapper: hashes every byte written and refuses to seek,
    which makes the zip writer use data descriptors instead of seeking back."""

    def __init__(self, raw: BinaryIO, path: Path) -> None:
        self._raw = raw
        self._path = path
        self.sha256 = hashlib.sha256()
        self.position = 0

    def write(self, data: bytes) -> int:
        try:
            self._raw.write(data)
        except OSError as e:
            raise BundleWriteError(f"cannot write bundle {self._path}: {e.strerror}") from e
        self.sha256.update(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        raise io.UnsupportedOperation("the bundle is written append-only")

    def flush(self) -> None:
        self._raw.flush()


def _describe(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class BundleWriter:
    """Write evidence into BUNDLE.partial, then `seal()` publishes it as BUNDLE.

    Use as a context manager: if the block raises, what was collected is sealed
    as incomplete (never lost) and the exception propagates.
    """

    def __init__(
        self,
        path: Path,
        case: CaseInfo,
        clock: Clock,
        *,
        signer: Signer | None = None,
        password: bytes | None = None,
        force: bool = False,
        host_facts: HostFacts | None = None,
        actor: Actor | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.path = Path(path)
        self.case = case
        self.clock = clock
        self.signer = signer
        self.force = force
        self.bundle_id = str(uuid.uuid4())
        self.host_facts = host_facts or gather_host_facts(None)
        self.started = clock.now()
        self._encrypted = bool(password)
        self._entries: list[tuple[str, str]] = []
        self._artifacts: list[ArtifactRecord] = []
        self._steps: list[StepRecord] = []
        self._targets: list[TargetInfo] = []
        self._sealed: SealedBundle | None = None
        self._failed = False
        self._check_destination()
        self._partial = layout.partial_path(self.path)
        try:
            raw = open(self._partial, "xb", buffering=FILE_BUFFER)  # noqa: SIM115
        except FileExistsError as e:
            raise UsageError(
                f"{self._partial} exists: another run is writing it, or one was killed",
                hint="'irkit status' tells which; 'irkit status --clean' removes a killed run's",
            ) from e
        except OSError as e:
            raise EnvironmentProblem(f"cannot create {self._partial}: {e.strerror}") from e
        self._note = journal.note(state_dir, self.bundle_id, self._partial) if state_dir else None
        self._raw = raw
        self._out = _HashingOutput(raw, self.path)
        try:
            self._zip = pyzipper.AESZipFile(
                self._out,
                "w",
                compression=pyzipper.ZIP_STORED,
                allowZip64=True,
                encryption=pyzipper.WZ_AES if password else None,
            )
            if password:
                self._zip.setpassword(password)
            self._chain = CustodyChain(self.bundle_id, actor or current_actor(), clock)
            self._chain.append("opened", f"bundle opened for case {case.case_id}")
        except BaseException:
            raw.close()
            self._partial.unlink(missing_ok=True)
            raise

    # -- destination ---------------------------------------------------------

    def _check_destination(self) -> None:
        if not self.path.parent.is_dir():
            raise UsageError(f"directory {self.path.parent} does not exist")
        if self.force:
            return
        for existing in (self.path, layout.sidecar_path(self.path)):
            if existing.exists() or existing.is_symlink():
                raise UsageError(f"{existing} exists; refusing to overwrite it", hint="--force")

    # -- ArtifactSink ----------------------------------------------------------

    def add_stream(
        self, path: str, chunks: Iterable[bytes], *, step: str, source: str
    ) -> ArtifactRecord:
        """Stream `chunks` into artifacts/PATH; a source that fails part-way keeps
        the bytes received, is recorded with its error, and its exception propagates."""
        name = layout.artifact_member(path)
        if any(name == existing for existing, _ in self._entries):
            raise UsageError(f"artifact {name} was already written")
        collected_at = self.clock.now()
        digest, size, source_error = self._write_member(name, chunks)
        record = ArtifactRecord(
            name,
            size,
            digest,
            step,
            source,
            collected_at,
            None if source_error is None else _describe(source_error),
        )
        self._artifacts.append(record)
        self._chain.append("collected", name, sha256=digest, size=size, step=step)
        if source_error is not None:
            raise source_error
        return record

    def add_bytes(self, path: str, data: bytes, *, step: str, source: str) -> ArtifactRecord:
        return self.add_stream(path, [data], step=step, source=source)

    def add_json(self, path: str, document: Any, *, step: str, source: str) -> ArtifactRecord:
        return self.add_stream(path, [to_json_bytes(document)], step=step, source=source)

    def record_step(self, step: StepRecord) -> None:
        self._steps.append(step)

    def add_target(self, target: TargetInfo) -> None:
        self._targets.append(target)

    def custody(self, action: str, detail: str) -> None:
        self._chain.append(action, detail)

    @property
    def artifacts(self) -> tuple[ArtifactRecord, ...]:
        return tuple(self._artifacts)

    @property
    def steps(self) -> tuple[StepRecord, ...]:
        return tuple(self._steps)

    # -- writing -------------------------------------------------------------

    def _write_member(
        self, name: str, chunks: Iterable[bytes]
    ) -> tuple[str, int, BaseException | None]:
        self._check_writable()
        moment = self.clock.now().timetuple()[:6]
        info = self._zip.zipinfo_cls(name, date_time=max(moment, (1980, 1, 1, 0, 0, 0)))
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        info.compress_type = pyzipper.ZIP_STORED
        digest = hashlib.sha256()
        size = 0
        source_error: BaseException | None = None
        try:
            with self._zip.open(info, "w", force_zip64=True) as member:
                iterator = iter(chunks)
                while True:
                    try:
                        chunk = next(iterator)
                    except StopIteration:
                        break
                    except BaseException as e:  # the source failed: keep what arrived
                        source_error = e
                        break
                    digest.update(chunk)
                    member.write(chunk)
                    size += len(chunk)
        except BaseException:
            self._failed = True
            raise
        self._entries.append((name, digest.hexdigest()))
        return digest.hexdigest(), size, source_error

    def _check_writable(self) -> None:
        if self._sealed is not None:
            raise UsageError(f"bundle {self.path} is already sealed")
        if self._failed:
            raise BundleWriteError(f"bundle {self.path} failed earlier and cannot be written")

    # -- sealing -------------------------------------------------------------

    def seal(self, complete: bool = True, reason: str | None = None) -> SealedBundle:
        """Write manifest, custody, sums and signature; publish atomically."""
        if self._sealed is not None:
            return self._sealed
        try:
            self._check_writable()
            self._write_trailer(complete, reason)
            self._zip.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()
            self._publish()
        except BaseException as e:
            self._abort()
            if isinstance(e, OSError):
                raise BundleWriteError(f"cannot seal bundle {self.path}: {e.strerror}") from e
            raise
        digest = self._out.sha256.hexdigest()
        self._write_sidecar(digest)
        self._sealed = SealedBundle(
            path=self.path,
            sha256=digest,
            size=self._out.position,
            signed=self.signer is not None,
            signer_fingerprint=self.signer.fingerprint if self.signer else None,
            artifact_count=len(self._artifacts),
            complete=complete,
        )
        return self._sealed

    def _write_trailer(self, complete: bool, reason: str | None) -> None:
        state = "complete" if complete else f"incomplete: {reason or 'unknown reason'}"
        self._chain.append("sealed", f"{len(self._artifacts)} artifacts, {state}")
        signer = None
        if self.signer is not None:
            signer = {
                "fingerprint": self.signer.fingerprint,
                "public_key": self.signer.public_key.openssh(),
            }
        manifest = build_manifest(
            bundle_id=self.bundle_id,
            case=self.case,
            host=self.host_facts,
            started=self.started,
            ended=self.clock.now(),
            complete=complete,
            reason=None if complete else (reason or "unknown reason"),
            signer=signer,
            encrypted=self._encrypted,
            targets=self._targets,
            steps=self._steps,
            artifacts=self._artifacts,
        )
        self._write_member(layout.MANIFEST, [to_json_bytes(manifest)])
        self._write_member(layout.CUSTODY, [self._chain.text()])
        if self.signer is not None:
            self._write_member(layout.SIGNER, [self.signer.public_key.openssh().encode() + b"\n"])
        sums = layout.format_sums(self._entries)
        self._write_member(layout.SUMS, [sums])
        if self.signer is not None:
            self._write_member(layout.SIGNATURE, [self.signer.sign(sums).encode()])

    def _publish(self) -> None:
        if self.force:
            os.replace(self._partial, self.path)
        else:
            try:
                os.link(self._partial, self.path)  # fails if the name appeared meanwhile
            except FileExistsError as e:
                raise UsageError(f"{self.path} appeared meanwhile; not overwritten") from e
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                if self.path.exists():
                    raise UsageError(f"{self.path} appeared meanwhile; not overwritten") from e
                os.rename(self._partial, self.path)
            else:
                os.unlink(self._partial)
        fsync_dir(self.path.parent)
        journal.forget(self._note)

    def _write_sidecar(self, digest: str) -> None:
        try:
            write_sha256_file(self.path, digest)
        except OSError as e:
            raise BundleWriteError(
                f"bundle {self.path} is sealed, but {layout.sidecar_path(self.path)} could not "
                f"be written: {e.strerror}",
                hint=f"sha256sum {self.path} > {layout.sidecar_path(self.path)}",
            ) from e

    def _abort(self) -> None:
        """Remove the .partial: an unsealed bundle never stays behind."""
        self._failed = True
        try:
            self._zip.close()
        except Exception:
            self._zip.fp = None  # a member is half-written: drop the zip without finishing it
        with contextlib.suppress(OSError):
            self._raw.close()
        self._partial.unlink(missing_ok=True)
        journal.forget(self._note)

    # -- context manager -----------------------------------------------------

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._sealed is not None:
            return
        if exc is None:
            self.seal()
            return
        with contextlib.suppress(Exception):  # the original error is the one to report
            self.seal(complete=False, reason=_describe(exc))
