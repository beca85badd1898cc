"""Tiny images built from the host's static busybox, without any registry.

The demo and the test suite both need a container with a shell and network
tools on hosts that cannot pull: the root filesystem is built as an in-memory
tar (busybox, its applet links, /etc/passwd, /tmp) and imported into the engine.
"""

from __future__ import annotations

import io
import struct
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import docker

from irkit.engine.commands import CommandRunner
from irkit.engine.docker import engine_errors
from irkit.errors import EnvironmentProblem, ToolMissing

_PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
_GROUP = b"root:x:0:\nnobody:x:65534:\n"
_DIRS = {"bin": 0o755, "etc": 0o755, "tmp": 0o1777, "root": 0o700, "proc": 0o755,
         "sys": 0o755, "dev": 0o755, "var": 0o755, "var/tmp": 0o1777}  # fmt: skip
_PT_INTERP = 3


def has_image(client: docker.DockerClient, name: str) -> bool:
    """True when the engine has the image locally (nothing is pulled)."""
    with engine_errors(f"looking up image {name}"):
        try:
            client.images.get(name)
        except docker.errors.ImageNotFound:
            return False
    return True


def find_busybox(commands: CommandRunner) -> Path:
    """The host's busybox; it must be static to run alone in an image."""
    found = commands.which("busybox")
    if found is None:
        raise ToolMissing("busybox", "busybox-static")
    path = Path(found).resolve()
    if not is_static(path.read_bytes()[:65536]):
        raise EnvironmentProblem(
            f"{path} is dynamically linked", hint="apt-get install busybox-static"
        )
    return path


def is_static(head: bytes) -> bool:
    """True unless the ELF header names a program interpreter (a dynamic binary)."""
    if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
        return True  # not a little-endian ELF64: let the engine judge
    (phoff,) = struct.unpack_from("<Q", head, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
    for i in range(phnum):
        offset = phoff + i * phentsize
        if offset + 4 > len(head):
            break
        if struct.unpack_from("<I", head, offset)[0] == _PT_INTERP:
            return False
    return True


def applets(commands: CommandRunner, busybox: Path) -> list[str]:
    listing = commands.run([str(busybox), "--list"]).stdout.decode()
    return [a for a in listing.split() if a and "/" not in a]


def _dir(tar: tarfile.TarFile, name: str, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    tar.addfile(info)


def _file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def busybox_rootfs(busybox: bytes, names: Iterable[str], *, links: bool = True) -> bytes:
    """A root filesystem tar: bin/busybox with a symlink per applet name, or
    (links=False) only copies under those names, so there is no /bin/sh."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, mode in _DIRS.items():
            _dir(tar, name, mode)
        _file(tar, "etc/passwd", _PASSWD)
        _file(tar, "etc/group", _GROUP)
        wanted = list(dict.fromkeys(names))
        first = "busybox" if links else wanted[0]
        _file(tar, f"bin/{first}", busybox, 0o755)
        for name in wanted:
            if name == first:
                continue
            info = tarfile.TarInfo(f"bin/{name}")
            info.type = tarfile.SYMTYPE if links else tarfile.LNKTYPE
            info.linkname = "busybox" if links else f"bin/{first}"
            info.mode = 0o777 if links else 0o755  # a hard link's mode is the file's
            tar.addfile(info)
    return buf.getvalue()


def import_image(
    client: docker.DockerClient,
    rootfs: bytes,
    tag: str,
    *,
    changes: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
) -> str:
    """Import a root filesystem tar as image `tag`; returns the tag."""
    repository, _, version = tag.rpartition(":")
    all_changes = [*changes, *(f'LABEL {k}="{v}"' for k, v in (labels or {}).items())]
    with engine_errors(f"importing image {tag}"):
        client.api.import_image_from_data(
            rootfs, repository=repository or tag, tag=version or "latest", changes=all_changes
        )
    return tag


def ensure_busybox_image(
    client: docker.DockerClient,
    commands: CommandRunner,
    tag: str,
    *,
    labels: Mapping[str, str] | None = None,
    only: Iterable[str] | None = None,
) -> str:
    """Image `tag` from the host's busybox, unless it exists. With `only`, just
    those applets as plain copies (no shell); else every applet, as links."""
    if has_image(client, tag):
        return tag
    busybox = find_busybox(commands)
    names = list(only) if only is not None else applets(commands, busybox)
    rootfs = busybox_rootfs(busybox.read_bytes(), names, links=only is None)
    changes = ['CMD ["/bin/sleep", "infinity"]', "ENV PATH=/bin"]
    return import_image(client, rootfs, tag, changes=changes, labels=labels)
