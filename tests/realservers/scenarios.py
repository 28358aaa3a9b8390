"""The scenarios of the real-server lane: one DNS zone per domain, each with exactly one fault.

Every scenario differs from the correct domain (`good.test`) in one thing, so `check` must
report exactly the codes in `expected` and nothing else. The same faults are built by the
in-process test world (tests/world/); both lanes assert the same code sets.

A scenario is data only: `servers.py` turns it into zone files for knot, server blocks for
nginx (one loopback address per policy site, so each gets its own certificate) and smtpd
services for postfix (one loopback address per certificate variant).
"""

from __future__ import annotations

from dataclasses import dataclass, field

POLICY_ID = "20261128T120000"
GOOD_STS = f"v=STSv1; id={POLICY_ID};"
GOOD_TLSRPT = "v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"

#: Certificate variants of the policy sites and of the SMTP servers.
CERT_GOOD = "good"
CERT_EXPIRED = "expired"
CERT_EXPIRING = "expiring"
CERT_WRONG_NAME = "wrong-name"
CERT_SELF_SIGNED = "self-signed"

#: SMTP server kinds: a certificate variant above, or one of these.
SMTP_GOOD_2 = "good-2"  # a second server with the good certificate, so the correct domain has 2 MX hosts
SMTP_PLAIN = "plain"  # answers SMTP but never offers STARTTLS
SMTP_CLOSED = "closed"  # an address where nothing listens on port 25
SMTP_NO_ADDRESS = "no-address"  # the MX host has no A record at all
SMTP_OLD_TLS = "old-tls"  # the good certificate, but only TLS 1.0 and 1.1


@dataclass(frozen=True)
class Site:
    """What one address of `mta-sts.<domain>` answers on 443."""

    cert: str = CERT_GOOD
    status: int = 200
    content_type: str = "text/plain"
    body: str | None = None  # None: the scenario's policy text
    location: str | None = None  # for 3xx answers
    listening: bool = True  # False: the address resolves but nothing listens on 443
    slow: bool = False  # the body trickles out at a few bytes a second (nginx limit_rate)


@dataclass(frozen=True)
class Mx:
    """One MX record: the host label under the domain and which SMTP server it resolves to."""

    label: str
    smtp: str = CERT_GOOD
    preference: int = 10


@dataclass(frozen=True)
class Scenario:
    """One domain of the world and the finding codes `check` must report for it."""

    name: str
    expected: frozenset[str]
    sts: tuple[str, ...] = (GOOD_STS,)
    tlsrpt: tuple[str, ...] = (GOOD_TLSRPT,)
    sites: tuple[Site, ...] = (Site(),)
    mx: tuple[Mx, ...] = (Mx("mx1", CERT_GOOD, 10), Mx("mx2", SMTP_GOOD_2, 20))
    mode: str = "enforce"
    max_age: int = 604800
    patterns: tuple[str, ...] | None = None  # None: exactly the MX host names
    sts_cname: str | None = None  # _mta-sts is a CNAME to this name instead of TXT records
    extra_records: tuple[str, ...] = field(default=())  # zone lines; {domain} is substituted
    served: bool = True  # False: knot has no zone for it and answers REFUSED
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


def _padded_policy(domain: str, size: int) -> str:
    """A valid policy over `size` bytes (repeated mx lines), for a body that must stall midway."""
    lines = ["version: STSv1", "mode: enforce", "max_age: 604800"]
    while sum(len(x) + 1 for x in lines) < size:
        lines.append(f"mx: mx{len(lines)}.{domain}")
    return "\n".join(lines) + "\n"


def _codes(*codes: str) -> frozenset[str]:
    return frozenset(codes)


