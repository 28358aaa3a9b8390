"""Certificate facts and the PKIX checks senders apply (RFC 8461 §3.3, §4.2).

Python's `ssl` does the real chain and name verification (it is what a sender's TLS
stack does). When that fails, the handshake gives no certificate back, so the engine
repeats it with verification off and describes the leaf here with `cryptography`:
subject alternative names, validity dates, issuer. Those facts, plus OpenSSL's reason,
decide which finding (untrusted / name mismatch / expired) the user sees.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import ssl
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from wizard.findings import Finding, finding

#: A certificate expiring within this many days gets the *-tls-expiring warning.
EXPIRY_WARNING_DAYS = 14

# OpenSSL X509_V_ERR_* codes that `SSLCertVerificationError.verify_code` carries.
_V_ERR_CERT_NOT_YET_VALID = 9
_V_ERR_CERT_HAS_EXPIRED = 10
_V_ERR_HOSTNAME_MISMATCH = 62


@dataclass(frozen=True)
class CertFacts:
    """What a user needs to know about a leaf certificate to fix it."""

    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    self_signed: bool

    def days_left(self, now: dt.datetime | None = None) -> float:
        now = now or dt.datetime.now(dt.UTC)
        return (self.not_after - now).total_seconds() / 86400

    def is_current(self, now: dt.datetime | None = None) -> bool:
        now = now or dt.datetime.now(dt.UTC)
        return self.not_before <= now <= self.not_after

    def describe(self) -> str:
        """One bounded line: a certificate may list thousands of names, or a name of 64 KiB."""
        shown_sans = [_clip(n, 100) for n in self.sans[:MAX_SANS_SHOWN]]
        more = len(self.sans) - len(shown_sans)
        names = ", ".join(shown_sans) + (f" and {more} more" if more > 0 else "") if self.sans else "no DNS names"
        return (
            f"certificate for {names}, issued by {_clip(self.issuer, 200)}, "
            f"valid {self.not_before:%Y-%m-%d} to {self.not_after:%Y-%m-%d}"
        )


#: How many subject alternative names a finding lists before "and N more".
MAX_SANS_SHOWN = 8


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cert_facts(der: bytes) -> CertFacts | None:
    """Describe a DER certificate; None when it cannot be parsed (then we say so instead)."""
    return _cert_facts(bytes(der))


@functools.lru_cache(maxsize=512)
def _cert_facts(der: bytes) -> CertFacts | None:
    # Cached: in a bulk check many MX hosts and policy hosts present the same certificate
    # (one mail provider, one web host); CertFacts is immutable, so sharing it is safe.
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(name.lower() for name in san.get_values_for_type(x509.DNSName))
    except (x509.ExtensionNotFound, ValueError):
        sans = ()
    try:  # cryptography parses names and dates lazily: a malformed one raises only here
        return CertFacts(
            subject=_name_text(cert.subject),
            issuer=_name_text(cert.issuer),
            sans=sans,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            self_signed=cert.subject == cert.issuer,
        )
    except ValueError:
        return None


def _name_text(name: x509.Name) -> str:
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if cns:
        return str(cns[0].value)
    return name.rfc4514_string() or "(empty name)"


def san_matches(host: str, sans: tuple[str, ...] | list[str]) -> bool:
    """RFC 6125 DNS-ID matching as RFC 8461 wants it: SAN only, wildcard = one whole left label."""
    host = host.rstrip(".").lower()
    for san in sans:
        san = san.rstrip(".").lower()
        if san == host:
            return True
        if san.startswith("*.") and "." in host:
            first, _, rest = host.partition(".")
            if first and rest == san[2:] and "*" not in rest:
                return True
    return False


@functools.lru_cache(maxsize=16)
def verified_context(ca_bundle: str | None, legacy_versions: bool = False) -> ssl.SSLContext:
    """The context a sender uses: system roots or the bundle, host name checked against SANs only.

    `legacy_versions` lets the SMTP probe complete a TLS 1.0/1.1 handshake so it can
    report `mx-tls-protocol` instead of a vague handshake failure.
    """
    ctx = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    ctx.hostname_checks_common_name = False  # RFC 8461: DNS-IDs only, no CN fallback
    if legacy_versions:
        _allow_legacy(ctx)
    return ctx


@functools.lru_cache(maxsize=2)
def describing_context() -> ssl.SSLContext:
    """No verification, every version: only used to look at a certificate that failed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    _allow_legacy(ctx)
    return ctx


