"""OpenSSH SSHSIG signatures (PROTOCOL.sshsig) with Ed25519 keys.

`cryptography` reads and writes OpenSSH keys but has no SSHSIG API; the format
is a few length-prefixed strings around an Ed25519 signature, so that
`ssh-keygen -Y verify` checks what irkit signs and irkit checks what
`ssh-keygen -Y sign` makes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from irkit.config import SIGNATURE_NAMESPACE
from irkit.errors import UsageError, VerificationFailed

MAGIC = b"SSHSIG"
VERSION = 1
KEY_TYPE = b"ssh-ed25519"
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"
MAX_KEY_FILE = 64 * 1024
_HASHES = {b"sha512": hashlib.sha512, b"sha256": hashlib.sha256}


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class _Reader:
    """Reads SSH wire strings from untrusted bytes; any malformation is a VerificationFailed."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise VerificationFailed("malformed SSH signature: truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def string(self) -> bytes:
        (length,) = struct.unpack(">I", self.take(4))
        return self.take(length)

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def end(self) -> None:
        if self.pos != len(self.data):
            raise VerificationFailed("malformed SSH signature: trailing bytes")


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key with its OpenSSH wire blob and comment."""

    raw: bytes
    comment: str = ""

    @property
    def blob(self) -> bytes:
        return _string(KEY_TYPE) + _string(self.raw)

    @property
    def fingerprint(self) -> str:
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"

    def openssh(self) -> str:
        line = f"{KEY_TYPE.decode()} {base64.b64encode(self.blob).decode()}"
        return f"{line} {self.comment}".rstrip()

    @classmethod
    def from_blob(cls, blob: bytes, comment: str = "") -> PublicKey:
        r = _Reader(blob)
        key_type = r.string()
        if key_type != KEY_TYPE:
            raise VerificationFailed(f"unsupported key type {key_type.decode(errors='replace')!r}")
        raw = r.string()
        r.end()
        if len(raw) != 32:
            raise VerificationFailed("malformed Ed25519 public key")
        return cls(raw, comment)

    @classmethod
    def from_openssh(cls, line: str) -> PublicKey:
        """Parse `ssh-ed25519 AAAA... [comment]`."""
        parts = line.strip().split(None, 2)
        if len(parts) < 2 or parts[0] != KEY_TYPE.decode():
            raise UsageError("not an OpenSSH ssh-ed25519 public key")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except binascii.Error as e:
            raise UsageError("not an OpenSSH ssh-ed25519 public key (bad base64)") from e
        try:
            return cls.from_blob(blob, parts[2] if len(parts) > 2 else "")
        except VerificationFailed as e:
            raise UsageError(f"bad public key: {e.message}") from e

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signature:
    """A parsed SSHSIG signature (not yet checked)."""

    public_key: PublicKey
    namespace: str
    hash_algorithm: str
    signature: bytes


def _signed_data(namespace: str, hash_alg: bytes, message: bytes) -> bytes:
    digest = _HASHES[hash_alg](message).digest()
    return MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_alg) + _string(digest)


class Signer:
    """An Ed25519 private key that signs SHA256SUMS."""

    def __init__(self, key: Ed25519PrivateKey, comment: str = "") -> None:
        self._key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key = PublicKey(raw, comment)

    @property
    def fingerprint(self) -> str:
        return self.public_key.fingerprint

    def sign(self, message: bytes, namespace: str = SIGNATURE_NAMESPACE) -> str:
        """The armored SSHSIG text of `message` (hash sha512)."""
        signature = self._key.sign(_signed_data(namespace, b"sha512", message))
        blob = (
            MAGIC
            + struct.pack(">I", VERSION)
            + _string(self.public_key.blob)
            + _string(namespace.encode())
            + _string(b"")
            + _string(b"sha512")
            + _string(_string(KEY_TYPE) + _string(signature))
        )
        text = base64.b64encode(blob).decode()
        lines = [text[i : i + 70] for i in range(0, len(text), 70)]
        return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


def parse_signature(armored: bytes) -> Signature:
    """Parse armored SSHSIG text; raises VerificationFailed when malformed."""
    try:
        text = armored.decode("ascii").strip()
    except UnicodeDecodeError as e:
        raise VerificationFailed("malformed SSH signature: not ASCII") from e
    lines = text.splitlines()
    if len(lines) < 3 or lines[0].strip() != ARMOR_BEGIN or lines[-1].strip() != ARMOR_END:
        raise VerificationFailed("malformed SSH signature: missing armor lines")
    try:
        blob = base64.b64decode("".join(ln.strip() for ln in lines[1:-1]), validate=True)
    except binascii.Error as e:
        raise VerificationFailed("malformed SSH signature: bad base64") from e
    r = _Reader(blob)
    if r.take(6) != MAGIC or r.uint32() != VERSION:
        raise VerificationFailed("malformed SSH signature: not SSHSIG version 1")
    public_key = PublicKey.from_blob(r.string())
    namespace = r.string().decode(errors="replace")
    r.string()  # reserved
    hash_alg = r.string()
    sig = _Reader(r.string())
    r.end()
    if hash_alg not in _HASHES:
        raise VerificationFailed(f"unsupported signature hash {hash_alg.decode(errors='replace')}")
    if sig.string() != KEY_TYPE:
        raise VerificationFailed("unsupported signature type (only ssh-ed25519)")
    raw_sig = sig.string()
    sig.end()
    return Signature(public_key, namespace, hash_alg.decode(), raw_sig)


def check_signature(
    armored: bytes, message: bytes, namespace: str = SIGNATURE_NAMESPACE
) -> PublicKey:
    """Verify an SSHSIG over `message`; return the signer's key or raise VerificationFailed."""
    sig = parse_signature(armored)
    if sig.namespace != namespace:
        raise VerificationFailed(f"signature namespace is {sig.namespace!r}, not {namespace!r}")
    data = _signed_data(namespace, sig.hash_algorithm.encode(), message)
    if not sig.public_key.verify(sig.signature, data):
        raise VerificationFailed("signature does not match SHA256SUMS")
    return sig.public_key