SCENARIOS: tuple[Scenario, ...] = (
    # The correct domain: 2 MX hosts, enforce, a week's max_age, TLSRPT: no finding at all.
    Scenario("good", _codes()),
    # _mta-sts TXT records.
    Scenario("sts-missing", _codes("sts-txt-missing"), sts=()),
    Scenario("sts-multiple", _codes("sts-txt-multiple"), sts=(GOOD_STS, "v=STSv1; id=20261128T130000;")),
    Scenario("sts-invalid", _codes("sts-txt-invalid"), sts=("v=STSv1; id=not_an-id!;",)),
    Scenario("sts-cname", _codes(), sts=(), sts_cname="_mta-sts.good.test."),
    Scenario("sts-wrong-place", _codes("sts-txt-wrong-place"), extra_records=(f'@ IN TXT "{GOOD_STS}"',)),
    # DNS itself.
    Scenario("not-served", _codes("dns-lookup-failed"), served=False),
    Scenario("null-mx", _codes("mx-missing"), mx=(), extra_records=("@ IN MX 0 .",), patterns=("mx1.{domain}",)),
    # The policy host and its HTTPS answer.
    Scenario("host-unresolvable", _codes("policy-host-unresolvable"), sites=()),
    Scenario("connect-refused", _codes("policy-connect-failed"), sites=(Site(listening=False),)),
    Scenario(
        "redirect",
        _codes("policy-redirect"),
        sites=(Site(status=301, location="https://www.redirect.test/.well-known/mta-sts.txt"),),
    ),
    Scenario("content-type", _codes("policy-content-type"), sites=(Site(content_type="text/html"),)),
    Scenario("status-404", _codes("policy-http-status"), sites=(Site(status=404),)),
    Scenario("policy-expired", _codes("policy-tls-expired"), sites=(Site(cert=CERT_EXPIRED),)),
    Scenario("policy-expiring", _codes("policy-tls-expiring"), sites=(Site(cert=CERT_EXPIRING),)),
    Scenario("policy-wrong-name", _codes("policy-tls-name-mismatch"), sites=(Site(cert=CERT_WRONG_NAME),)),
    Scenario("policy-self-signed", _codes("policy-tls-untrusted"), sites=(Site(cert=CERT_SELF_SIGNED),)),
    Scenario(
        "policy-syntax",
        _codes("policy-syntax"),
        sites=(Site(body="version: STSv1\nmode: enforce\nmx: mx1.policy-syntax.test\nmx: mx2.policy-syntax.test\n"),),
    ),
    Scenario("policy-too-large", _codes("policy-too-large"), sites=(Site(body="#" * 70_000 + "\n"),)),
    Scenario(
        "addresses-differ",
        _codes("policy-addresses-differ"),
        sites=(
            Site(),
            Site(
                body="version: STSv1\nmode: enforce\nmx: mx1.addresses-differ.test\nmx: mx2.addresses-differ.test\n"
                "max_age: 1209600\n"
            ),
        ),
    ),
    Scenario(
        "policy-timeout",
        _codes("policy-timeout"),
        sites=(Site(slow=True, body=_padded_policy("policy-timeout.test", 4096)),),
        timeout=1.5,
    ),
    Scenario("mode-testing", _codes("policy-mode-testing"), mode="testing"),
    Scenario("max-age-short", _codes("policy-max-age-short"), max_age=86400),
    # MX coverage against the served policy.
    Scenario("mx-not-covered", _codes("mx-not-covered"), patterns=("mx1.{domain}",)),
    Scenario(
        "mx-pattern-unused", _codes("mx-pattern-unused"), patterns=("mx1.{domain}", "*.{domain}", "mx9.other.test")
    ),
    # The MX hosts themselves.
    Scenario("mx-unresolvable", _codes("mx-unresolvable"), mx=(Mx("mx1"), Mx("mx2", SMTP_NO_ADDRESS, 20))),
    Scenario("mx-unreachable", _codes("mx-unreachable"), mx=(Mx("mx1"), Mx("mx2", SMTP_CLOSED, 20))),
    Scenario("mx-no-starttls", _codes("mx-no-starttls"), mx=(Mx("mx1"), Mx("mx2", SMTP_PLAIN, 20))),
    Scenario("mx-wrong-name", _codes("mx-tls-name-mismatch"), mx=(Mx("mx1"), Mx("mx2", CERT_WRONG_NAME, 20))),
    Scenario("mx-expired", _codes("mx-tls-expired"), mx=(Mx("mx1"), Mx("mx2", CERT_EXPIRED, 20))),
    Scenario("mx-expiring", _codes("mx-tls-expiring"), mx=(Mx("mx1"), Mx("mx2", CERT_EXPIRING, 20))),
    Scenario("mx-self-signed", _codes("mx-tls-untrusted"), mx=(Mx("mx1"), Mx("mx2", CERT_SELF_SIGNED, 20))),
    Scenario("mx-old-tls", _codes("mx-tls-protocol"), mx=(Mx("mx1"), Mx("mx2", SMTP_OLD_TLS, 20))),
    Scenario(
        "dane",
        _codes("dane-tlsa-present"),
        extra_records=("_25._tcp.mx1 TLSA 3 1 1 " + "ab" * 32,),
    ),
    # _smtp._tls TXT records.
    Scenario("tlsrpt-missing", _codes("tlsrpt-missing"), tlsrpt=()),
    Scenario("tlsrpt-invalid", _codes("tlsrpt-invalid"), tlsrpt=("v=TLSRPTv1;",)),
    Scenario(
        "tlsrpt-multiple",
        _codes("tlsrpt-multiple"),
        tlsrpt=(GOOD_TLSRPT, "v=TLSRPTv1; rua=mailto:other@{domain}"),
    ),
    Scenario("tlsrpt-rua-invalid", _codes("tlsrpt-rua-invalid"), tlsrpt=("v=TLSRPTv1; rua=ftp://reports.{domain}/",)),
)

BY_NAME: dict[str, Scenario] = {s.name: s for s in SCENARIOS}
