"""Fetch from one loopback address the way a sender does: SNI and Host set to the policy host."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Fetched:
    status: int
    content_type: str
    body: bytes
    location: str | None


def fetch(address: str, host: str, path: str, ca_pem: str, scheme: str = "https") -> Fetched:
    """GET `scheme://host/path` from `address`, verifying the certificate for `host`, no redirects."""
    context = ssl.create_default_context(cafile=ca_pem)
    url = f"{scheme}://{address}{path}"
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    with httpx.Client(verify=context, follow_redirects=False, timeout=10.0, trust_env=False) as client:
        response = client.get(url, headers={"Host": host}, extensions=extensions)
    return Fetched(
        response.status_code,
        response.headers.get("content-type", ""),
        response.content,
        response.headers.get("location"),
    )
