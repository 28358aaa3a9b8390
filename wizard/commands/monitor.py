"""`monitor DOMAIN... [--notify URL]... [--json]`: one monitoring pass, for cron or a systemd timer.

Runs the full check, imports new reports from the domain's saved sources, compares with the
previous pass (kept in the state dir) and notifies each new problem once and its recovery once,
through apprise URLs given with --notify and saved per domain in step 6.

Exit codes (CONTRACT.md): 0 no open problem, 1 open problems, 2 bad usage, 3 the pass could not
run (no DNS resolver answered, or the state dir cannot hold the record).

`--json` prints `{"version": 1, "domains": [{"domain", "checked_at", "ok", "open": [finding...],
"new": [...], "recovered": [...], "notified": [URL scheme...]}]}`; each finding as in
`check --json`, plus `what` (what changed, in words), `since` (when it was first seen) and, for
an MX change in enforce mode, `urgent: true`. A domain that could not be judged has `incomplete`
(why), and `errors` lists what went wrong on our side (a notification that failed, a lock held).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from wizard.commands.common import (
    EXIT_CANNOT_RUN,
    EXIT_FINDINGS,
    EXIT_OK,
    UsageError,
    add_network_options,
    domains_from_args,
    network_settings,
    state_dir,
)
from wizard.text import shown

if TYPE_CHECKING:
    from wizard.monitor.run import DomainOutcome


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "monitor",
        help="one monitoring pass for cron/systemd: notify new problems and recoveries once",
        description=(
            "Check each DOMAIN, fetch new TLS reports from its saved sources, compare with the last pass and "
            "notify what changed: each new problem once, its recovery once, nothing while nothing changes. "
            "Exit 0 no open problem, 1 open problems, 3 the pass could not run."
        ),
    )
    p.add_argument("domains", nargs="+", metavar="DOMAIN", help="the mail domain(s) to watch")
    p.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL",
        help="also notify this apprise URL (repeatable), e.g. mailto://user:pass@host?to=you@example.com, "
        "json://host/path, slack://..., ntfy://...; URLs saved in step 6 are always used",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document (see CONTRACT.md)")
    p.add_argument("--no-smtp", action="store_true", help="skip the port-25 STARTTLS probes")
    add_network_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: every command's parser is built for any command, and these pull in the engine.
    from wizard.engine import CheckOptions
    from wizard.monitor.notify import url_problem
    from wizard.monitor.run import PassSettings, could_not_run, monitor_pass

    settings = network_settings(args)
    domains = domains_from_args(args.domains, "monitor")
    for url in args.notify:
        problem = url_problem(url)
        if problem is not None:
            raise UsageError(f"--notify {shown(url.split('://', 1)[0])}://…: {problem}")
    pass_settings = PassSettings(
        root=state_dir(args.state_dir),
        check=CheckOptions.from_settings(settings, probe_smtp=not args.no_smtp),
        notify_urls=tuple(dict.fromkeys(args.notify)),
    )
    outcomes = asyncio.run(monitor_pass(domains, pass_settings))
    if args.json:
        doc: dict[str, Any] = {"version": 1, "domains": [o.to_json() for o in outcomes]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(render(o) for o in outcomes) + "\n")
    for o in outcomes:
        for error in o.errors:
            sys.stderr.write(f"mta-sts-wizard: {o.domain}: {shown(error)}\n")
    if could_not_run(outcomes):
        sys.stderr.write("mta-sts-wizard: the monitoring pass could not run (see above); nothing was notified\n")
        return EXIT_CANNOT_RUN
    return EXIT_FINDINGS if any(o.open for o in outcomes) else EXIT_OK


def render(o: DomainOutcome) -> str:
    """The human lines for one domain: the verdict, then what changed, then what stays open."""
    head = f"{o.domain}: {'OK' if o.ok else f'{len(o.open)} open problem(s)'}"
    if o.new or o.recovered:
        head += f" ({len(o.new)} new, {len(o.recovered)} recovered)"
    if o.notified:
        head += f"; notified {', '.join(sorted(set(o.notified)))}"
    lines = [head]
    if o.incomplete:
        lines.append(f"  not judged: {shown(o.incomplete)}")
    for c in o.new:
        lines.append(f"  NEW: {shown(c.problem.what)}: {_line(c.problem.finding.message)}")
        if c.problem.finding.fix:
            lines.append(f"       Fix: {_line(c.problem.finding.fix)}")
    for c in o.recovered:
        lines.append(f"  RECOVERED: {shown(c.problem.what)}")
    for c in o.notices:
        lines.append(f"  CHANGED: {_line(c.problem.finding.message)}")
    fresh = {id(c.problem) for c in o.new}
    for p in o.open:
        if id(p) not in fresh and not any(c.problem.finding == p.finding for c in o.new):
            lines.append(f"  open since {p.since:%Y-%m-%d %H:%M} UTC: {shown(p.what)}")
    return "\n".join(lines)


def _line(text: str) -> str:
    return " / ".join(shown(line) for line in text.splitlines())
