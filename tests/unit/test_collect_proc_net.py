"""Parsing the kernel's socket tables and rendering them like netstat."""
# ruff: noqa: E501 (real kernel table lines are wide)

from __future__ import annotations

import pytest

from irkit.collect.proc_net import (
    Owner,
    attach_owners,
    decode_address,
    parse_inet,
    parse_unix,
    render_netstat,
)

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0B00007F:9F43 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41001 1 0
   1: 030013AC:A6BA 020013AC:15B3 01 0000000A:00000002 00:00000000 00000000  1000        0 41002 1 0
   2: garbage
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:115C 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41003 1 0
   1: 0000000000000000FFFF00000100007F:115C 0000000000000000FFFF00000100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 41004 1 0
"""
UDP = """\
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  10: 0B00007F:8496 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41005 2 0 0
"""
UNIX = """\
Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 41006 /run/app.sock
0000000000000000: 00000003 00000000 00000000 0001 03 41007
0000000000000000: 00000002 00000000 00000000 0002 01 41008 @abstract name
0000000000000000: 00000002 00000000 00000000 0001 01 41009 /tmp/a path with spaces
"""


def test_ipv4_words_are_host_order() -> None:
    assert decode_address("0100007F", "little") == "127.0.0.1"
    assert decode_address("7F000001", "big") == "127.0.0.1"


def test_ipv6_words_are_host_order_each() -> None:
    assert decode_address("0" * 32, "little") == "::"
    assert decode_address("0000000000000000FFFF00000100007F", "little") == "::ffff:127.0.0.1"
    assert decode_address("00000000000000000000000001000000", "little") == "::1"


def test_bad_address_is_refused() -> None:
    with pytest.raises(ValueError):
        decode_address("0100", "little")


def test_tcp_listen_and_established() -> None:
    listen, established = parse_inet("tcp", TCP, "little")
    assert (listen.local_address, listen.local_port, listen.state) == (
        "127.0.0.11",
        40771,
        "LISTEN",
    )
    assert listen.inode == 41001
    assert established.state == "ESTABLISHED"
    assert (established.local_address, established.local_port) == ("172.19.0.3", 42682)
    assert (established.remote_address, established.remote_port) == ("172.19.0.2", 5555)
    assert (established.send_queue, established.recv_queue, established.uid) == (10, 2, 1000)


def test_tcp6() -> None:
    listen, mapped = parse_inet("tcp6", TCP6, "little")
    assert (listen.local_address, listen.local_port, listen.state) == ("::", 4444, "LISTEN")
    assert mapped.remote_address == "::ffff:127.0.0.1"


def test_unconnected_udp_has_blank_state() -> None:
    (sock,) = parse_inet("udp", UDP, "little")
    assert sock.state == ""
    assert (sock.local_address, sock.local_port, sock.inode) == ("127.0.0.11", 33942, 41005)


def test_unix_sockets() -> None:
    listening, connected, abstract, spaced = parse_unix(UNIX)
    assert listening.path == "/run/app.sock" and listening.flags & 0x10000
    assert connected.state == "CONNECTED" and connected.path == ""
    assert abstract.type == "DGRAM" and abstract.path == "@abstract name"
    assert spaced.path == "/tmp/a path with spaces"


def test_rendering_shows_owner_and_netstat_columns() -> None:
    sockets = parse_inet("tcp", TCP, "little") + parse_inet("tcp6", TCP6, "little")
    sockets += parse_unix(UNIX)
    owned = attach_owners(
        sockets, {41002: [Owner(900, 7, 3, "nc")], 41006: [Owner(1, 1, 4, "app")]}
    )
    text = render_netstat(owned)
    lines = text.splitlines()
    assert lines[0] == "Active Internet connections (servers and established)"
    established = next(ln for ln in lines if "ESTABLISHED" in ln)
    assert established.split() == [
        "tcp", "2", "10", "172.19.0.3:42682", "172.19.0.2:5555", "ESTABLISHED", "900/nc",
    ]  # fmt: skip
    assert any(ln.split()[3:5] == [":::4444", ":::*"] for ln in lines)
    unix_listen = next(ln for ln in lines if "/run/app.sock" in ln)
    assert "[ ACC ]" in unix_listen and "LISTENING" in unix_listen and "1/app" in unix_listen
