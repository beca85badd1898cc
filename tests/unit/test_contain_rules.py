"""Rules as values: generation, parsing of `iptables -S`, planning, restore input."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from irkit.contain.firewall import Firewall, plan
from irkit.contain.rules import (
    Rule,
    Ruleset,
    block_comment,
    block_rules,
    isolation_comment,
    isolation_rules,
    parse_rule,
    rule_from_dict,
    rule_to_dict,
)
from irkit.contain.spec import block_spec, parse_allow
from irkit.engine.commands import CommandResult

CID = "89632e1b769ac853c3b7ce93ece68787f7fa815127427f8b5c0a958489b1e313"
COMMENT = isolation_comment("case1", CID)
ADDR = ipaddress.ip_address("172.21.0.2")

# What iptables 1.8.9 (nft) prints for the rules irkit makes.
DUMP = f"""-P INPUT ACCEPT
-N DOCKER-USER
-A INPUT -s 172.21.0.2/32 -m comment --comment "{COMMENT}" -j DROP
-A OUTPUT -d 172.21.0.2/32 -m comment --comment "{COMMENT}" -j DROP
-A DOCKER-USER -s 172.21.0.2/32 -m comment --comment "{COMMENT}" -j DROP
-A DOCKER-USER -d 172.21.0.2/32 -m comment --comment "{COMMENT}" -j DROP
-A DOCKER-USER -s 10.9.0.0/16 -m comment --comment "somebody else" -j DROP
-A DOCKER-USER -j RETURN
"""


def test_comment_shape() -> None:
    assert COMMENT == "irkit:case1:89632e1b769a"
    spec = block_spec("203.0.113.0/24", port=22, direction="in")
    assert block_comment("c", spec) == "irkit:c:block:203.0.113.0/24,tcp/22,in"


def test_isolation_rules_drop_both_ways_in_three_chains() -> None:
    rules = isolation_rules([ADDR], [], COMMENT)
    described = [r.describe() for r in rules]
    assert described == [
        f"iptables -A DOCKER-USER -s 172.21.0.2/32 -m comment --comment {COMMENT} -j DROP",
        f"iptables -A DOCKER-USER -d 172.21.0.2/32 -m comment --comment {COMMENT} -j DROP",
        f"iptables -A INPUT -s 172.21.0.2/32 -m comment --comment {COMMENT} -j DROP",
        f"iptables -A OUTPUT -d 172.21.0.2/32 -m comment --comment {COMMENT} -j DROP",
    ]


def test_allow_holes_come_before_drops_and_match_family() -> None:
    allows = [parse_allow("10.0.0.5:514"), parse_allow("[2001:db8::5]:22")]
    rules = isolation_rules([ADDR], allows, COMMENT)
    targets = [r.target for r in rules]
    assert targets.index("DROP") == 8  # 4 chains x tcp/udp holes first
    assert all(r.family == 4 for r in rules)
    hole = rules[0]
    assert hole.args()[:8] == [
        "-s",
        "172.21.0.2/32",
        "-d",
        "10.0.0.5/32",
        "-p",
        "tcp",
        "-m",
        "multiport",
    ]


def test_dump_parses_back_to_the_same_rules() -> None:
    ruleset = Ruleset.parse(4, DUMP)
    assert "DOCKER-USER" in ruleset.chains
    assert {r for r, _ in ruleset.rules} == set(isolation_rules([ADDR], [], COMMENT))


def test_ports_parse_back() -> None:
    spec = block_spec("203.0.113.0/24", port=22, direction="in")
    rule = block_rules(spec, block_comment("c", spec))[0]
    line = "-A DOCKER-USER -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -m comment "
    line += '--comment "irkit:c:block:203.0.113.0/24,tcp/22,in" -j DROP'
    parsed = parse_rule(4, line)
    assert parsed is not None and parsed[0] == rule
    hole = isolation_rules([ADDR], [parse_allow("10.0.0.5:514")], COMMENT)[0]
    line = "-A DOCKER-USER -s 172.21.0.2/32 -d 10.0.0.5/32 -p tcp -m multiport --ports 514 "
    line += f'-m comment --comment "{COMMENT}" -j RETURN'
    parsed = parse_rule(4, line)
    assert parsed is not None and parsed[0] == hole


def test_plan_adds_nothing_twice_and_repairs_whole_groups() -> None:
    wanted = isolation_rules([ADDR], [], COMMENT)
    ruleset = Ruleset.parse(4, DUMP)
    assert plan(ruleset, {COMMENT: wanted}) == ([], [])
    damaged = Ruleset.parse(
        4, "\n".join(line for line in DUMP.splitlines() if "INPUT -s" not in line)
    )
    delete, insert = plan(damaged, {COMMENT: wanted})
    assert len(delete) == 3 and insert == wanted


def test_unsafe_words_never_render() -> None:
    with pytest.raises(ValueError, match="unsafe"):
        Rule(4, "INPUT", "DROP", 'irkit:x" -j ACCEPT').args()


def test_state_round_trip_of_rules() -> None:
    for rule in isolation_rules([ADDR], [parse_allow("10.0.0.5:514")], COMMENT):
        assert rule_from_dict(rule_to_dict(rule)) == rule


class RecordingRunner:
    def __init__(self, stdout: bytes = b"") -> None:
        self.calls: list[tuple[tuple[str, ...], bytes | None]] = []
        self.stdout = stdout

    def which(self, tool: str) -> str | None:
        return f"/usr/sbin/{tool}"

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = 60,
        check: bool = True,
    ) -> CommandResult:
        self.calls.append((tuple(argv), input))
        return CommandResult(tuple(argv), 0, self.stdout, b"")


def test_apply_is_one_restore_call_with_inserts_in_final_order() -> None:
    runner = RecordingRunner()
    wanted = isolation_rules([ADDR], [], COMMENT)
    delete = [words for _, words in Ruleset.parse(4, DUMP).rules]
    Firewall(runner).apply(4, delete, wanted)
    assert len(runner.calls) == 1
    argv, data = runner.calls[0]
    assert argv == ("iptables-restore", "-w", "--noflush")
    lines = (data or b"").decode().splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    assert lines[1].startswith("-D INPUT -s 172.21.0.2/32")
    inserts = [ln for ln in lines if ln.startswith("-I ")]
    # Inserting at 1 in reverse leaves the first wanted rule on top.
    assert inserts[-1].startswith("-I DOCKER-USER 1 -s 172.21.0.2/32")
    assert inserts[0].startswith("-I OUTPUT 1 -d 172.21.0.2/32")


def test_require_refuses_a_family_without_docker_user() -> None:
    from irkit.errors import EnvironmentProblem

    firewall = Firewall(RecordingRunner(b"-P INPUT ACCEPT\n-P FORWARD ACCEPT\n"))
    with pytest.raises(EnvironmentProblem, match="DOCKER-USER") as info:
        firewall.require(6)
    assert info.value.exit_code == 4
    assert "disconnect" in (info.value.hint or "")


def test_conntrack_listing_finds_addresses_with_entries() -> None:
    from irkit.contain.firewall import _conntrack_addresses

    listing = (
        "icmp     1 29 src=172.21.0.2 dst=172.21.0.3 type=8 code=0 id=7 "
        "src=172.21.0.3 dst=172.21.0.2 type=0 code=0 id=7 mark=0 use=1\n"
        "tcp      6 431999 ESTABLISHED src=2001:db8::2 dst=2001:db8::3 sport=1 dport=2\n"
    )
    assert _conntrack_addresses(listing) == {
        ipaddress.ip_address(a) for a in ("172.21.0.2", "172.21.0.3", "2001:db8::2", "2001:db8::3")
    }
