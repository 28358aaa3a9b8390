"""`publish DOMAIN --via rfc2136|lexicon:PROVIDER [...]`: write the TXT records through the user's DNS.

Order of safety (issue 17): read the current records; print the change record by record
(add / replace / keep) and ask (`--yes` does not ask, `--dry-run` asks nothing and changes
nothing); change only the `v=STSv1` / `v=TLSRPTv1` record the program owns at each name;
then run the live check (authoritative servers first, then the resolver).

Records: the saved id and report addresses of the domain, or what `generate` would make from
the options (`--id`, `--rua`; a policy option without `--id` means a new id). The host record
`mta-sts.<domain>` is not published by this command: it points at the web host of step 2.

Secrets: `--tsig`, else `MTA_STS_WIZARD_TSIG`, else a masked prompt; lexicon's own variables
(`LEXICON_<PROVIDER>_<OPTION>`), else a masked prompt for the provider's `auth_token`. None is
saved; the saved progress keeps only the method (`publish_method`).

Exit codes (CONTRACT): 0 published and seen (also: a dry run, or nothing to change and all
seen), 1 published but not yet seen, 2 bad usage, 3 the DNS refused or could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from wizard.commands.common import (
    EXIT_CANNOT_RUN,
    EXIT_FINDINGS,
    EXIT_OK,
    PROG,
    UsageError,
    add_network_options,
    network_settings,
    state_dir,
)
from wizard.domain import DomainError, normalise_domain
from wizard.policy import MODES, PolicyFile
from wizard.publish import PublishRefused, PublishUsageError, Wanted, wanted_records
from wizard.publish.method import Method, Target, open_target, parse_via
from wizard.publish.plan import Existing, plan_changes
from wizard.publish.tsig import ENV_TSIG, TsigKey, parse_tsig

if TYPE_CHECKING:
    from wizard.commands.common import NetworkSettings
    from wizard.state import DomainState


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("publish", help="publish the _mta-sts and _smtp._tls TXT records through your DNS")
    p.add_argument("domain", help="the mail domain, e.g. example.com")
    p.add_argument("--mx", action="append", default=[], metavar="HOST", help="an mx pattern (a new policy: new id)")
    p.add_argument("--mode", choices=MODES, help="policy mode (a new policy: new id)")
    p.add_argument("--max-age", type=int, metavar="N", help="max_age in seconds (a new policy: new id)")
    p.add_argument("--rua", action="append", default=[], metavar="URI", help="TLSRPT report address (repeatable)")
    p.add_argument("--id", dest="policy_id", metavar="ID", help="the policy id to publish")
    p.add_argument("--via", metavar="METHOD", help="rfc2136 or lexicon:PROVIDER (default: the saved method)")
    p.add_argument("--server", metavar="ADDR[:PORT]", help="RFC 2136: the primary (default: the SOA MNAME)")
    p.add_argument("--tsig", metavar="NAME:ALG:SECRET", help=f"RFC 2136 key (better: {ENV_TSIG} or the prompt)")
    p.add_argument("--dry-run", action="store_true", help="show the change and change nothing")
    p.add_argument("--yes", action="store_true", help="publish without asking")
    add_network_options(p)
    p.set_defaults(func=run)


def _saved_state(args: argparse.Namespace, domain: str) -> DomainState | None:
    from wizard.state import StateError, StateStore

    try:
        return StateStore(state_dir(args.state_dir)).read(domain).state
    except (StateError, OSError) as exc:
        print(f"{PROG}: the saved progress of {domain} could not be read ({exc}); using the options", file=sys.stderr)
        return None


def _records(args: argparse.Namespace, domain: str, saved: DomainState | None) -> list[Wanted]:
    from wizard.ids import is_valid_id, new_policy_id
    from wizard.records import validate_rua_uri

    for uri in args.rua:
        problem = validate_rua_uri(uri)
        if problem:
            raise UsageError(f"--rua {problem}")
    if args.policy_id is not None and not is_valid_id(args.policy_id):
        raise UsageError(f"--id {args.policy_id!r} must be 1 to 32 letters and digits")
    new_policy = bool(args.mx or args.mode or args.max_age is not None)
    policy_id = args.policy_id
    if policy_id is None and not new_policy and saved is not None:
        policy_id = saved.policy_id
    if policy_id is None and new_policy:
        policy_id = new_policy_id()
    rua = list(dict.fromkeys(args.rua)) or (list(saved.rua) if saved is not None else [])
    wanted = wanted_records(domain, policy_id, rua)
    if not wanted:
        raise UsageError(
            f"nothing to publish for {domain}: no saved progress; give --id ID and/or --rua URI, or run the wizard"
        )
    return wanted


def _new_policy(args: argparse.Namespace, saved: DomainState | None) -> PolicyFile | None:
    """The policy the options describe (the saved one with the options applied), or None when no
    policy option was given."""
    if not (args.mx or args.mode or args.max_age is not None):
        return None
    base = saved.policy.to_policy_file() if saved is not None and saved.policy is not None else None
    mode = args.mode or (base.mode if base else None)
    max_age = args.max_age if args.max_age is not None else (base.max_age if base else None)
    mx = tuple(args.mx) or (base.mx if base else ())
    if mode is None or max_age is None or (not mx and mode != "none"):
        raise UsageError("a new policy needs --mode, --max-age and --mx (no saved policy to start from)")
    return PolicyFile(mode=mode, max_age=max_age, mx=mx)


def _served_first(domain: str, policy: PolicyFile, saved: DomainState | None, settings: NetworkSettings) -> None:
    """RFC 8461 §8.1: a new id is published only once every address of the policy host serves the
    new file, or senders could cache the old file under the new id. Refuses (exit 2) otherwise."""
    from wizard.engine import CheckOptions, probe_policy
    from wizard.lifecycle.switch import served_check
    from wizard.state import utc_now
    from wizard.text import shown

    options = CheckOptions.from_settings(settings, probe_smtp=False)
    old = saved.policy.to_policy_file() if saved is not None and saved.policy is not None else None
    check = served_check(asyncio.run(probe_policy(domain, options)), policy, old, utc_now())
    if not check.ok:
        for line in check.lines():
            print(f"{PROG}: {shown(line)}", file=sys.stderr)
        raise UsageError(
            f"not publishing a new id: serve the new policy file at https://mta-sts.{domain}/.well-known/mta-sts.txt "
            "on every address first ('generate ... --out DIR' writes it), then run publish again"
        )


def _method(args: argparse.Namespace, saved: DomainState | None) -> Method:
    if args.via:
        return parse_via(args.via, args.server)
    method = Method.from_saved(saved.publish_method) if saved is not None else None
    if method is None:
        raise UsageError("say how to publish: --via rfc2136 [--server ADDR] or --via lexicon:PROVIDER")
    if args.server and not method.provider:
        method = Method(method.via, args.server)
    return method


def _ask_secret(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(prompt)


def _tsig(args: argparse.Namespace, method: Method, ask: Callable[[str], str | None]) -> TsigKey | None:
    if method.provider:
        if args.tsig:
            raise UsageError("--tsig is for --via rfc2136")
        return None
    if args.tsig:
        return parse_tsig(args.tsig)
    env = os.environ.get(ENV_TSIG)
    if env:
        return parse_tsig(env, ENV_TSIG)
    typed = ask("TSIG key (NAME:ALGORITHM:SECRET, not shown): ")
    if not typed:
        raise UsageError(f"RFC 2136 needs a TSIG key: set {ENV_TSIG}=NAME:ALG:SECRET (or type it at the prompt)")
    return parse_tsig(typed, "the key typed")


def _lexicon_options(method: Method, ask: Callable[[str], str | None]) -> dict[str, str]:
    """A masked prompt for the provider's auth_token when lexicon's variable is not set."""
    from wizard.publish.lexicon_dns import env_name, provider_options

    provider = method.provider
    if (
        provider is None
        or "auth_token" not in provider_options(provider)
        or os.environ.get(env_name(provider, "auth_token"))
    ):
        return {}
    typed = ask(f"{provider} API token (or set {env_name(provider, 'auth_token')}; not shown): ")
    return {"auth_token": typed} if typed else {}


def _confirm() -> bool:
    if not sys.stdin.isatty():
        raise UsageError("not asking without a terminal: add --yes to publish, or --dry-run to only show the change")
    answer = input("Publish these changes? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def _remember(args: argparse.Namespace, domain: str, method: Method) -> None:
    """Save the method (never the secret) for a domain the wizard already knows."""
    from wizard.state import StateError, StateStore

    store = StateStore(state_dir(args.state_dir))

    def change(state: DomainState) -> None:
        state.publish_method = method.to_saved()

    try:
        if store.read(domain).state is not None:
            store.update(domain, change)
    except (StateError, OSError) as exc:
        print(f"{PROG}: published, but the method could not be saved: {exc}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        domain = normalise_domain(args.domain).ascii
    except DomainError as exc:
        raise UsageError(str(exc)) from None
    settings = network_settings(args)
    saved = _saved_state(args, domain)
    try:
        wanted = _records(args, domain, saved)
        method = _method(args, saved)
        policy = _new_policy(args, saved)
        if policy is not None and not args.dry_run:
            _served_first(domain, policy, saved, settings)
        tsig = _tsig(args, method, _ask_secret)
        given = _lexicon_options(method, _ask_secret)
    except PublishUsageError as exc:
        raise UsageError(str(exc)) from None
    try:
        return _publish(args, domain, wanted, method, tsig, given, settings)
    except PublishUsageError as exc:
        raise UsageError(str(exc)) from None
    except PublishRefused as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN


def _publish(
    args: argparse.Namespace,
    domain: str,
    wanted: list[Wanted],
    method: Method,
    tsig: TsigKey | None,
    given: Mapping[str, str],
    settings: NetworkSettings,
) -> int:
    from wizard.engine import CheckOptions
    from wizard.publish.verify import verify_published
    from wizard.text import shown

    async def prepare() -> tuple[Target, dict[str, list[Existing]]]:
        target = await open_target(
            domain,
            method,
            tsig=tsig,
            lexicon_options=given,
            nameservers=settings.nameservers,
            timeout=settings.timeout,
        )
        return target, await target.read([w.name for w in wanted])

    target, current = asyncio.run(prepare())
    plan = plan_changes(wanted, current)
    print(f"# {shown(target.describe())}")
    print("\n".join(plan.lines()))
    if args.dry_run:
        print("dry run: nothing was changed")
        return EXIT_OK
    if plan.pending:
        if not args.yes and not _confirm():
            print("not published: nothing was changed")
            return EXIT_OK
        changed = asyncio.run(target.apply(plan))
        print("published: " + "; ".join(changed))
        _remember(args, domain, method)
    else:
        print("nothing to change: every record is already published")
    options = CheckOptions.from_settings(settings, probe_smtp=False)
    result = asyncio.run(verify_published(domain, wanted, options))
    print("\n".join(result.lines))
    return EXIT_OK if result.seen else EXIT_FINDINGS
