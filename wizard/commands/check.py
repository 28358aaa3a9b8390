"""`check DOMAIN... [--json]`: run every live verification once, print a report, exit 0/1/2/3.

Exit codes (CONTRACT.md): 0 no error finding, 1 at least one error, 2 bad usage,
3 the checks could not run at all (no DNS resolver answered a single query).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from wizard.commands.common import (
    EXIT_CANNOT_RUN,
    EXIT_FINDINGS,
    EXIT_OK,
    add_network_options,
    domains_from_args,
    network_settings,
    state_dir,
)
from wizard.engine import CheckOptions, DomainReport
from wizard.lifecycle.command_hook import Step6Hook
from wizard.text import shown

STEP_TITLES = {
    1: "Policy file and MX coverage",
    2: "Policy hosting (HTTPS)",
    3: "_mta-sts TXT record",
    4: "TLS reporting (TLSRPT) record",
    5: "Mail servers: addresses, STARTTLS, certificates",
    6: "Monitoring",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check", help="verify one or more domains live and print a report")
    p.add_argument("domains", nargs="+", metavar="DOMAIN", help="the mail domain(s) to check")
    p.add_argument("--json", action="store_true", help="print one JSON document (see CONTRACT.md)")
    p.add_argument("--no-smtp", action="store_true", help="skip the port-25 STARTTLS probes")
    add_network_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = network_settings(args)
    domains = domains_from_args(args.domains, "check")
    options = CheckOptions.from_settings(settings, probe_smtp=not args.no_smtp)
    step6 = Step6Hook(state_dir(args.state_dir), domains)
    reports = asyncio.run(step6.check(domains, options))
    verdicts = step6.judge(reports, smtp_checked=not args.no_smtp)
    if args.json:
        docs = [r.to_json() for r in reports]
        for d in docs:
            if d["domain"] in verdicts:
                d["readiness"] = verdicts[d["domain"]].to_json()
        doc: dict[str, Any] = {"version": 1, "domains": docs}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write("\n\n".join(render_report(r) + step6.text(r) for r in reports) + "\n")
    if reports and all(r.resolver_unreachable for r in reports):
        sys.stderr.write("mta-sts-wizard: no DNS resolver answered; check --nameserver or the network\n")
        return EXIT_CANNOT_RUN
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FINDINGS


def render_report(report: DomainReport) -> str:
    """The human report: per step a pass/warn/fail line, what was seen, and each finding with its fix."""
    errors = sum(f.severity == "error" for f in report.findings)
    warnings = sum(f.severity == "warning" for f in report.findings)
    verdict = "OK" if report.ok else "FAIL"
    lines = [
        f"{report.domain}: {verdict} ({errors} error(s), {warnings} warning(s)) checked {report.checked_at} "
        f"in {report.elapsed_ms} ms"
    ]
    steps = sorted({c.step for c in report.checks} | {f.step for f in report.findings})
    details = _details(report)
    for step in steps:
        checks = [c for c in report.checks if c.step == step]
        findings = [f for f in report.findings if f.step == step]
        status = _worst([c.status for c in checks] + [_status_of(f.severity) for f in findings])
        if step == 5 and status == "pass" and not report.smtp and not (report.mx and report.mx.hosts):
            status = "skip"  # nothing was probed: not a pass
            details.setdefault(5, []).append("no mail server was checked: the domain has no MX host (see step 1)")
        lines.append(f"  [{status.upper():4}] step {step}: {STEP_TITLES.get(step, '')}")
        for text in details.get(step, []):
            lines.append(f"         {text}")
        for f in findings:
            lines.append(f"         {f.render()}")
    if report.resolver_unreachable:
        lines.append("  no DNS resolver answered: the checks could not run")
    # Each line quotes what peers sent (TXT values, certificate names, SMTP replies, HTTP headers):
    # escaped one line at a time, so a CR LF inside one cannot forge another (CONTRACT "Text output").
    return "\n".join(shown(line) for line in lines)


def _details(report: DomainReport) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if report.mx is not None and report.mx.summary:
        out.setdefault(1, []).append(report.mx.summary)
    if report.policy is not None:
        pol = report.policy
        out.setdefault(1, []).append(f"policy: mode {pol.mode}, max_age {pol.max_age}, mx {', '.join(pol.mx) or '-'}")
    if report.policy_probe is not None and report.policy_probe.summary:
        out.setdefault(2, []).append(report.policy_probe.summary)
    if report.sts is not None and report.sts.summary:
        out.setdefault(3, []).append(report.sts.summary)
    if report.tlsrpt is not None and report.tlsrpt.summary:
        out.setdefault(4, []).append(report.tlsrpt.summary)
    for probe in report.smtp:
        out.setdefault(5, []).append(probe.summary())
    return out


def _status_of(severity: str) -> str:
    return {"error": "fail", "warning": "warn"}.get(severity, "pass")


def _worst(statuses: list[str]) -> str:
    for s in ("fail", "warn"):
        if s in statuses:
            return s
    return "pass"
