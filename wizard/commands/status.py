"""`status [DOMAIN] [--json]`: the saved progress of each domain, for people and scripts.

Reads only: it takes no lock and never repairs or rewrites a file, so it is safe to run
while a wizard is open on the domain. A damaged file is reported on stderr in one line
and the backup is shown instead.

`--json` prints one document: `{"version": 1, "state_dir": ..., "domains": [DOMAIN...]}`,
each domain as `domain_json()` builds it (with DOMAIN given, the list has one entry).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from wizard.commands.common import EXIT_OK, PROG, UsageError, add_network_options, state_dir
from wizard.lifecycle.hooks import step6_status
from wizard.lifecycle.step_state import live_mode
from wizard.state import (
    STEP_NAMES,
    DomainState,
    NewerSchemaError,
    StateError,
    StateStore,
    first_unverified_step,
    removal_safe_at,
)
from wizard.state.model import time_to_json
from wizard.text import shown, shown_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("status", help="saved progress of each domain: step reached, mode, id, dates")
    p.add_argument("domain", nargs="?", help="show one domain in detail (default: list every saved domain)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--live", action="store_true", help="with DOMAIN: check what is published now and place the domain (no save)"
    )
    p.add_argument("--forget", action="store_true", help="with DOMAIN and --yes: delete its saved progress")
    p.add_argument("--yes", action="store_true", help="confirm --forget")
    add_network_options(p)
    p.set_defaults(func=run)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def domain_json(state: DomainState, *, newer: bool = False) -> dict[str, Any]:
    """One domain in `status --json`: where it stands, the ids and the mode history."""
    step = first_unverified_step(state)
    history = state.mode_history
    last = state.last_check
    pending = state.pending_change
    return {
        "domain": state.domain,
        "unicode": state.unicode_name or state.domain,
        "step": step,
        "step_name": STEP_NAMES[step],
        "mode": state.mode,
        "live_mode": live_mode(state),
        "id": state.policy_id,
        "created_at": time_to_json(state.created_at),
        "updated_at": time_to_json(state.updated_at),
        "newer_schema": newer,
        "steps": [
            {
                "step": n,
                "name": STEP_NAMES[n],
                "status": rec.status,
                "changed_at": time_to_json(rec.changed_at),
                "checked_at": time_to_json(rec.checked_at),
                "detail": rec.detail,
            }
            for n, rec in sorted(state.steps.items())
        ],
        "policy": (
            {"mode": state.policy.mode, "max_age": state.policy.max_age, "mx": list(state.policy.mx)}
            if state.policy
            else None
        ),
        "ids": [
            {"id": e.id, "created_at": time_to_json(e.created_at), "retired_at": time_to_json(e.retired_at)}
            for e in state.id_history
        ],
        "testing_since": time_to_json(history.testing_started_at),
        "enforce_since": time_to_json(history.enforce_started_at),
        "none_since": time_to_json(history.none_started_at),
        "served": [
            {
                "mode": s.mode,
                "max_age": s.max_age,
                "id": s.policy_id,
                "first_served_at": time_to_json(s.first_served_at),
                "last_served_at": time_to_json(s.last_served_at),
                "current": s.current,
            }
            for s in history.served
        ],
        "removal_safe_at": time_to_json(removal_safe_at(state)),
        "hosting": state.hosting,
        "rua": list(state.rua),
        "last_check": (
            {
                "checked_at": time_to_json(last.checked_at),
                "errors": sum(f.severity == "error" for f in last.findings),
                "warnings": sum(f.severity == "warning" for f in last.findings),
                "codes": sorted({f.code for f in last.findings}),
            }
            if last
            else None
        ),
        "pending_change": (
            {"kind": pending.kind, "stage": pending.stage, "started_at": time_to_json(pending.started_at)}
            if pending
            else None
        ),
        "notes": state.notes,
    }


def _detail_lines(state: DomainState, newer: bool) -> list[str]:
    doc = domain_json(state, newer=newer)
    name = state.domain if not state.unicode_name else f"{state.unicode_name} ({state.domain})"
    lines = [
        name + (" [saved by a newer mta-sts-wizard; read-only]" if newer else ""),
        f"  step reached: {doc['step']} ({doc['step_name']})",
        f"  mode: {doc['mode'] or '-'}    live: {doc['live_mode'] or '-'}    id: {doc['id'] or '-'}",
        f"  started: {_when(state.created_at)}    last saved: {_when(state.updated_at)}",
        "  steps:",
    ]
    for n, rec in sorted(state.steps.items()):
        detail = f"  {rec.detail}" if rec.detail else ""
        lines.append(f"    {n} {STEP_NAMES[n]:<20} {rec.status:<12} {_when(rec.changed_at)}{detail}")
    history = state.mode_history
    if history.testing_started_at:
        lines.append(f"  testing since: {_when(history.testing_started_at)}")
    if history.enforce_started_at:
        lines.append(f"  enforce since: {_when(history.enforce_started_at)}")
    if history.none_started_at:
        lines.append(f"  mode none since: {_when(history.none_started_at)}")
    for s in history.served:
        now = " (current)" if s.current else ""
        lines.append(
            f"  served: {s.mode} max_age {s.max_age} id {s.policy_id}, "
            f"{_when(s.first_served_at)} .. {_when(s.last_served_at)}{now}"
        )
    if state.id_history:
        ids = ", ".join(f"{e.id} ({_when(e.created_at)})" for e in state.id_history)
        lines.append(f"  ids: {ids}")
    if state.hosting:
        lines.append(f"  hosting: {state.hosting}")
    if state.rua:
        lines.append(f"  rua: {', '.join(state.rua)}")
    if state.last_check:
        lc = doc["last_check"]
        lines.append(
            f"  last check: {_when(state.last_check.checked_at)}: {lc['errors']} error(s), {lc['warnings']} warning(s)"
        )
    if state.pending_change:
        pc = state.pending_change
        lines.append(f"  unfinished change: {pc.kind}, at stage {pc.stage} (since {_when(pc.started_at)})")
    if state.notes:
        lines.append("  notes: " + state.notes.replace("\n", " / "))
    return lines


def _normalise(text: str) -> str:
    from wizard.domain import DomainError, normalise_domain

    try:
        return normalise_domain(text).ascii
    except DomainError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    root = state_dir(args.state_dir)
    store = StateStore(root)
    if (args.live or args.forget) and args.domain is None:
        raise UsageError("--live and --forget need a DOMAIN, e.g. 'status example.com --live'")
    try:
        if args.forget:
            return _forget(store, _normalise(args.domain), yes=args.yes)
        if args.live:
            from wizard.commands.status_live import run_live

            return run_live(args, store, _normalise(args.domain))
        if args.domain is not None:
            return _one(store, _normalise(args.domain), as_json=args.json)
        return _all(store, as_json=args.json)
    except StateError as exc:
        raise UsageError(str(exc)) from None


def _all(store: StateStore, *, as_json: bool) -> int:
    root = store.root
    summaries = store.list_domains()
    for s in summaries:
        for message in s.messages:
            sys.stderr.write(f"{PROG}: {shown(message)}\n")
    if as_json:
        doc = {
            "version": 1,
            "state_dir": str(root),
            "domains": [domain_json(s.state, newer=s.newer) for s in summaries if s.readable],
        }
        print(shown_json(doc))
        return EXIT_OK
    if not summaries:
        print(f"no saved progress in {store.dir}; run '{PROG} DOMAIN' to start one")
        return EXIT_OK
    rows = [("DOMAIN", "STEP", "MODE", "ID", "LAST SAVED")]  # saved values shown escaped, as all the rest
    for s in summaries:
        step = f"{s.step_reached} {s.step_name}" if s.readable else "? (unreadable, see above)"
        rows.append((shown(s.unicode_name), step, shown(s.mode or "-"), shown(s.policy_id or "-"), _when(s.updated_at)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


def _one(store: StateStore, domain: str, *, as_json: bool) -> int:
    try:
        result = store.read(domain)
    except NewerSchemaError as exc:
        raise UsageError(str(exc)) from None
    for message in result.messages:
        sys.stderr.write(f"{PROG}: {shown(message)}\n")
    if result.state is None:
        known = store.domains()
        hint = f"saved domains: {', '.join(known)}" if known else "nothing is saved yet"
        raise UsageError(
            f"no saved progress for {domain} ({hint}); run '{PROG} status {domain} --live' to see what is "
            f"published, or '{PROG} {domain}' to start it"
        )
    step6 = step6_status(result.state, store.root)
    if as_json:
        entry = domain_json(result.state, newer=result.newer)
        if step6 is not None:
            entry["readiness"] = step6[0]
        doc = {"version": 1, "state_dir": str(store.root), "domains": [entry]}
        print(shown_json(doc))
    else:
        lines = _detail_lines(result.state, result.newer)
        if step6 is not None:
            lines += ["  step 6: " + step6[1][0], *(f"    {line}" for line in step6[1][1:])]
        # Saved details and the step 6 lines quote reports and peers: one escaped line each.
        print("\n".join(shown(line) for line in lines))
    return EXIT_OK


def _forget(store: StateStore, domain: str, *, yes: bool) -> int:
    """Delete a domain's saved progress (asked first: --yes). Nothing published changes."""
    from wizard.state.forget import forget_domain

    if domain not in store.domains():
        raise UsageError(f"no saved progress for {domain}; nothing to forget")
    if not yes:
        raise UsageError(
            f"this deletes the saved progress of {domain} (its ids and history; nothing published changes); "
            "run it again with --yes to go ahead"
        )
    forget_domain(store, domain)
    print(f"forgot {domain}: its saved progress is deleted from {store.dir} (imported reports are kept)")
    return EXIT_OK
