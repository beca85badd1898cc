"""notify.webhook and notify.syslog: tell someone that a run did something.

Both send a small fixed message (target, case, step, text); failures are
step failures (notification steps default to on_error: continue).
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from irkit import __version__
from irkit.errors import EnvironmentProblem
from irkit.playbook.actions import ActionContext

TIMEOUT_SECONDS = 10.0
_FACILITIES = {
    "user": 1,
    "daemon": 3,
    "auth": 4,
    **{f"local{i}": 16 + i for i in range(8)},
}
_NOTICE = 5
DEFAULT_SYSLOG = "/dev/log"


def _text(ctx: ActionContext, params: Mapping[str, Any]) -> str:
    message = params.get("message") or f"irkit step {ctx.step}"
    return f"{message} (target {ctx.target}, case {ctx.case})"


def webhook(ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    """POST a JSON document to an http(s) URL."""
    url = str(params["url"])
    if not url.startswith(("http://", "https://")):
        raise EnvironmentProblem(f"webhook URL must be http or https: {url}")
    body = json.dumps(
        {"text": _text(ctx, params), "target": ctx.target, "case": ctx.case, "step": ctx.step}
    ).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"irkit/{__version__}"}
    headers.update({str(k): str(v) for k, v in (params.get("headers") or {}).items()})
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as e:
        raise EnvironmentProblem(f"webhook answered {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise EnvironmentProblem(f"webhook {url} unreachable: {reason}") from e
    return {"url": url, "status": status}


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
    if address.startswith("["):
        host, _, port = address[1:].partition("]")
        port = port.lstrip(":")
    return (host or address), int(port or 514)


def syslog(ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    """Send one RFC 3164 line to a local socket path or to host[:port] (udp/tcp)."""
    address = str(params.get("address") or DEFAULT_SYSLOG)
    priority = _FACILITIES[str(params.get("facility", "user"))] * 8 + _NOTICE
    line = f"<{priority}>irkit[{os.getpid()}]: {_text(ctx, params)}".encode()
    protocol = str(params.get("protocol", "udp"))
    try:
        if address.startswith("/"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(line, address)
        else:
            host, port = _split_address(address)
            if protocol == "tcp":
                with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as sock:
                    sock.sendall(line + b"\n")
            else:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                with socket.socket(family, socket.SOCK_DGRAM) as sock:
                    sock.sendto(line, (host, port))
    except OSError as e:
        raise EnvironmentProblem(f"syslog {address}: {e.strerror or e}") from e
    return {"address": address, "protocol": protocol, "bytes": len(line)}
