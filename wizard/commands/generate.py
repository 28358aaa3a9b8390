"""`generate DOMAIN [--mx HOST]... [--mode M] [--max-age N] [--rua URI]... [--out DIR] [--json]`."""

from __future__ import annotations

import argparse
import sys

from wizard.commands.common import EXIT_OK, CannotRunError, UsageError, add_network_options, network_settings
from wizard.domain import DomainError, normalise_domain
from wizard.generate import RecordSet, build_record_set, render_json, render_table, render_zone
from wizard.hosting import HostingError
from wizard.hosting.command import add_hosting_options, add_to_json, hosting_from_args
from wizard.mx import validate_mx_pattern
from wizard.policy import MAX_AGE_LIMIT, MODES
from wizard.records import validate_rua_uri
from wizard.text import shown


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("generate", help="print the policy file and DNS records for a domain")
    p.add_argument("domain", help="the mail domain, e.g. example.com")
    p.add_argument("--mx", action="append", default=[], metavar="HOST", help="an mx pattern (repeatable)")
    p.add_argument("--mode", choices=MODES, default="testing", help="policy mode (default: testing)")
    p.add_argument("--max-age", type=int, default=86400, metavar="N", help="max_age in seconds (default 86400)")
    p.add_argument("--rua", action="append", default=[], metavar="URI", help="TLSRPT report address (repeatable)")
    p.add_argument("--id", dest="policy_id", metavar="ID", help="keep this policy id instead of making a new one")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--yes", action="store_true", help="go ahead with a risky move against saved progress (enforce, ...)"
    )
    add_hosting_options(p)
    add_network_options(p)
    p.set_defaults(func=run)


def record_set_from_args(args: argparse.Namespace, mx: list[str]) -> RecordSet:
    """Validate every argument with a one-line message, then build the records."""
    try:
        domain = normalise_domain(args.domain)
    except DomainError as exc:
        raise UsageError(str(exc)) from None
    for pattern in mx:
        problem = validate_mx_pattern(pattern)
        if problem:
            raise UsageError(f"--mx {problem}")
    if not 0 <= args.max_age <= MAX_AGE_LIMIT:
        raise UsageError(f"--max-age {args.max_age} is outside 0..{MAX_AGE_LIMIT} seconds; e.g. 604800 for a week")
    for uri in args.rua:
        problem = validate_rua_uri(uri)
        if problem:
            raise UsageError(f"--rua {problem}")
    if args.policy_id is not None:
        from wizard.ids import is_valid_id

        if not is_valid_id(args.policy_id):
            raise UsageError(f"--id {args.policy_id!r} must be 1 to 32 letters and digits")
    if not mx and args.mode != "none":
        raise UsageError(f"{domain.ascii} has no MX hosts to put in the policy; give them with --mx HOST")
    return build_record_set(domain, mx, args.mode, args.max_age, args.rua, args.policy_id)


def mx_from_dns(args: argparse.Namespace) -> list[str]:
    """The domain's MX hosts in preference order, for a policy made without --mx.

    A lookup that cannot run is exit 3; a domain without usable MX records is a
    usage problem (exit 2) whose one line says why and what to give instead.
    """
    import asyncio

    from wizard.engine import CheckOptions, probe_mx

    try:
        domain = normalise_domain(args.domain).ascii
    except DomainError as exc:
        raise UsageError(str(exc)) from None
    options = CheckOptions.from_settings(network_settings(args), probe_smtp=False, authoritative=False)
    probe = asyncio.run(probe_mx(domain, options))
    failed = [f for f in probe.findings if f.code == "dns-lookup-failed"]
    if failed:
        raise CannotRunError(f"{failed[0].message}; retry, pass --nameserver, or give the hosts with --mx HOST")
    if not probe.hosts:
        reason = probe.findings[0].message if probe.findings else f"{domain} has no MX records"
        raise UsageError(f"{reason}; give the MX hosts with --mx HOST")
    print(shown(f"# MX hosts of {domain} from DNS: {', '.join(probe.hosts)}"), file=sys.stderr)
    return list(probe.hosts)


def _gate(args: argparse.Namespace, domain: str, mx: list[str]) -> None:
    """Enforce, a longer max_age, an MX change in enforce or mode none against saved progress: say
    what it risks (wizard.lifecycle.gate) and refuse without --yes."""
    from wizard.commands.common import state_dir
    from wizard.lifecycle.command_hook import risky_generate

    lines = [] if args.yes else risky_generate(state_dir(args.state_dir), domain, args.mode, args.max_age, mx)
    if lines:
        sys.stderr.write("".join(f"{line}\n" for line in lines))
        raise UsageError(f"this is a risky move for {domain} (see above); run it again with --yes to go ahead")


def run(args: argparse.Namespace) -> int:
    mx = list(dict.fromkeys(args.mx))
    if not mx and args.mode != "none":
        mx = mx_from_dns(args)
    rs = record_set_from_args(args, mx)
    _gate(args, rs.domain.ascii, mx)
    try:  # step 2 files are rendered and written before anything is printed
        hosting = hosting_from_args(args, rs.domain.ascii, rs.policy_text)
    except HostingError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(add_to_json(render_json(rs), hosting), end="")
        return EXIT_OK
    print(f"# Policy file: serve it at {rs.domain.policy_url}")
    print(rs.policy_text)
    print("# DNS records (zone-file form)")
    print(render_zone(rs))
    print("# DNS records (for a web DNS panel)")
    print(render_table(rs), end="")
    if hosting is not None:
        print(hosting.render_text(), end="")
    return EXIT_OK
