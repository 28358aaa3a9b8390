"""Why mail failed, in the owner's words, and what fixes it.

The same cause shows up in two places: a TLSRPT result type in a sender's report
(RFC 8460 §6.6) and a finding code from our own live check (CONTRACT.md). The
readiness verdict groups failures by cause, so "certificate-expired on mx2" from a
report and `mx-tls-expired` from the check land in one group with one fix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """One reason delivery under the policy fails, with the fix; `{subject}` is the MX or host."""

    key: str
    title: str
    fix: str

    def fix_for(self, subject: str) -> str:
        return self.fix.replace("{subject}", subject or "the host named")

    def title_for(self, subject: str) -> str:
        return f"{self.title} on {subject}" if subject else self.title


_CAUSES = {
    c.key: c
    for c in (
        Cause(
            "no-starttls",
            "no STARTTLS",
            "enable STARTTLS on {subject} (e.g. Postfix smtpd_tls_security_level = may with a certificate)",
        ),
        Cause(
            "cert-expired",
            "expired certificate",
            "renew the certificate of {subject} and reload the mail server (automate renewal)",
        ),
        Cause(
            "cert-name",
            "certificate does not name the MX",
            "install a certificate whose subjectAltName lists {subject} (the MX host name, not the domain)",
        ),
        Cause(
            "cert-untrusted",
            "certificate not trusted",
            "use a certificate from a public CA on {subject} and send the full chain (intermediates included); "
            "self-signed and DANE-only certificates fail MTA-STS",
        ),
        Cause(
            "cert-validation",
            "certificate validation failed",
            "check the certificate chain, dates and names of {subject} with a TLS tester; "
            "the report's failure-reason-code says more",
        ),
        Cause(
            "tls-protocol",
            "TLS older than 1.2",
            "allow TLS 1.2 or later on {subject} (RFC 8461 §7.2)",
        ),
        Cause(
            "mx-not-covered",
            "MX not in the policy",
            "add 'mx: {subject}' to the policy, publish it, then change the TXT id",
        ),
        Cause(
            "mx-unresolvable",
            "MX has no address",
            "publish an A/AAAA record for {subject}, or remove that MX record",
        ),
        Cause(
            "policy-fetch",
            "the policy file could not be fetched",
            "make https://mta-sts.<domain>/.well-known/mta-sts.txt answer 200 with text/plain on every address",
        ),
        Cause(
            "policy-invalid",
            "the served policy file is invalid",
            "serve the policy file the wizard generated, byte for byte (run 'mta-sts-wizard lint' on it)",
        ),
        Cause(
            "policy-webpki",
            "the policy host's certificate is invalid",
            "install a public-CA certificate covering mta-sts.<domain> on the policy host, with its full chain",
        ),
        Cause(
            "sts-txt",
            "the _mta-sts TXT record is broken",
            "publish exactly one 'v=STSv1; id=...' record at _mta-sts.<domain>",
        ),
        Cause(
            "dane",
            "DANE validation failed",
            "update the TLSA records of {subject} to match its current certificate (or fix DNSSEC)",
        ),
        Cause(
            "dns",
            "a DNS lookup failed",
            "check that the zone's name servers answer for {subject}",
        ),
        Cause(
            "mx-missing",
            "no MX records",
            "publish the domain's MX records",
        ),
    )
}

#: TLSRPT result types (RFC 8460 §6.6) -> cause key. Unknown types keep their own name.
RESULT_TYPE_CAUSE = {
    "starttls-not-supported": "no-starttls",
    "certificate-expired": "cert-expired",
    "certificate-host-mismatch": "cert-name",
    "certificate-not-trusted": "cert-untrusted",
    "validation-failure": "cert-validation",
    "sts-policy-fetch-error": "policy-fetch",
    "sts-policy-invalid": "policy-invalid",
    "sts-webpki-invalid": "policy-webpki",
    "tlsa-invalid": "dane",
    "dnssec-invalid": "dane",
    "dane-required": "dane",
}

#: CONTRACT finding codes -> cause key (codes not listed use the finding's own message and fix).
CODE_CAUSE = {
    "mx-no-starttls": "no-starttls",
    "mx-tls-expired": "cert-expired",
    "mx-tls-name-mismatch": "cert-name",
    "mx-tls-untrusted": "cert-untrusted",
    "mx-tls-protocol": "tls-protocol",
    "mx-not-covered": "mx-not-covered",
    "mx-unresolvable": "mx-unresolvable",
    "mx-missing": "mx-missing",
    "policy-host-unresolvable": "policy-fetch",
    "policy-connect-failed": "policy-fetch",
    "policy-http-status": "policy-fetch",
    "policy-redirect": "policy-fetch",
    "policy-content-type": "policy-fetch",
    "policy-too-large": "policy-fetch",
    "policy-timeout": "policy-fetch",
    "policy-addresses-differ": "policy-fetch",
    "policy-syntax": "policy-invalid",
    "policy-max-age-range": "policy-invalid",
    "policy-tls-untrusted": "policy-webpki",
    "policy-tls-name-mismatch": "policy-webpki",
    "policy-tls-expired": "policy-webpki",
    "sts-txt-missing": "sts-txt",
    "sts-txt-multiple": "sts-txt",
    "sts-txt-invalid": "sts-txt",
    "sts-txt-wrong-place": "sts-txt",
    "dns-lookup-failed": "dns",
}


def cause(key: str) -> Cause | None:
    return _CAUSES.get(key)


def cause_for_result_type(result_type: str) -> Cause:
    """The cause of a reported result type; an unregistered type (RFC 8460 allows new ones) is its own cause."""
    known = _CAUSES.get(RESULT_TYPE_CAUSE.get(result_type, ""))
    if known is not None:
        return known
    return Cause(
        f"report:{result_type}",
        f"reported as {result_type}",
        "read the failure-reason-code in the reports for {subject} and fix what it names",
    )


def cause_for_code(code: str, message: str = "", fix: str = "") -> Cause:
    """The cause of one of our finding codes; codes without a shared cause keep their own fix."""
    known = _CAUSES.get(CODE_CAUSE.get(code, ""))
    if known is not None:
        return known
    return Cause(f"check:{code}", message or code, fix or "see the check's finding for this host")