def _read_key_file(path: Path) -> bytes:
    try:
        info = path.stat()
        if info.st_size > MAX_KEY_FILE:
            raise UsageError(f"{path} is too large to be a key file")
        return path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read key file {path}: {e.strerror}") from e


def load_signer(path: Path) -> Signer:
    """Load an unencrypted OpenSSH Ed25519 private key, refusing loose permissions."""
    data = _read_key_file(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError(
            f"signing key {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o})",
            hint=f"chmod 600 {path}",
        )
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise UsageError(
            f"cannot load signing key {path}: {e}",
            hint="irkit needs an unencrypted OpenSSH Ed25519 key ('irkit keys generate')",
        ) from e
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"signing key {path} is not Ed25519", hint="use 'irkit keys generate'")
    return Signer(key, _public_comment(path))


def _public_comment(private_path: Path) -> str:
    pub = private_path.with_name(private_path.name + ".pub")
    try:
        parts = pub.read_text().split(None, 2)
    except (OSError, UnicodeDecodeError):
        return ""
    return parts[2].strip() if len(parts) > 2 else ""


def load_trusted_keys(path: Path) -> tuple[PublicKey, ...]:
    """Keys from a `.pub` file or an OpenSSH allowed_signers file (ssh-ed25519 entries)."""
    try:
        text = _read_key_file(path).decode()
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not a text key file") from e
    keys: list[PublicKey] = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#") or KEY_TYPE.decode() not in words[:-1]:
            continue
        at = words.index(KEY_TYPE.decode())
        comment = words[0] if at > 0 else " ".join(words[at + 2 :])
        keys.append(PublicKey.from_openssh(f"{words[at]} {words[at + 1]} {comment}"))
    if not keys:
        raise UsageError(f"no ssh-ed25519 key found in {path}")
    return tuple(keys)


@dataclass(frozen=True)
class GeneratedKey:
    private_path: Path
    public_path: Path
    fingerprint: str


def generate_key(directory: Path, comment: str = "irkit") -> GeneratedKey:
    """Write DIR/irkit_ed25519 (0600) and DIR/irkit_ed25519.pub; never overwrite."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = directory / "irkit_ed25519"
    public_path = directory / "irkit_ed25519.pub"
    for existing in (private_path, public_path):
        if existing.exists():
            raise UsageError(f"{existing} exists; refusing to overwrite it")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    signer = Signer(key, comment)
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        fd = os.open(public_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.fchmod(fd, 0o644)  # meant to be shared: not narrowed by irkit's umask
        with os.fdopen(fd, "w") as f:
            f.write(signer.public_key.openssh() + "\n")
    except OSError as e:
        raise UsageError(f"cannot write key to {directory}: {e.strerror}") from e
    return GeneratedKey(private_path, public_path, signer.fingerprint)
