"""The text of one domain's notification: what is new, what recovered, since when, and the fix.

One message per domain per pass, however many problems changed, so a bad night is one message,
not twenty. Each item says the domain, what changed, since when and the fix, with the same
message and fix text as the finding `check` prints. Received text (host names, certificate
fields, report fields) goes through wizard.text.shown, line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wizard.monitor.problems import Problem
from wizard.monitor.record import OpenProblem
from wizard.text import shown


@dataclass(frozen=True)
class Change:
    """One item of a message: a new (or escalated) problem, a recovery, or a notice."""

    problem: Problem | OpenProblem
    kind: str
    """new, escalated, recovered or notice."""
    since: datetime


def when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def compose(domain: str, changes: list[Change], now: datetime, publish_with: str = "") -> tuple[str, str, str]:
    """(title, body, apprise notify type) of the message for `changes` (not empty).

    `publish_with` names the saved publishing method (wizard.publish); when a new problem is one of
    the TXT records (steps 3 and 4), the message says the command that publishes them again."""
    new = [c for c in changes if c.kind in ("new", "escalated")]
    back = [c for c in changes if c.kind == "recovered"]
    notes = [c for c in changes if c.kind == "notice"]
    urgent = any(getattr(c.problem, "urgent", False) for c in new)
    name = shown(domain)
    parts = []
    if new:
        parts.append(f"{len(new)} new problem(s)")
    if back:
        parts.append(f"{len(back)} recovered")
    if notes and not parts:
        parts.append("a change")
    title = f"{name}: " + ", ".join(parts)
    if urgent:
        title = f"URGENT {name}: mail is being refused; " + ", ".join(parts)
    lines = [f"MTA-STS monitoring of {name}, pass of {when(now)}", ""]
    for c in new:
        head = "URGENT" if getattr(c.problem, "urgent", False) else "NEW" if c.kind == "new" else "WORSE"
        lines += _item(head, c, f"since {when(c.since)}")
    for c in back:
        lines += _item("RECOVERED", c, f"open since {when(c.since)}, fixed by {when(now)}")
    for c in notes:
        lines += _item("CHANGED", c, f"seen {when(c.since)}")
    if publish_with and any(c.problem.finding.step in (3, 4) for c in new):
        lines += [f"The TXT records can be published again with: mta-sts-wizard publish {name} ({publish_with})", ""]
    kind = "failure" if urgent or any(c.problem.finding.severity == "error" for c in new) else "warning"
    if not new:
        kind = "success" if back else "info"
    return title, "\n".join(lines).rstrip() + "\n", kind


def _item(head: str, change: Change, timing: str) -> list[str]:
    f = change.problem.finding
    out = [f"{head} ({timing}): {shown(change.problem.what)}", f"  {f.severity} {f.code}: " + _text(f.message)]
    if f.address:
        out[-1] += f" [{shown(f.address)}]"
    if f.fix and change.kind != "recovered":
        out.append("  Fix: " + _text(f.fix))
    out.append("")
    return out


def _text(value: str) -> str:
    return " / ".join(shown(line) for line in value.splitlines()) if value else ""
