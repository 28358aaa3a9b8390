"""What to change, record by record, before anything is changed (pure, no network).

The program owns exactly one TXT record at each of its names: the one that starts with
`v=STSv1` at `_mta-sts.<domain>` and the one that starts with `v=TLSRPTv1` at
`_smtp._tls.<domain>`. Every other TXT record at those names (a verification token, a
note) and everything else in the zone is never touched. A plan row is `add` (none of ours
yet), `replace` (ours differs, or there are several of ours: all of them go, the new one
comes), or `keep` (exactly ours, already right).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from wizard.text import shown

STS_OWNED = "v=STSv1"
TLSRPT_OWNED = "v=TLSRPTv1"

Action = Literal["add", "replace", "keep"]


@dataclass(frozen=True)
class Wanted:
    """One TXT record the program publishes: its owner name, the prefix it owns there, the value."""

    name: str
    owned_prefix: str
    value: str

    @property
    def label(self) -> str:
        return "_mta-sts" if self.owned_prefix == STS_OWNED else "_smtp._tls"


@dataclass(frozen=True)
class Existing:
    """A TXT record found at a name: its joined text, and what the method needs to delete it
    exactly (the rdata for RFC 2136, the provider's content for lexicon)."""

    value: str
    handle: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Change:
    """One row of the plan."""

    wanted: Wanted
    action: Action
    old: tuple[Existing, ...] = ()
    """The records of ours that go (replace) or stay (keep)."""
    others: int = 0
    """Other TXT records at the same name: kept, never touched."""

    def lines(self) -> list[str]:
        name, new = self.wanted.name, self.wanted.value
        if self.action == "add":
            out = [f"add      {name} TXT {new}"]
        elif self.action == "keep":
            out = [f"keep     {name} TXT {new} (already published)"]
        else:
            out = [f"replace  {name} TXT {shown(o.value)}" for o in self.old]
            out.append(f"    with {name} TXT {new}")
        if self.others:
            out.append(f"         ({self.others} other TXT record(s) at {name} stay untouched)")
        return out


@dataclass(frozen=True)
class Plan:
    """Every row, in the order given."""

    changes: tuple[Change, ...]

    @property
    def pending(self) -> tuple[Change, ...]:
        """The rows that change something."""
        return tuple(c for c in self.changes if c.action != "keep")

    def lines(self) -> list[str]:
        return [line for c in self.changes for line in c.lines()]


def owns(value: str, prefix: str) -> bool:
    """Whether a TXT value is the program's record of this kind (`v=STSv1;...`, `v=TLSRPTv1;...`)."""
    head = value[: len(prefix)]
    rest = value[len(prefix) : len(prefix) + 1]
    return head == prefix and rest in ("", ";", " ", "\t")


def plan_changes(wanted: Iterable[Wanted], current: Mapping[str, Sequence[Existing]]) -> Plan:
    """Compare what should be published with what the zone holds now (`current[name]`: its TXT records)."""
    rows = []
    for w in wanted:
        present = list(current.get(w.name, ()))
        ours = tuple(e for e in present if owns(e.value, w.owned_prefix))
        others = len(present) - len(ours)
        if not ours:
            rows.append(Change(w, "add", (), others))
        elif len(ours) == 1 and ours[0].value == w.value:
            rows.append(Change(w, "keep", ours, others))
        else:
            rows.append(Change(w, "replace", ours, others))
    return Plan(tuple(rows))
