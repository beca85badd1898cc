"""The host method: the host's own tcpdump entered into the target's network namespace.

CommandRunner runs a command to completion; a capture needs a live stream, so
this one module starts its process itself (argv list, no shell). tcpdump runs
in its own session so a terminal's Ctrl-C reaches irkit, which then stops it
cleanly; if irkit is killed, tcpdump dies of SIGPIPE at its next packet.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from irkit.capture.model import Method
from irkit.capture.source import StderrLog
from irkit.config import child_environment
from irkit.errors import ToolMissing

STOP_TIMEOUT = 10
_CHUNK = 1 << 20
PIPE_SIZE = 1 << 20


class HostSource:
    method = Method.HOST
    image: str | None = None
    image_digest: str | None = None

    def __init__(self, proc_root: Path, pid: int, args: list[str]) -> None:
        argv = ["nsenter", f"--net={proc_root}/{pid}/ns/net", "tcpdump", *args]
        self._log = StderrLog()
        self.ready = self._log.ready
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env=child_environment(),
            )
        except FileNotFoundError as e:
            raise ToolMissing("nsenter", "util-linux") from e
        with contextlib.suppress(OSError):  # fewer, larger reads on a busy capture
            assert self._proc.stdout is not None
            fcntl.fcntl(self._proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, name="irkit-capture-stderr", daemon=True
        )
        self._stderr_thread.start()

    def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._log.add(line)

    def read(self) -> Iterator[bytes]:
        stdout = self._proc.stdout
        assert isinstance(stdout, io.BufferedReader)
        while chunk := stdout.read1(_CHUNK):
            yield chunk

    def stop(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGINT)

    def close(self) -> int:
        try:
            code = self._proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        self._stderr_thread.join(timeout=STOP_TIMEOUT)
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
        return code

    def stderr(self) -> str:
        return self._log.text()
