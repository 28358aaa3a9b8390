"""The scenarios of the real-server lane: one DNS zone per domain, each with one fault.

They mirror the in-process world's cases (tests/test_engine_scenarios.py): same ids, same
baseline (a correct domain in testing mode with two MX hosts) and so the same expected code
sets; tests/test_realservers.py asserts that the two tables agree wherever an id is shared.
Faults only real daemons can show (knot's REFUSED for an unserved zone, UDP truncation of a
large RRset) or that need an in-process server (garbage TLS, 454 to STARTTLS) live in one lane.

A scenario is data only: `servers.py` turns it into zone files for knot, server blocks for
nginx (one loopback address per policy site, so each gets its own certificate) and smtpd
services for postfix (one loopback address per certificate variant).
"""

from __future__ import annotations

from dataclasses import dataclass, field

POLICY_ID = "20261128T120000"
GOOD_STS = f"v=STSv1; id={POLICY_ID};"
GOOD_TLSRPT = "v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"
PROVIDER_ZONE = "provider.test"  # a third party's zone that `_mta-sts` or `mta-sts` may CNAME into

#: Certificate variants of the policy sites and of the SMTP servers.
CERT_GOOD = "good"
CERT_EXPIRED = "expired"
CERT_NOT_YET_VALID = "not-yet-valid"
CERT_EXPIRING = "expiring"
CERT_WRONG_NAME = "wrong-name"
CERT_CN_ONLY = "cn-only"  # the right name, but only in the subject CN: no SAN, so no match
CERT_SELF_SIGNED = "self-signed"
CERT_UNTRUSTED = "untrusted"  # signed by a CA that is not in the bundle

#: SMTP server kinds: a certificate variant above, or one of these.
SMTP_GOOD_2 = "good-2"  # a second server with the good certificate, so the correct domain has 2 MX hosts
SMTP_PLAIN = "plain"  # answers SMTP but never offers STARTTLS
SMTP_CLOSED = "closed"  # an address where nothing listens on port 25
SMTP_NO_ADDRESS = "no-address"  # the MX host has no A record at all
SMTP_OLD_TLS = "old-tls"  # the good certificate, but only TLS 1.0 and 1.1

#: `_mta-sts` as a CNAME into PROVIDER_ZONE: to a name holding the TXT record, or to nothing.
CNAME_PROVIDER = "provider"
CNAME_DANGLING = "dangling"


@dataclass(frozen=True)
class Site:
    """What one address of `mta-sts.<domain>` answers on 443."""

    cert: str = CERT_GOOD
    status: int = 200
    content_type: str = "text/plain"
    body: str | None = None  # None: the scenario's policy text; {domain} is substituted
    location: str | None = None  # for 3xx answers
    listening: bool = True  # False: the address resolves but nothing listens on 443
    slow: bool = False  # the body stalls after its first KiB (nginx limit_rate)


@dataclass(frozen=True)
class Mx:
    """One MX record: the host label under the domain and which SMTP server it resolves to."""

    label: str
    smtp: str = CERT_GOOD
    preference: int = 10


TWO_MX = (Mx("mx1", CERT_GOOD, 10), Mx("mx2", SMTP_GOOD_2, 20))


def _mx2(kind: str) -> tuple[Mx, ...]:
    """The two MX hosts, the second one served by an SMTP server of this kind."""
    return (Mx("mx1", CERT_GOOD, 10), Mx("mx2", kind, 20))


@dataclass(frozen=True)
class Scenario:
    """One domain of the world and the finding codes `check` must report for it."""

    name: str
    expected: frozenset[str]
    sts: tuple[str, ...] = (GOOD_STS,)
    tlsrpt: tuple[str, ...] = (GOOD_TLSRPT,)
    sites: tuple[Site, ...] = (Site(),)
    mx: tuple[Mx, ...] = TWO_MX
    mode: str = "testing"
    max_age: int = 604800
    patterns: tuple[str, ...] | None = None  # None: exactly the MX host names; {domain} is substituted
    sts_cname: str | None = None  # CNAME_PROVIDER / CNAME_DANGLING instead of TXT records
    policy_host_cname: bool = False  # mta-sts.<domain> is a CNAME to a web host in PROVIDER_ZONE
    extra_records: tuple[str, ...] = field(default=())  # zone lines; {domain} is substituted
    served: bool = True  # False: knot has no zone for it and answers REFUSED
    broken_zones: tuple[str, ...] = ()  # child zones ({domain} substituted) knot cannot load: SERVFAIL
    timeout: float | None = None  # a `--timeout` of its own (slow scenarios); None: the lane's default

    @property
    def domain(self) -> str:
        return f"{self.name}.test"

    def mx_host(self, mx: Mx) -> str:
        return f"{mx.label}.{self.domain}"

    def policy_text(self) -> str:
        patterns = self.patterns if self.patterns is not None else tuple(self.mx_host(m) for m in self.mx)
        lines = ["version: STSv1", f"mode: {self.mode}"]
        lines += [f"mx: {p.format(domain=self.domain)}" for p in patterns]
        lines.append(f"max_age: {self.max_age}")
        return "\n".join(lines) + "\n"

    def site_body(self, site: Site) -> str:
        return site.body.format(domain=self.domain) if site.body is not None else self.policy_text()


