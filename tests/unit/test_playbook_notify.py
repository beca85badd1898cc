"""notify.webhook and notify.syslog against real listeners on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from irkit.errors import EnvironmentProblem
from irkit.playbook.actions import ActionContext
from irkit.playbook.notify import syslog, webhook


def context() -> ActionContext:
    return ActionContext("web", "case-7", "tell-soc", sink=None, seal=None)  # type: ignore[arg-type]


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append({"body": json.loads(self.rfile.read(length)), **self.headers})
            self.send_response(204 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


def test_webhook_posts_the_run_facts(http_server: tuple[str, list[dict[str, Any]]]) -> None:
    base, received = http_server
    detail = webhook(
        context(), {"url": f"{base}/ok", "message": "contained", "headers": {"X-Token": "t"}}
    )
    assert detail["status"] == 204
    (request,) = received
    assert request["body"] == {
        "text": "contained (target web, case case-7)",
        "target": "web",
        "case": "case-7",
        "step": "tell-soc",
    }
    assert request["X-Token"] == "t"


def test_webhook_failures_are_step_failures(http_server: tuple[str, list[dict[str, Any]]]) -> None:
    base, _ = http_server
    with pytest.raises(EnvironmentProblem, match="answered 500"):
        webhook(context(), {"url": f"{base}/broken"})
    with pytest.raises(EnvironmentProblem, match="must be http or https"):
        webhook(context(), {"url": "file:///etc/passwd"})


def test_syslog_over_udp_and_a_unix_socket(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(5)
        port = udp.getsockname()[1]
        syslog(
            context(), {"address": f"127.0.0.1:{port}", "facility": "local3", "message": "isolated"}
        )
        line = udp.recv(4096).decode()
    assert line.startswith("<157>irkit[")  # local3 (19) * 8 + notice (5)
    assert line.endswith("isolated (target web, case case-7)")
    path = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unix:
        unix.bind(path)
        unix.settimeout(5)
        detail = syslog(context(), {"address": path})
        assert unix.recv(4096).startswith(b"<13>irkit[")  # user (1) * 8 + notice
    assert detail["address"] == path


def test_syslog_to_a_missing_socket_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="syslog"):
        syslog(context(), {"address": str(tmp_path / "none.sock")})
