"""A test CA and a leaf certificate for the policy host, written as PEM files for the servers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TestPki:
    """The files a server and a client need: the CA to trust, the chain and key to serve."""

    __test__ = False  # not a pytest class

    ca_pem: Path
    chain_pem: Path
    key_pem: Path


def make_pki(directory: Path, host: str) -> TestPki:
    """Issue a leaf for `host` (SAN dNSName only, as RFC 8461 §3.3 requires) under a new test CA."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert(host)
    pki = TestPki(directory / "ca.pem", directory / "fullchain.pem", directory / "privkey.pem")
    ca.cert_pem.write_to_path(str(pki.ca_pem))
    with open(pki.chain_pem, "wb") as handle:
        for blob in leaf.cert_chain_pems:
            handle.write(blob.bytes())
    leaf.private_key_pem.write_to_path(str(pki.key_pem))
    os.chmod(pki.key_pem, 0o600)
    return pki
