"""`reports import PATH...` and `reports summary DOMAIN [--days N] [--json]`: the step-6 evidence from the CLI.

Import reads TLSRPT reports from files, emails, mailboxes and folders into the store in the
state dir, listing every input that held no importable report with a one-line reason.
Summary prints what the stored reports say about one domain (CONTRACT.md).
"""

from __future__ import annotations

import argparse
import json
import sys

from wizard.commands.common import EXIT_CANNOT_RUN, EXIT_FINDINGS, EXIT_OK, UsageError, add_state_dir_option, state_dir
from wizard.domain import DomainError, normalise_domain
from wizard.mx import validate_mx_pattern
from wizard.reports.inputs import import_paths
from wizard.reports.store import ReportStore, StoreError, store_path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from wizard.commands.common import OneLineParser

    p = sub.add_parser("reports", help="import TLSRPT reports and summarise them")
    actions = p.add_subparsers(dest="reports_command", metavar="ACTION", parser_class=OneLineParser)
    p.set_defaults(func=_missing_action)

    imp = actions.add_parser(
        "import",
        help="read reports (.json, .json.gz, .eml, mbox, Maildir, folders of these) into the store",
        description=(
            "Read TLSRPT reports into the local store. Folders are read recursively; reports already "
            "stored are skipped. Exit 0 when every input imported, 1 when some were skipped (each is "
            "listed with the reason)."
        ),
    )
    imp.add_argument("paths", nargs="+", metavar="PATH", help="a report, email, mailbox or folder")
    add_state_dir_option(imp)
    imp.set_defaults(func=run_import)

    summ = actions.add_parser("summary", help="success/failure counts by day, result type, MX and sending IP")
    summ.add_argument("domain", metavar="DOMAIN")
    summ.add_argument("--days", type=_days, metavar="N", help="only the last N days, today included (UTC)")
    summ.add_argument(
        "--mx",
        action="append",
        metavar="PATTERN",
        help="an mx pattern of the current policy (repeatable); default: the saved policy's, else the latest reported",
    )
    summ.add_argument("--json", action="store_true", help="print one JSON document")
    add_state_dir_option(summ)
    summ.set_defaults(func=run_summary)


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError(f"expected between 1 and 3660 days, got {value}")
    return value


def _missing_action(args: argparse.Namespace) -> int:
    raise UsageError("say what to do: 'reports import PATH...' or 'reports summary DOMAIN'")


def _open_store(args: argparse.Namespace) -> ReportStore:
    return ReportStore(store_path(state_dir(args.state_dir)))


def run_import(args: argparse.Namespace) -> int:
    try:
        with _open_store(args) as store:
            outcome = import_paths(store, args.paths)
    except StoreError as exc:
        sys.stderr.write(f"mta-sts-wizard: {exc}\n")
        return EXIT_CANNOT_RUN
    print(outcome.render())
    return EXIT_FINDINGS if outcome.rejected else EXIT_OK


def _saved_patterns(state_dir_arg: str | None, domain: str) -> list[str] | None:
    """The mx patterns of the policy this program saved for the domain, if there is one."""
    from wizard.state import StateError, StateStore

    try:
        loaded = StateStore(state_dir(state_dir_arg)).read(domain)
    except StateError:  # a damaged or unreadable state is reported by `status`; here it only means "unknown"
        return None
    if loaded.state is None or loaded.state.policy is None:
        return None
    return [p.lower() for p in loaded.state.policy.mx] or None


def run_summary(args: argparse.Namespace) -> int:
    try:
        domain = normalise_domain(args.domain).ascii
    except DomainError as exc:
        raise UsageError(str(exc)) from None
    patterns = None
    source = None
    if args.mx:
        for pattern in args.mx:
            problem = validate_mx_pattern(pattern)
            if problem:
                raise UsageError(f"--mx {pattern}: {problem}")
        patterns, source = [p.strip().lower() for p in args.mx], "--mx"
    else:
        saved = _saved_patterns(args.state_dir, domain)
        if saved:
            patterns, source = saved, "saved policy"
    path = store_path(state_dir(args.state_dir))
    if not path.exists():
        raise UsageError(f"no reports imported yet ({path} does not exist); run 'mta-sts-wizard reports import PATH'")
    try:
        with ReportStore(path) as store:
            summary = store.summary(domain, days=args.days, policy_patterns=patterns)
            if patterns is None and summary.latest_policy_patterns:
                patterns, source = summary.latest_policy_patterns, "latest report"
                summary = store.summary(domain, days=args.days, policy_patterns=patterns)
    except StoreError as exc:
        sys.stderr.write(f"mta-sts-wizard: {exc}\n")
        return EXIT_CANNOT_RUN
    if args.json:
        doc = summary.to_json()
        doc["policy_source"] = source
        print(json.dumps(doc, indent=2))
    else:
        print(summary.render())
        if source == "latest report":
            print("(mx patterns taken from the latest reported policy; pass --mx PATTERN to check against yours)")
    return EXIT_OK