def _allow_legacy(ctx: ssl.SSLContext) -> None:
    with warnings.catch_warnings():  # deliberately old: we must see TLS 1.0/1.1 servers to report them
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    with contextlib.suppress(ssl.SSLError):  # a TLS library without security levels keeps its default
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")


def find_cert_error(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    """The verification error somewhere in an exception's cause/context chain (httpx wraps it)."""
    found = _find_in_chain(exc, ssl.SSLCertVerificationError)
    return found if isinstance(found, ssl.SSLCertVerificationError) else None


def find_ssl_error(exc: BaseException | None) -> ssl.SSLError | None:
    found = _find_in_chain(exc, ssl.SSLError)
    return found if isinstance(found, ssl.SSLError) else None


def _find_in_chain(exc: BaseException | None, kind: type[BaseException]) -> BaseException | None:
    """The first `kind` along __cause__/__context__, looking at most 10 links deep."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kind):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def verification_findings(
    kind: str,
    host: str,
    error: ssl.SSLCertVerificationError | None,
    facts: CertFacts | None,
    *,
    subject: str,
    address: str | None,
    now: dt.datetime | None = None,
) -> list[Finding]:
    """Turn a failed verification into findings: untrusted, name mismatch and/or expired.

    `kind` is "policy" or "mx" (the code prefix). OpenSSL stops at the first problem,
    so the certificate facts fill in the others: an expired self-signed certificate for
    the wrong name is three problems, and the user should hear about all three.
    """
    now = now or dt.datetime.now(dt.UTC)
    code = getattr(error, "verify_code", None)
    reason = getattr(error, "verify_message", None) or (str(error) if error else "verification failed")
    described = f" ({facts.describe()})" if facts else ""
    out: list[Finding] = []
    expired = code in (_V_ERR_CERT_HAS_EXPIRED, _V_ERR_CERT_NOT_YET_VALID) or (
        facts is not None and not facts.is_current(now)
    )
    name_bad = code == _V_ERR_HOSTNAME_MISMATCH or (facts is not None and not san_matches(host, facts.sans))
    untrusted = code not in (_V_ERR_CERT_HAS_EXPIRED, _V_ERR_CERT_NOT_YET_VALID, _V_ERR_HOSTNAME_MISMATCH)
    what = "policy host" if kind == "policy" else "mail server"
    if untrusted:
        hint = "it is self-signed" if facts is not None and facts.self_signed else f"OpenSSL says: {reason}"
        out.append(
            finding(
                f"{kind}-tls-untrusted",
                f"the {what} {host} presents a certificate that does not chain to a trusted root; {hint}{described}",
                "install a certificate from a public CA (e.g. Let's Encrypt) and serve the full chain "
                "including intermediates",
                subject=subject,
                address=address,
            )
        )
    if name_bad:
        out.append(
            finding(
                f"{kind}-tls-name-mismatch",
                f"the certificate of {host} does not name {host} in its subject alternative names{described}",
                f"get a certificate whose SAN list includes {host} (a wildcard covers one label only)",
                subject=subject,
                address=address,
            )
        )
    if expired:
        when = "is not valid yet" if facts is not None and facts.not_before > now else "has expired"
        out.append(
            finding(
                f"{kind}-tls-expired",
                f"the certificate of {host} {when}{described}",
                "renew the certificate and reload the server (automate renewal, e.g. with certbot)",
                subject=subject,
                address=address,
            )
        )
    if not out:  # verification failed for a reason the facts do not explain: still untrusted
        out.append(
            finding(
                f"{kind}-tls-untrusted",
                f"the certificate of {host} failed verification: {reason}{described}",
                "install a certificate from a public CA for this name and serve the full chain",
                subject=subject,
                address=address,
            )
        )
    return out


def expiring_findings(
    kind: str, host: str, facts: CertFacts | None, *, subject: str, address: str | None, now: dt.datetime | None = None
) -> list[Finding]:
    """A valid certificate that runs out within EXPIRY_WARNING_DAYS."""
    if facts is None:
        return []
    days = facts.days_left(now)
    if days >= EXPIRY_WARNING_DAYS:
        return []
    return [
        finding(
            f"{kind}-tls-expiring",
            f"the certificate of {host} expires in {max(days, 0):.0f} days ({facts.not_after:%Y-%m-%d %H:%M} UTC)",
            "renew it now and check that automatic renewal works; an expired certificate stops senders",
            subject=subject,
            address=address,
        )
    ]
