"""What got worse since the last check: the re-verify-on-resume comparison.

The UI re-runs the checks of the steps marked done in the background and passes the
fresh findings here; this says, in the user's words, what regressed ("the _mta-sts
TXT record disappeared", "the certificate of mta-sts.example.com expired"). Pure:
no network, no disk.
"""

from __future__ import annotations

from collections.abc import Iterable

from wizard.findings import Finding
from wizard.state.model import DONE_STATUSES, DomainState

#: How each contract code reads as a regression. {domain} is the policy domain,
#: {subject} the finding's subject (a name, URL or MX host).
PHRASES: dict[str, str] = {
    "sts-txt-missing": "the _mta-sts TXT record disappeared",
    "sts-txt-multiple": "a second v=STSv1 record appeared at _mta-sts.{domain}: senders now see no policy",
    "sts-txt-invalid": "the _mta-sts TXT record is no longer valid",
    "sts-txt-wrong-place": "a v=STSv1 record appeared at a wrong name ({subject})",
    "sts-id-unchanged": "the served policy changed but the TXT id did not",
    "dns-lookup-failed": "DNS lookups for {subject} now fail",
    "policy-host-unresolvable": "mta-sts.{domain} no longer resolves",
    "policy-connect-failed": "the policy host no longer answers on port 443",
    "policy-tls-untrusted": "the certificate of mta-sts.{domain} is no longer trusted",
    "policy-tls-name-mismatch": "the certificate of mta-sts.{domain} no longer covers that name",
    "policy-tls-expired": "the certificate of mta-sts.{domain} expired",
    "policy-tls-expiring": "the certificate of mta-sts.{domain} expires within 14 days",
    "policy-http-status": "the policy URL no longer answers 200",
    "policy-redirect": "the policy URL now redirects (senders never follow redirects)",
    "policy-content-type": "the policy file is no longer served as text/plain",
    "policy-too-large": "the served policy file grew over 64 KiB",
    "policy-timeout": "the policy file no longer arrives in time",
    "policy-syntax": "the served policy file no longer parses",
    "policy-max-age-range": "the served max_age is out of range",
    "policy-max-age-short": "the served max_age is under a week in enforce mode",
    "policy-addresses-differ": "the addresses of mta-sts.{domain} now serve different policy files",
    "policy-differs-from-saved": "the served policy is no longer the one generated here",
    "mx-missing": "the domain's MX records disappeared",
    "mx-not-covered": "MX {subject} is not covered by the policy (mail to it fails in enforce)",
    "mx-pattern-unused": "the policy pattern {subject} no longer matches any MX",
    "mx-unresolvable": "MX {subject} no longer resolves",
    "mx-unreachable": "MX {subject} can no longer be reached on port 25 from here",
    "mx-no-starttls": "MX {subject} no longer offers STARTTLS",
    "mx-tls-untrusted": "the certificate of MX {subject} is no longer trusted",
    "mx-tls-name-mismatch": "the certificate of MX {subject} no longer covers its name",
    "mx-tls-expired": "the certificate of MX {subject} expired",
    "mx-tls-expiring": "the certificate of MX {subject} expires within 14 days",
    "mx-tls-protocol": "MX {subject} now negotiates TLS under 1.2",
    "tlsrpt-missing": "the _smtp._tls TLSRPT record disappeared",
    "tlsrpt-multiple": "a second TLSRPT record appeared at _smtp._tls.{domain}",
    "tlsrpt-invalid": "the TLSRPT record is no longer valid",
    "tlsrpt-rua-invalid": "a TLSRPT rua address is no longer valid",
}


def _key(f: Finding) -> tuple[str, str, str | None]:
    return (f.code, f.subject or "", f.address)


def regressed_findings(state: DomainState, fresh_findings: Iterable[Finding]) -> list[Finding]:
    """The fresh error/warning findings that are new since the last saved check, on a
    step that was done (or that the last check covered).

    A problem already present in the last check is not a regression; nor is a problem
    on a step the user has not reached (that is unfinished work, not something that broke).
    """
    last = state.last_check
    before = {f.key() for f in last.findings} if last else set()
    covered = set(last.steps) if last else set()
    out: list[Finding] = []
    for f in fresh_findings:
        if f.severity not in ("error", "warning") or _key(f) in before:
            continue
        step_done = f.step in state.steps and state.steps[f.step].status in DONE_STATUSES
        if step_done or f.step in covered:
            out.append(f)
    return out


def describe_regression(state: DomainState, finding: Finding) -> str:
    """One line for one regressed finding."""
    template = PHRASES.get(finding.code)
    if template is None:
        return finding.message
    text = template.format(domain=state.domain, subject=finding.subject or state.domain)
    if finding.address:
        text += f" (at {finding.address})"
    return text


def regressions(state: DomainState, fresh_findings: Iterable[Finding]) -> list[str]:
    """What regressed since the last saved check, one line each, without repeats."""
    seen: dict[str, None] = {}
    for f in regressed_findings(state, fresh_findings):
        seen.setdefault(describe_regression(state, f), None)
    return list(seen)
