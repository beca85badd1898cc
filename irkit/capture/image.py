"""`irkit capture-image build`: a capture image from the host's own tcpdump, no registry.

The image holds tcpdump, every library `ldd` lists (at the paths it lists),
/etc/passwd and /etc/group (Debian's tcpdump switches to user 'tcpdump', here
mapped to nobody) and /tmp. It is imported from an in-memory tar, so a site
can prepare for an air-gapped incident in one command.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from dataclasses import dataclass

import docker

from irkit import config
from irkit.engine.commands import CommandRunner
from irkit.engine.docker import engine_errors
from irkit.errors import ToolMissing

IMAGE_LABEL = "irkit.image"
_PASSWD = b"root:x:0:0:root:/:/nonexistent\ntcpdump:x:65534:65534:tcpdump:/:/nonexistent\n"
_GROUP = b"root:x:0:\ntcpdump:x:65534:\n"


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    id: str
    tcpdump: str
    version: str
    files: tuple[str, ...]
    size: int


def library_paths(ldd_output: str) -> list[str]:
    """The absolute paths in `ldd` output (libraries and the loader)."""
    return sorted(set(re.findall(r"(/\S+)", ldd_output)))


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def image_tar(files: list[str]) -> bytes:
    """A root filesystem: each file (symlinks resolved) at its own path."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_dir(tar, "tmp", 0o1777)
        _add_dir(tar, "etc", 0o755)
        _add_bytes(tar, "etc/passwd", _PASSWD)
        _add_bytes(tar, "etc/group", _GROUP)
        for path in files:
            real = os.path.realpath(path)
            tar.add(real, arcname=path.lstrip("/"), recursive=False)
    return buf.getvalue()


def build_capture_image(
    client: docker.DockerClient,
    commands: CommandRunner,
    tag: str = config.LOCAL_CAPTURE_IMAGE,
    labels: dict[str, str] | None = None,
) -> BuiltImage:
    tcpdump = commands.which("tcpdump")
    if tcpdump is None:
        raise ToolMissing("tcpdump")
    if commands.which("ldd") is None:
        raise ToolMissing("ldd", "libc-bin")
    files = [tcpdump, *library_paths(commands.run(["ldd", tcpdump]).stdout.decode())]
    probe = commands.run([tcpdump, "--version"], check=False)
    version = (probe.stdout + probe.stderr).decode(errors="replace").splitlines()[0:1]
    tcpdump_version = version[0].strip() if version else "unknown"
    all_labels = {IMAGE_LABEL: "capture", "irkit.tcpdump": tcpdump_version, **(labels or {})}
    changes = [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f'ENTRYPOINT ["{tcpdump}"]',
        *(f'LABEL {key}="{value}"' for key, value in all_labels.items()),
    ]
    data = image_tar(files)
    repository, _, version_tag = tag.rpartition(":")
    if not repository or "/" in version_tag:
        repository, version_tag = tag, "latest"
    with engine_errors(f"importing capture image {tag}"):
        client.api.import_image_from_data(
            data, repository=repository, tag=version_tag, changes=changes
        )
        image = client.images.get(f"{repository}:{version_tag}")
    return BuiltImage(
        f"{repository}:{version_tag}",
        image.id or "",
        tcpdump,
        tcpdump_version,
        tuple(files),
        len(data),
    )
