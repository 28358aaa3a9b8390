"""A throw-away certificate authority for the real-server lane.

The servers (nginx, postfix) read PEM files, and the checker is pointed at the CA with
`--ca-bundle`, so every certificate variant a sender can meet is made here: good, expired,
wrong name (a valid chain for another host) and self-signed (no chain at all).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class PemPair:
    """Where one certificate (with its chain) and its key were written."""

    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class TestCA:
    """A root CA whose certificate is the `--ca-bundle` of the lane (or, for `untrusted`, is not)."""

    __test__ = False  # not a pytest class

    def __init__(self, name: str = "mta-sts-wizard realservers test CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(now + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def write_bundle(self, path: Path) -> Path:
        path.write_bytes(self.cert_pem())
        return path

    def issue(
        self,
        directory: Path,
        label: str,
        names: list[str],
        *,
        valid_from_days: int = -1,
        valid_days: int = 365,
        self_signed: bool = False,
        san: bool = True,
    ) -> PemPair:
        """Write `<label>.crt` (the leaf; servers do not send the root) and `<label>.key`.

        `valid_from_days` is relative to now: an expired certificate is one that started long
        ago and whose `valid_days` have run out. A self-signed one names itself as issuer.
        Without `san` the name is only in the subject CN, which RFC 6125 matching ignores.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        start = now + valid_from_days * DAY
        subject = _name(names[0])
        issuer_name = subject if self_signed else self.cert.subject
        signer = key if self_signed else self.key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + valid_days * DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        cert = builder.sign(signer, hashes.SHA256())
        pair = PemPair(directory / f"{label}.crt", directory / f"{label}.key")
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))  # the leaf alone, as for a root-issued one
        pair.key.write_bytes(_key_pem(key))
        pair.key.chmod(0o600)
        return pair
