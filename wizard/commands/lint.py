"""`lint [FILE|-] [--txt VALUE] [--tlsrpt VALUE] [--json]`: offline checks of what the user wrote."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wizard.commands.common import EXIT_FINDINGS, EXIT_OK, UsageError
from wizard.findings import Finding, has_errors
from wizard.policy import PolicyFile, parse_policy, policy_advice
from wizard.records import parse_sts_record, parse_tlsrpt_record
from wizard.text import shown

MAX_POLICY_BYTES = 1 << 20


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("lint", help="check a policy file and/or TXT record values offline")
    p.add_argument("file", nargs="?", help="the policy file, or - for standard input")
    p.add_argument("--txt", metavar="VALUE", help="a _mta-sts TXT value, e.g. 'v=STSv1; id=2026'")
    p.add_argument("--tlsrpt", metavar="VALUE", help="a _smtp._tls TXT value, e.g. 'v=TLSRPTv1; rua=mailto:...'")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def read_policy_source(name: str) -> tuple[str, bytes]:
    """The bytes of FILE or stdin, or a UsageError that says what to do."""
    if name == "-":
        if sys.stdin is None:  # started with stdin closed (`<&-`)
            raise UsageError("standard input is closed; pipe the policy file in, or give its path instead of -")
        try:
            return "<stdin>", sys.stdin.buffer.read(MAX_POLICY_BYTES + 1)[:MAX_POLICY_BYTES]
        except OSError as exc:
            raise UsageError(f"cannot read standard input ({exc.strerror or exc}); give the file's path") from None
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"{name} is a folder; give the policy file itself (e.g. {name}/.well-known/mta-sts.txt)")
    try:
        with path.open("rb") as fh:
            return name, fh.read(MAX_POLICY_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file; give the path of the policy file or - for stdin") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read it ({exc.strerror}); check the path and permissions") from None


def run(args: argparse.Namespace) -> int:
    if args.file is None and args.txt is None and args.tlsrpt is None:
        raise UsageError("nothing to check; give a policy FILE (or - for stdin), --txt VALUE or --tlsrpt VALUE")
    findings: list[Finding] = []
    policy: PolicyFile | None = None
    checked: list[str] = []
    if args.file is not None:
        subject, data = read_policy_source(args.file)
        parsed = parse_policy(data, subject=subject)
        policy = parsed.policy
        findings += parsed.findings
        if policy is not None:
            findings += policy_advice(policy, subject=subject)
        checked.append(subject)
    if args.txt is not None:
        findings += parse_sts_record(args.txt, subject="--txt")[1]
        checked.append("--txt")
    if args.tlsrpt is not None:
        findings += parse_tlsrpt_record(args.tlsrpt, subject="--tlsrpt")[1]
        checked.append("--tlsrpt")
    ok = not has_errors(findings)
    if args.json:
        doc: dict[str, Any] = {
            "version": 1,
            "ok": ok,
            "checked": checked,
            "policy": _policy_json(policy),
            "findings": [f.to_json() for f in findings],
        }
        print(json.dumps(doc, indent=2))
    else:
        for f in findings:
            print(shown(f.render()))
        errors = sum(f.severity == "error" for f in findings)
        warnings = sum(f.severity == "warning" for f in findings)
        print(shown(f"{'OK' if ok else 'FAIL'}: {', '.join(checked)}: {errors} error(s), {warnings} warning(s)"))
    return EXIT_OK if ok else EXIT_FINDINGS


def _policy_json(policy: PolicyFile | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {"mode": policy.mode, "max_age": policy.max_age, "mx": list(policy.mx)}
