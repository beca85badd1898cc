"""Firewall rules as values: what isolate and block-ip want, and what the host has.

A `Rule` renders to iptables arguments and is parsed back from `iptables -S`
lines, so "is this rule already there" is a comparison of values, not of text.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from irkit.contain.spec import Allow, BlockSpec, Direction, IPAddress

COMMENT_PREFIX = "irkit:"
DOCKER_USER = "DOCKER-USER"
_SAFE_WORD = re.compile(r"[A-Za-z0-9._:/,-]+")


@dataclass(frozen=True)
class Rule:
    family: int
    chain: str
    target: str
    comment: str
    src: str | None = None
    dst: str | None = None
    proto: str | None = None
    port: int | None = None
    either_port: bool = False  # multiport --ports (either side) instead of --dport
    extra: tuple[str, ...] = ()

    def args(self) -> list[str]:
        """The rule specification after the chain name."""
        words: list[str] = []
        if self.src:
            words += ["-s", self.src]
        if self.dst:
            words += ["-d", self.dst]
        if self.proto:
            words += ["-p", self.proto]
            if self.port is not None and self.either_port:
                words += ["-m", "multiport", "--ports", str(self.port)]
            elif self.port is not None:
                words += ["-m", self.proto, "--dport", str(self.port)]
        words += [*self.extra, "-m", "comment", "--comment", self.comment, "-j", self.target]
        for word in words:
            if not _SAFE_WORD.fullmatch(word):
                raise ValueError(f"unsafe word in iptables rule: {word!r}")
        return words

    def describe(self) -> str:
        tool = "iptables" if self.family == 4 else "ip6tables"
        return f"{tool} -A {self.chain} {' '.join(self.args())}"


def _canonical(text: str) -> str:
    return str(ipaddress.ip_network(text, strict=False))


def parse_rule(family: int, line: str) -> tuple[Rule, list[str]] | None:
    """An irkit rule from one `-S` line (with its words, for deletion), else None."""
    if COMMENT_PREFIX not in line or not line.startswith("-A "):
        return None
    words = shlex.split(line)
    values: dict[str, str] = {}
    extra: list[str] = []
    i = 2
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in ("-s", "-d", "-p", "-j", "--comment", "--dport", "--ports"):
            values[word] = nxt
            i += 2
        elif word == "-m" and nxt in ("comment", "multiport", "tcp", "udp"):
            i += 2
        else:
            extra.append(word)
            i += 1
    comment = values.get("--comment", "")
    if not comment.startswith(COMMENT_PREFIX):
        return None
    port = values.get("--ports") or values.get("--dport")
    rule = Rule(
        family=family,
        chain=words[1],
        target=values.get("-j", ""),
        comment=comment,
        src=_canonical(values["-s"]) if "-s" in values else None,
        dst=_canonical(values["-d"]) if "-d" in values else None,
        proto=values.get("-p"),
        port=int(port) if port and port.isdigit() else None,
        either_port="--ports" in values,
        extra=tuple(extra),
    )
    return rule, words


@dataclass
class Ruleset:
    """One family's filter table as dumped: its chains and irkit's rules."""

    family: int
    chains: set[str]
    rules: list[tuple[Rule, list[str]]]

    @classmethod
    def parse(cls, family: int, text: str) -> Ruleset:
        chains: set[str] = set()
        rules: list[tuple[Rule, list[str]]] = []
        for line in text.splitlines():
            if line.startswith("-N ") or line.startswith("-P "):
                chains.add(line.split()[1])
            parsed = parse_rule(family, line)
            if parsed is not None:
                rules.append(parsed)
        return cls(family, chains, rules)

    def with_comment(self, comments: Iterable[str]) -> list[tuple[Rule, list[str]]]:
        wanted = set(comments)
        return [(rule, words) for rule, words in self.rules if rule.comment in wanted]

    def present(self) -> set[Rule]:
        return {rule for rule, _ in self.rules}


def isolation_comment(case: str, container_id: str) -> str:
    return f"{COMMENT_PREFIX}{case}:{container_id[:12]}"


def block_comment(case: str, spec: BlockSpec) -> str:
    return f"{COMMENT_PREFIX}{case}:block:{spec.key}"


def isolation_rules(
    addresses: Sequence[IPAddress], allows: Sequence[Allow], comment: str
) -> list[Rule]:
    """Rules in their final top-to-bottom order: allow holes first, then drops.

    DOCKER-USER holes RETURN (Docker's own rules still apply); INPUT/OUTPUT
    holes ACCEPT, since RETURN from a built-in chain would mean its policy.
    """
    holes: list[Rule] = []
    drops: list[Rule] = []
    for address in addresses:
        me = str(ipaddress.ip_network(address))
        fam = address.version
        for allow in allows:
            if allow.network.version != fam:
                continue
            other = str(allow.network)
            for proto in ("tcp", "udp") if allow.port is not None else (None,):
                for chain, target, src, dst in (
                    (DOCKER_USER, "RETURN", me, other),
                    (DOCKER_USER, "RETURN", other, me),
                    ("INPUT", "ACCEPT", me, other),
                    ("OUTPUT", "ACCEPT", other, me),
                ):
                    holes.append(
                        Rule(fam, chain, target, comment, src, dst, proto, allow.port, True)
                    )
        drops += [
            Rule(fam, DOCKER_USER, "DROP", comment, src=me),
            Rule(fam, DOCKER_USER, "DROP", comment, dst=me),
            Rule(fam, "INPUT", "DROP", comment, src=me),
            Rule(fam, "OUTPUT", "DROP", comment, dst=me),
        ]
    return holes + drops


def block_rules(spec: BlockSpec, comment: str) -> list[Rule]:
    fam = spec.network.version
    them = str(spec.network)
    ways: list[tuple[str, str | None, str | None]] = []
    if spec.direction in (Direction.IN, Direction.BOTH):
        ways += [(DOCKER_USER, them, None), ("INPUT", them, None)]
    if spec.direction in (Direction.OUT, Direction.BOTH):
        ways += [(DOCKER_USER, None, them), ("OUTPUT", None, them)]
    return [
        Rule(fam, chain, "DROP", comment, src, dst, spec.proto, spec.port)
        for chain, src, dst in ways
    ]


def rule_to_dict(rule: Rule) -> dict[str, object]:
    return {
        "family": rule.family,
        "chain": rule.chain,
        "target": rule.target,
        "comment": rule.comment,
        "src": rule.src,
        "dst": rule.dst,
        "proto": rule.proto,
        "port": rule.port,
        "either_port": rule.either_port,
    }


def rule_from_dict(data: dict[str, object]) -> Rule:
    port = data.get("port")
    return Rule(
        family=int(str(data["family"])),
        chain=str(data["chain"]),
        target=str(data["target"]),
        comment=str(data["comment"]),
        src=str(data["src"]) if data.get("src") else None,
        dst=str(data["dst"]) if data.get("dst") else None,
        proto=str(data["proto"]) if data.get("proto") else None,
        port=int(str(port)) if port is not None else None,
        either_port=bool(data.get("either_port")),
    )