def _padded_policy(size: int) -> str:
    """A valid policy over `size` bytes (repeated mx lines), for a body that must stall midway."""
    lines = ["version: STSv1", "mode: testing", "max_age: 604800"]
    while sum(len(x) + 1 for x in lines) < size:
        lines.append(f"mx: mx{len(lines)}.{{domain}}")
    return "\n".join(lines) + "\n"


def _codes(*codes: str) -> frozenset[str]:
    return frozenset(codes)


TESTING = "policy-mode-testing"

SCENARIOS: tuple[Scenario, ...] = (
    # Correct domains: 2 MX hosts, TLSRPT; enforce gives no finding at all, testing only its info.
    Scenario("good-enforce", _codes(), mode="enforce", max_age=1209600),
    Scenario("good-testing", _codes(TESTING)),
    # _mta-sts TXT records.
    Scenario("sts-missing", _codes("sts-txt-missing", TESTING), sts=()),
    Scenario("sts-multiple", _codes("sts-txt-multiple", TESTING), sts=("v=STSv1; id=1", "v=STSv1; id=2")),
    Scenario("sts-invalid", _codes("sts-txt-invalid", TESTING), sts=("v=STSv1; id=2026-01-01",)),
    Scenario(
        "sts-wrong-place",
        _codes("sts-txt-missing", "sts-txt-wrong-place", TESTING),
        sts=(),
        extra_records=('@ IN TXT "v=STSv1; id=20260101T000000"', '@ IN TXT "google-site-verification=abc"'),
    ),
    Scenario(
        "sts-wrong-place-too",  # the right record is there as well; the stray copy is still reported
        _codes("sts-txt-wrong-place", TESTING),
        extra_records=(f'@ IN TXT "{GOOD_STS}"',),
    ),
    Scenario("sts-cname", _codes(TESTING), sts=(), sts_cname=CNAME_PROVIDER),
    Scenario("sts-cname-dangling", _codes("sts-txt-missing", TESTING), sts=(), sts_cname=CNAME_DANGLING),
    # Over 1232 bytes of TXT at _mta-sts: knot sets TC over UDP and the answer must come over TCP.
    Scenario("sts-truncated-udp", _codes(TESTING), sts=(GOOD_STS, "x" * 1400)),
    # `_mta-sts` as a child zone knot cannot load (its file is missing): SERVFAIL for that name only.
    Scenario("sts-servfail", _codes("dns-lookup-failed", TESTING), broken_zones=("_mta-sts.{domain}",)),
    # A zone knot does not serve: every lookup is REFUSED.
    Scenario("zone-refused", _codes("dns-lookup-failed"), served=False),
    # The policy host and its HTTPS answer.
    Scenario("policy-host-missing", _codes("policy-host-unresolvable"), sites=()),
    Scenario("policy-host-cname", _codes(TESTING), policy_host_cname=True),
    Scenario("policy-down", _codes("policy-connect-failed"), sites=(Site(listening=False),)),
    Scenario("policy-untrusted", _codes("policy-tls-untrusted"), sites=(Site(cert=CERT_UNTRUSTED),)),
    Scenario("policy-self-signed", _codes("policy-tls-untrusted"), sites=(Site(cert=CERT_SELF_SIGNED),)),
    Scenario("policy-wrong-name", _codes("policy-tls-name-mismatch"), sites=(Site(cert=CERT_WRONG_NAME),)),
    Scenario("policy-cn-only", _codes("policy-tls-name-mismatch"), sites=(Site(cert=CERT_CN_ONLY),)),
    Scenario("policy-expired", _codes("policy-tls-expired"), sites=(Site(cert=CERT_EXPIRED),)),
    Scenario("policy-not-yet-valid", _codes("policy-tls-expired"), sites=(Site(cert=CERT_NOT_YET_VALID),)),
    Scenario("policy-expiring", _codes("policy-tls-expiring", TESTING), sites=(Site(cert=CERT_EXPIRING),)),
    Scenario("policy-404", _codes("policy-http-status"), sites=(Site(status=404),)),
    Scenario(
        "policy-redirect",
        _codes("policy-redirect"),
        sites=(Site(status=301, location="https://www.example.test/mta-sts.txt"),),
    ),
    Scenario("policy-html", _codes("policy-content-type", TESTING), sites=(Site(content_type="text/html"),)),
    Scenario(
        "policy-charset",
        _codes("policy-content-type", TESTING),
        sites=(Site(content_type="text/plain; charset=iso-8859-1"),),
    ),
    Scenario("policy-huge", _codes("policy-too-large"), sites=(Site(body="#" * 70_000 + "\n"),)),
    Scenario(
        "policy-drip",
        _codes("policy-timeout"),
        sites=(Site(slow=True, body=_padded_policy(4096)),),
        timeout=1.5,
    ),
    Scenario(
        "policy-syntax",
        _codes("policy-syntax"),
        sites=(Site(body="version: STSv1\nmode: enforce\nmax_age: 1209600\nmx: mx1.{domain}, mx2.{domain}\n"),),
    ),
    Scenario(
        "policy-max-age-range",
        _codes("policy-max-age-range"),
        sites=(Site(body="version: STSv1\nmode: enforce\nmx: mx1.{domain}\nmx: mx2.{domain}\nmax_age: 99999999\n"),),
    ),
    Scenario("policy-max-age-short", _codes("policy-max-age-short"), mode="enforce", max_age=86400),
    Scenario(
        "policy-addresses-differ",
        _codes("policy-addresses-differ", TESTING),
        sites=(
            Site(),
            Site(body="version: STSv1\nmode: enforce\nmx: mx1.{domain}\nmx: mx2.{domain}\nmax_age: 1209600\n"),
        ),
    ),
    Scenario("policy-mode-none", _codes("policy-mode-none"), mode="none", max_age=86400, patterns=()),
    # MX records and coverage against the served policy.
    Scenario("mx-none", _codes("mx-missing", TESTING), mx=(), patterns=("mx.{domain}",)),
    Scenario(
        "mx-null", _codes("mx-missing", TESTING), mx=(), extra_records=("@ IN MX 0 .",), patterns=("mx.{domain}",)
    ),
    Scenario("mx-not-covered", _codes("mx-not-covered"), mode="enforce", max_age=1209600, patterns=("mx1.{domain}",)),
    Scenario(
        "mx-pattern-unused",
        _codes("mx-pattern-unused"),
        mode="enforce",
        max_age=1209600,
        patterns=("mx1.{domain}", "mx2.{domain}", "old.{domain}"),
    ),
    Scenario(
        "mx-wildcard",  # one "*.<domain>" pattern covers both hosts; a wildcard matches one label only
        _codes("mx-not-covered", "mx-pattern-unused", "policy-mx-wildcard", TESTING),
        mx=(Mx("mx1"), Mx("mx2.mail", SMTP_GOOD_2, 20)),
        patterns=("*.{domain}", "*.other.test"),
    ),
    # The MX hosts themselves (postfix smtpd per certificate variant).
    Scenario("mx-unresolvable", _codes("mx-unresolvable", TESTING), mx=_mx2(SMTP_NO_ADDRESS)),
    Scenario("mx-down", _codes("mx-unreachable", TESTING), mx=_mx2(SMTP_CLOSED)),
    Scenario("mx-no-starttls", _codes("mx-no-starttls", TESTING), mx=_mx2(SMTP_PLAIN)),
    Scenario("mx-untrusted", _codes("mx-tls-untrusted", TESTING), mx=_mx2(CERT_UNTRUSTED)),
    Scenario("mx-self-signed", _codes("mx-tls-untrusted", TESTING), mx=_mx2(CERT_SELF_SIGNED)),
    Scenario("mx-wrong-name", _codes("mx-tls-name-mismatch", TESTING), mx=_mx2(CERT_WRONG_NAME)),
    Scenario("mx-expired", _codes("mx-tls-expired", TESTING), mx=_mx2(CERT_EXPIRED)),
    Scenario("mx-expiring", _codes("mx-tls-expiring", TESTING), mx=_mx2(CERT_EXPIRING)),
    Scenario("mx-tls-1.1", _codes("mx-tls-protocol", TESTING), mx=_mx2(SMTP_OLD_TLS)),
    Scenario("dane", _codes("dane-tlsa-present", TESTING), extra_records=("_25._tcp.mx1 IN TLSA 3 1 1 " + "ab" * 32,)),
    # _smtp._tls TXT records.
    Scenario("tlsrpt-missing", _codes("tlsrpt-missing", TESTING), tlsrpt=()),
    Scenario(
        "tlsrpt-multiple",
        _codes("tlsrpt-multiple", TESTING),
        tlsrpt=("v=TLSRPTv1; rua=mailto:a@example.test", "v=TLSRPTv1; rua=mailto:b@example.test"),
    ),
    Scenario("tlsrpt-invalid", _codes("tlsrpt-invalid", TESTING), tlsrpt=("v=TLSRPTv1; ruf=mailto:a@example.test",)),
    Scenario(
        "tlsrpt-rua-invalid",
        _codes("tlsrpt-rua-invalid", TESTING),
        tlsrpt=("v=TLSRPTv1; rua=http://reports.example.test/",),
    ),
)

BY_NAME: dict[str, Scenario] = {s.name: s for s in SCENARIOS}
