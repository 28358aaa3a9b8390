"""`reports import PATH...` and `reports summary DOMAIN [--days N] [--json]`: the step-6 evidence from the CLI.

Import reads TLSRPT reports from files, emails, mailboxes and folders into the store in the
state dir, listing every input that held no importable report with a one-line reason. Emails
count only with a valid DKIM signature from the reporting domain (RFC 8460 §5.3); their keys are
looked up through --nameserver (default: the system's resolver) within --timeout.
Summary prints what the stored reports say about one domain (CONTRACT.md).
"""

from __future__ import annotations

import argparse
import json
import sys

from wizard.commands.common import EXIT_CANNOT_RUN, EXIT_FINDINGS, EXIT_OK, UsageError, add_state_dir_option, state_dir
from wizard.domain import DomainError, normalise_domain
from wizard.mx import validate_mx_pattern
from wizard.receiver import command as receiver_command
from wizard.reports.dkim import DnsKeyLookup, use_key_lookup
from wizard.reports.ingest import import_paths
from wizard.reports.store import ReportStore, StoreError, store_path
from wizard.text import shown


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
            "stored are skipped. Report emails must carry a valid DKIM signature from the reporting domain "
            "(RFC 8460); unsigned ones are skipped. Exit 0 when every input imported, 1 when some were "
            "skipped (each is listed with the reason)."
        ),
    )
    imp.add_argument("paths", nargs="+", metavar="PATH", help="a report, email, mailbox or folder")
    _add_dkim_dns_options(imp, timeout=True)
    add_state_dir_option(imp)
    imp.set_defaults(func=run_import)

    _register_fetch_imap(actions)
    receiver_command.register(actions)

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


def _register_fetch_imap(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from wizard.commands.common import positive_float

    imap = actions.add_parser(
        "fetch-imap",
        help="read report emails from an IMAP mailbox over TLS into the store (read-only)",
        description=(
            "Read TLSRPT report emails from an IMAP folder over TLS (port 993) into the local store, "
            "without marking them read. The password comes from MTA_STS_WIZARD_IMAP_PASSWORD or a prompt "
            "and is never saved. Exit 0 when every message imported, 1 when some were skipped, 3 when the "
            "server cannot be reached or refuses the login."
        ),
    )
    imap.add_argument("host", metavar="HOST", help="the IMAP server (its certificate must match this name)")
    imap.add_argument("--port", type=_port, default=993, help="IMAP over TLS port (default 993)")
    imap.add_argument("--user", required=True, metavar="USER", help="the login name")
    imap.add_argument("--folder", default="INBOX", metavar="FOLDER", help="the folder to read (default INBOX)")
    imap.add_argument("--since", type=_days, metavar="DAYS", help="only messages received in the last DAYS days")
    imap.add_argument(
        "--all-messages",
        action="store_true",
        help="read every message, not only those with a TLS-Report-Domain or tlsrpt Content-Type header",
    )
    imap.add_argument("--ca-bundle", metavar="FILE", help="trust these roots (SSL_CERT_FILE is honoured too)")
    imap.add_argument(
        "--timeout",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="per network operation, DKIM key lookups included (default 30)",
    )
    imap.add_argument(
        "--deadline",
        type=positive_float,
        default=600.0,
        metavar="SECONDS",
        help="the most the whole IMAP session may take, however the server drips its answers (default 600)",
    )
    _add_dkim_dns_options(imap, timeout=False)
    add_state_dir_option(imap)
    imap.set_defaults(func=run_fetch_imap)


def _add_dkim_dns_options(parser: argparse.ArgumentParser, *, timeout: bool) -> None:
    """--nameserver (and --timeout) for looking up the DKIM keys report emails are signed with."""
    from wizard.commands.common import positive_float

    parser.add_argument(
        "--nameserver",
        action="append",
        default=[],
        metavar="ADDR[:PORT]",
        help="look DKIM keys up through this server instead of the system's resolver (repeatable)",
    )
    if timeout:
        parser.add_argument(
            "--timeout",
            type=positive_float,
            default=10.0,
            metavar="SECONDS",
            help="deadline for each DKIM key lookup (default 10)",
        )


def _key_lookup(args: argparse.Namespace) -> DnsKeyLookup:
    """DKIM key lookups through --nameserver within --timeout; a bad --nameserver is a usage error."""
    from wizard.nameserver import parse_nameserver

    for ns in args.nameserver:
        try:
            parse_nameserver(ns)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return DnsKeyLookup(tuple(args.nameserver), timeout=args.timeout)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 1-65535, got {text!r}")
    return int(text)


def run_fetch_imap(args: argparse.Namespace) -> int:
    """Connect and log in first (nothing is created on a refused login), then import like `reports import`."""
    from wizard.commands.common import ca_bundle
    from wizard.reports.imap import ImapError, ImapSession, ImapSettings, PasswordMissing, read_password
    from wizard.reports.ingest import import_candidates

    if not args.folder.isascii() or not args.folder.strip():
        raise UsageError(f"--folder {args.folder!r}: give the folder's ASCII name as the server lists it")
    keys = _key_lookup(args)
    settings = ImapSettings(
        host=args.host,
        user=args.user,
        port=args.port,
        folder=args.folder,
        since_days=args.since,
        ca_bundle=ca_bundle(args.ca_bundle),
        timeout=args.timeout,
        reports_only=not args.all_messages,
        deadline=args.deadline,
    )
    try:
        password = read_password(user=args.user, host=args.host)
    except PasswordMissing as exc:
        raise UsageError(str(exc)) from None
    try:
        session = ImapSession(settings, password)
    except ImapError as exc:
        sys.stderr.write(f"mta-sts-wizard: {shown(exc)}\n")
        return EXIT_CANNOT_RUN
    finally:
        del password
    try:
        with session, _open_store(args) as store, use_key_lookup(keys):
            outcome = import_candidates(store, session.candidates())
    except StoreError as exc:
        sys.stderr.write(f"mta-sts-wizard: {shown(exc)}\n")
        return EXIT_CANNOT_RUN
    print(outcome.render())
    if session.error:
        sys.stderr.write(f"mta-sts-wizard: {shown(session.error)}\n")
        return EXIT_CANNOT_RUN
    return EXIT_FINDINGS if outcome.rejected else EXIT_OK


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError(f"expected between 1 and 3660 days, got {value}")
    return value


def _missing_action(args: argparse.Namespace) -> int:
    raise UsageError(
        "say what to do: 'reports import PATH...', 'reports fetch-imap HOST --user USER', 'reports serve' or "
        "'reports summary DOMAIN'"
    )


def _open_store(args: argparse.Namespace) -> ReportStore:
    return ReportStore(store_path(state_dir(args.state_dir)))


def run_import(args: argparse.Namespace) -> int:
    keys = _key_lookup(args)
    try:
        with _open_store(args) as store, use_key_lookup(keys):
            outcome = import_paths(store, args.paths)
    except StoreError as exc:
        sys.stderr.write(f"mta-sts-wizard: {shown(exc)}\n")
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
        sys.stderr.write(f"mta-sts-wizard: {shown(exc)}\n")
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
