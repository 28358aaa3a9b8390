"""Findings: the one shape every check, parser and command reports problems in.

The codes, their severities and their meanings are the interface contract
(shared/CONTRACT.md): scripts key on them, so codes are only ever added, never
renamed, and a code's severity is fixed here rather than chosen by callers.
The same objects feed the screens, `check --json`, `lint` and `status`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

#: Step numbers of the wizard (1 policy, 2 hosting, 3 _mta-sts TXT, 4 TLSRPT,
#: 5 verify everything, 6 monitor and enforce).
STEP_POLICY, STEP_HOSTING, STEP_STS_TXT, STEP_TLSRPT, STEP_VERIFY, STEP_MONITOR = range(1, 7)


@dataclass(frozen=True)
class CodeInfo:
    """What CONTRACT.md says about one finding code."""

    severity: Severity
    step: int
    meaning: str


CODES: dict[str, CodeInfo] = {
    "sts-txt-missing": CodeInfo("error", 3, "no v=STSv1 TXT at _mta-sts.<domain>"),
    "sts-txt-multiple": CodeInfo("error", 3, "more than one v=STSv1 record: senders see no policy"),
    "sts-txt-invalid": CodeInfo("error", 3, "the record breaks the grammar"),
    "sts-txt-wrong-place": CodeInfo("error", 3, "a v=STSv1 record at the apex or another wrong name"),
    "sts-id-unchanged": CodeInfo("warning", 3, "the served policy changed but the TXT id did not"),
    "dns-lookup-failed": CodeInfo("error", 5, "a lookup timed out or failed"),
    "policy-host-unresolvable": CodeInfo("error", 2, "mta-sts.<domain> has no A/AAAA"),
    "policy-connect-failed": CodeInfo("error", 2, "an address of the policy host refused or timed out on 443"),
    "policy-tls-untrusted": CodeInfo("error", 2, "the policy host's chain does not reach a trusted root"),
    "policy-tls-name-mismatch": CodeInfo("error", 2, "the certificate does not cover mta-sts.<domain>"),
    "policy-tls-expired": CodeInfo("error", 2, "the certificate has expired (or is not yet valid)"),
    "policy-tls-expiring": CodeInfo("warning", 2, "the certificate expires within 14 days"),
    "policy-http-status": CodeInfo("error", 2, "a status other than 200 (and not a redirect)"),
    "policy-redirect": CodeInfo("error", 2, "a 3xx answer; senders never follow redirects"),
    "policy-content-type": CodeInfo("error", 2, "the media type is not text/plain"),
    "policy-too-large": CodeInfo("error", 2, "the body is over 64 KiB"),
    "policy-timeout": CodeInfo("error", 2, "the body did not arrive within the deadline"),
    "policy-syntax": CodeInfo("error", 1, "the policy file breaks the grammar or lacks a required field"),
    "policy-max-age-range": CodeInfo("error", 1, "max_age outside 0..31557600"),
    "policy-max-age-short": CodeInfo("warning", 1, "max_age under one week in enforce mode"),
    "policy-addresses-differ": CodeInfo("error", 2, "different addresses of the policy host serve different bodies"),
    "policy-mode-testing": CodeInfo("info", 1, "the policy is in testing mode"),
    "policy-mode-none": CodeInfo("info", 1, "the policy is in none mode"),
    "policy-differs-from-saved": CodeInfo("warning", 2, "the served policy is not the one this program generated"),
    "mx-missing": CodeInfo("error", 1, "the domain has no MX records, or a null MX"),
    "mx-not-covered": CodeInfo("error", 1, "an MX host matches no mx pattern"),
    "mx-pattern-unused": CodeInfo("warning", 1, "a policy pattern matches none of the MX hosts"),
    "mx-unresolvable": CodeInfo("error", 5, "an MX host has no A/AAAA"),
    "mx-unreachable": CodeInfo("warning", 5, "port 25 could not be reached from here; verification incomplete"),
    "mx-no-starttls": CodeInfo("error", 5, "the MX does not offer STARTTLS"),
    "mx-tls-untrusted": CodeInfo("error", 5, "the MX chain does not reach a trusted root"),
    "mx-tls-name-mismatch": CodeInfo("error", 5, "the MX certificate does not cover the MX host name"),
    "mx-tls-expired": CodeInfo("error", 5, "the MX certificate has expired"),
    "mx-tls-expiring": CodeInfo("warning", 5, "the MX certificate expires within 14 days"),
    "mx-tls-protocol": CodeInfo("error", 5, "the MX negotiates a TLS version under 1.2"),
    "tlsrpt-missing": CodeInfo("warning", 4, "no v=TLSRPTv1 record at _smtp._tls.<domain>"),
    "tlsrpt-multiple": CodeInfo("error", 4, "more than one v=TLSRPTv1 record"),
    "tlsrpt-invalid": CodeInfo("error", 4, "the record breaks the grammar"),
    "tlsrpt-rua-invalid": CodeInfo("error", 4, "a rua URI is not a valid mailto: or https: URI"),
    "tlsrpt-rua-repeated": CodeInfo("warning", 4, "more than one rua= field (senders may read only the first)"),
    "policy-mx-wildcard": CodeInfo("warning", 1, "a pattern *.<domain> covers every host of the zone"),
    "dane-tlsa-present": CodeInfo("info", 5, "an MX publishes TLSA records (DANE applies too)"),
}


@dataclass(frozen=True)
class Finding:
    """One problem (or notable fact) with a contract code and a fix the user can act on.

    `message` says what is wrong in the user's terms; `fix` says what to do.
    `subject` names the thing concerned (a DNS name, URL, MX host or file);
    `address` is set when the finding concerns one resolved address;
    `line` is set for findings about a line of a policy file.
    """

    code: str
    severity: Severity
    step: int
    message: str
    fix: str = ""
    subject: str = ""
    address: str | None = None
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The CONTRACT `check --json` shape; optional keys only when set."""
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "step": self.step,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
        }
        if self.address is not None:
            out["address"] = self.address
        if self.line is not None:
            out["line"] = self.line
        return out

    def render(self) -> str:
        """One human line: severity, code, message, and the fix."""
        where = f" [{self.address}]" if self.address else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.severity}: {self.code}{where}: {self.message}.{fix}"


def finding(
    code: str,
    message: str,
    fix: str = "",
    *,
    subject: str = "",
    address: str | None = None,
    line: int | None = None,
    step: int | None = None,
) -> Finding:
    """Build a Finding whose severity (and default step) come from the contract table.

    Raises KeyError for a code that is not in CONTRACT.md: that is a programming
    error, caught by the tests, never something user input can trigger.
    """
    info = CODES[code]
    return Finding(
        code=code,
        severity=info.severity,
        step=info.step if step is None else step,
        message=message,
        fix=fix,
        subject=subject,
        address=address,
        line=line,
    )


@dataclass
class FindingList:
    """A small accumulator used by parsers and checks."""

    items: list[Finding] = field(default_factory=list)

    def add(self, code: str, message: str, fix: str = "", **kw: Any) -> Finding:
        f = finding(code, message, fix, **kw)
        self.items.append(f)
        return f

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def has_errors(findings: list[Finding] | tuple[Finding, ...]) -> bool:
    """True when any finding is an error (what makes `ok` false and exit code 1)."""
    return any(f.severity == "error" for f in findings)


def clip(text: str, limit: int = 60) -> str:
    """Shorten user text quoted in a message so one finding stays one readable line.

    Newlines and other non-printing characters are shown escaped (`\\n`), else a
    pasted value would split the finding over several lines.
    """
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
