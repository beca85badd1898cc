"""The iptables/ip6tables backend: dump, plan and apply changes in one transaction.

Works with the legacy and nft flavours alike: it only uses `-w -S` to read and
`*-restore -w --noflush` to write, both of which they share. One restore call
per family carries every insertion and deletion, so 50 containers cost the same
few processes as one, and a failure leaves nothing half-applied.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from irkit.contain.rules import DOCKER_USER, Rule, Ruleset
from irkit.contain.spec import IPAddress
from irkit.engine.commands import CommandFailed, CommandRunner
from irkit.errors import EnvironmentProblem, ToolMissing

TOOLS = {4: "iptables", 6: "ip6tables"}
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/,!-")


class NoDockerUser(EnvironmentProblem):
    def __init__(self, family: int, why: str) -> None:
        tool = TOOLS[family]
        super().__init__(
            f"{tool} has no usable DOCKER-USER chain ({why}): the engine runs with "
            f"{'IPv6 ' if family == 6 else ''}iptables off, so firewall mode cannot work",
            hint="use --mode disconnect (or pause/stop) instead",
        )


class Firewall:
    def __init__(self, commands: CommandRunner) -> None:
        self.commands = commands

    def dump(self, family: int) -> Ruleset | None:
        """The filter table, or None when the tool is missing or cannot list it."""
        tool = TOOLS[family]
        if self.commands.which(tool) is None:
            return None
        result = self.commands.run([tool, "-w", "-t", "filter", "-S"], check=False, timeout=30)
        if not result.ok:
            return None
        return Ruleset.parse(family, result.stdout.decode(errors="replace"))

    def readable(self, family: int) -> Ruleset:
        """The filter table of a family that must be listable, or a clear exit-4 error."""
        tool = TOOLS[family]
        if self.commands.which(tool) is None:
            raise ToolMissing(tool, "iptables")
        ruleset = self.dump(family)
        if ruleset is None:
            raise EnvironmentProblem(f"{tool} cannot list the filter table", hint="run as root")
        return ruleset

    def require(self, family: int) -> Ruleset:
        """The filter table of a family with DOCKER-USER, or a clear exit-4 error."""
        ruleset = self.readable(family)
        if DOCKER_USER not in ruleset.chains:
            raise NoDockerUser(family, "chain missing or owned by nft")
        return ruleset

    def apply(self, family: int, delete: Sequence[Sequence[str]], insert: Sequence[Rule]) -> None:
        """Delete dumped rules and insert `insert` so it ends up on top, in order."""
        if not delete and not insert:
            return
        lines = ["*filter"]
        lines += [" ".join(["-D", *(_quote(w) for w in words[1:])]) for words in delete]
        lines += [" ".join(["-I", r.chain, "1", *r.args()]) for r in reversed(insert)]
        lines.append("COMMIT")
        tool = f"{TOOLS[family]}-restore"
        try:
            self.commands.run(
                [tool, "-w", "--noflush"], input=("\n".join(lines) + "\n").encode(), timeout=60
            )
        except CommandFailed as e:
            raise EnvironmentProblem(
                f"{tool} refused the change, nothing was applied: {e.result.stderr_line()}"
            ) from e

    def flush_conntrack(self, addresses: Iterable[IPAddress]) -> bool:
        """Drop tracked connections of these addresses; False when conntrack is missing.

        One listing per family finds the addresses that have entries at all, so
        isolating 50 idle containers costs one process, not a hundred.
        """
        if self.commands.which("conntrack") is None:
            return False
        wanted = set(addresses)
        calls: list[list[str]] = []
        for family in sorted({a.version for a in wanted}):
            name = "ipv6" if family == 6 else "ipv4"
            listing = self.commands.run(["conntrack", "-L", "-f", name], check=False, timeout=30)
            seen = _conntrack_addresses(listing.stdout.decode(errors="replace"))
            calls += [
                ["conntrack", "-f", name, "-D", flag, str(a)]
                for a in sorted(wanted & seen, key=str)
                for flag in ("-s", "-r")
            ]
        # Exit status 1 only means "no entry matched"; nothing to report.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda argv: self.commands.run(argv, check=False, timeout=30), calls))
        return True


def plan(
    ruleset: Ruleset, groups: Mapping[str, Sequence[Rule]]
) -> tuple[list[list[str]], list[Rule]]:
    """What to delete and insert so each comment's rules are exactly the wanted ones.

    A comment whose rules are all there is left alone (isolating twice adds
    nothing); otherwise its rules are rewritten in one go, keeping holes above drops.
    """
    delete: list[list[str]] = []
    insert: list[Rule] = []
    for comment, wanted in groups.items():
        have = ruleset.with_comment([comment])
        if {rule for rule, _ in have} == set(wanted) and len(have) == len(wanted):
            continue
        delete += [words for _, words in have]
        insert += wanted
    return delete, insert


def _conntrack_addresses(listing: str) -> set[IPAddress]:
    found: set[IPAddress] = set()
    for word in listing.split():
        if word.startswith(("src=", "dst=")):
            try:
                found.add(ipaddress.ip_address(word[4:]))
            except ValueError:
                continue
    return found


def _quote(word: str) -> str:
    """A word for iptables-restore, which understands double quotes only."""
    if word and set(word) <= _PLAIN:
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
