"""A test CA and the certificates the scenarios need: good, expiring, expired, wrong name, self-signed, untrusted."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import warnings
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_KINDS = (
    "good",
    "expiring",
    "expired",
    "not-yet-valid",
    "wrong-name",
    "self-signed",
    "untrusted",
    "cn-only",
    "hostile-text",
)
#: `hostile-text`: a self-signed certificate whose subject and issuer name (a UTF8String) and
#: extra SAN (an IA5String, ASCII only) hold terminal escapes, a forged line and bidi marks.
HOSTILE_ISSUER = "Evil CA\x1b]0;owned\x07\x1b[2J\r\nerror: forged line \x9b2J \u202eevil"
HOSTILE_SAN = "x\x1b]0;owned\x07\x1b[2J\r\nerror.forged"


class TestPKI:
    """Issues certificates on demand; `bundle_path` holds the trusted root only."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca = trustme.CA(organization_name="mta-sts-wizard test CA")
        self.rogue_ca = trustme.CA(organization_name="untrusted test CA")
        self.bundle_path = directory / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.bundle_path))
        self._lock = threading.Lock()
        self._files: dict[tuple[str, tuple[str, ...]], tuple[Path, Path]] = {}

    def files(self, kind: str, names: tuple[str, ...]) -> tuple[Path, Path]:
        """(chain PEM, key PEM) for a certificate of `kind` meant for `names`."""
        if kind not in CERT_KINDS:
            raise ValueError(f"unknown certificate kind {kind!r}; use one of {CERT_KINDS}")
        key = (kind, names)
        with self._lock:
            if key not in self._files:
                self._files[key] = self._issue(kind, names, len(self._files))
            return self._files[key]

    def server_context(
        self, kind: str, names: tuple[str, ...], *, max_version: ssl.TLSVersion | None = None
    ) -> ssl.SSLContext:
        chain, keyfile = self.files(kind, names)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if max_version is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = max_version
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.load_cert_chain(str(chain), str(keyfile))
        return ctx

    def _issue(self, kind: str, names: tuple[str, ...], serial: int) -> tuple[Path, Path]:
        now = dt.datetime.now(dt.UTC)
        chain = self.directory / f"cert-{serial}-{kind}.pem"
        keyfile = self.directory / f"key-{serial}-{kind}.pem"
        if kind in ("self-signed", "cn-only", "hostile-text"):
            cert_pem, key_pem = _self_made(names, now, self.ca if kind == "cn-only" else None, kind == "hostile-text")
            chain.write_bytes(cert_pem)
            keyfile.write_bytes(key_pem)
            return chain, keyfile
        ca = self.rogue_ca if kind == "untrusted" else self.ca
        identities = ("wrong-name.invalid",) if kind == "wrong-name" else names
        window = {
            "good": (now - dt.timedelta(days=1), now + dt.timedelta(days=90)),
            "expiring": (now - dt.timedelta(days=80), now + dt.timedelta(days=5)),
            "expired": (now - dt.timedelta(days=90), now - dt.timedelta(days=2)),
            "not-yet-valid": (now + dt.timedelta(days=2), now + dt.timedelta(days=90)),
        }.get(kind, (now - dt.timedelta(days=1), now + dt.timedelta(days=90)))
        leaf = ca.issue_cert(*identities, not_before=window[0], not_after=window[1])
        leaf.cert_chain_pems[0].write_to_path(str(chain))
        for pem in leaf.cert_chain_pems[1:]:
            pem.write_to_path(str(chain), append=True)
        leaf.private_key_pem.write_to_path(str(keyfile))
        return chain, keyfile


def _self_made(
    names: tuple[str, ...], now: dt.datetime, issuer_ca: trustme.CA | None, hostile: bool = False
) -> tuple[bytes, bytes]:
    """A self-signed leaf with SANs, or (issuer_ca given) a CA-signed leaf with only a CN and no SAN;
    `hostile`: self-signed with HOSTILE_ISSUER as its name and HOSTILE_SAN as a second SAN."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    if hostile:
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, HOSTILE_ISSUER)])
        names = (*names, HOSTILE_SAN)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90))
    )
    if issuer_ca is None:
        builder = builder.issuer_name(subject).add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        cert = builder.sign(key, hashes.SHA256())
    else:
        ca_cert = x509.load_pem_x509_certificate(issuer_ca.cert_pem.bytes())
        ca_key = serialization.load_pem_private_key(issuer_ca.private_key_pem.bytes(), password=None)
        builder = builder.issuer_name(ca_cert.subject)
        cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert_pem, key_pem
