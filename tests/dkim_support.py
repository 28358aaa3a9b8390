"""DKIM for report emails in tests: one RSA key per test session, signing with dkimpy, and the key
published on the test world's loopback DNS server (tests/world/) where the importer looks it up.

Report emails count only when DKIM-signed by the reporting domain (SPEC.md §8), so every test
that imports an email signs it (reports_factory.email_report does by default) and uses the
`dkim_dns` fixture, which publishes the key and points the importer's key lookups at the world.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.world.world import World
from wizard.reports.dkim import DnsKeyLookup, use_key_lookup

SELECTOR = "tlsrpt"
#: Domains whose key the `dkim_dns` fixture publishes: reports_factory's default submitter and its parent.
DEFAULT_SIGNERS = ("mail.sender.example", "sender.example")
SIGNED_HEADERS = (b"from", b"to", b"subject", b"tls-report-domain", b"tls-report-submitter", b"content-type")


@dataclass(frozen=True)
class TestKey:
    private_pem: bytes
    public_b64: str

    def record(self, *, tlsrpt: bool = True) -> str:
        """The DKIM key TXT record (RFC 6376 §3.6.1), with s=tlsrpt as RFC 8460 §3 recommends."""
        return f"v=DKIM1; k=rsa; {'s=tlsrpt; ' if tlsrpt else ''}p={self.public_b64}"


def new_key() -> TestKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return TestKey(pem, base64.b64encode(der).decode("ascii"))


@cache
def session_key() -> TestKey:
    """The key report emails are signed with unless a test says otherwise (2048-bit RSA, made once)."""
    return new_key()


def sign(message: bytes, domain: str, *, key: TestKey | None = None, length: bool = False) -> bytes:
    """`message` with a DKIM-Signature from `domain` (selector SELECTOR) prepended; `length` adds l=."""
    key = key or session_key()
    header = dkim.sign(
        message,
        SELECTOR.encode(),
        domain.encode(),
        key.private_pem,
        include_headers=list(SIGNED_HEADERS),
        length=length,
        linesep=b"\n",
    )
    return header + message


def publish(world: World, domain: str, *, key: TestKey | None = None, tlsrpt: bool = True) -> None:
    """Serve `domain`'s key at SELECTOR._domainkey.<domain> from the world's DNS server."""
    world.txt(f"{SELECTOR}._domainkey.{domain}", [(key or session_key()).record(tlsrpt=tlsrpt)])


@pytest.fixture
def dkim_dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A world (own folder, so tests importing tmp_path see none of its files) serving the session
    key for DEFAULT_SIGNERS; email imports in the test look keys up on its DNS server."""
    world = World(tmp_path_factory.mktemp("dkim-world"))
    try:
        for domain in DEFAULT_SIGNERS:
            publish(world, domain)
        with use_key_lookup(DnsKeyLookup((world.dns.address,), timeout=3.0)):
            yield world
    finally:
        world.close()
