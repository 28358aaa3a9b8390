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


def engine_fetch_findings(address: str, host: str, ca_pem: str, expected_body: str) -> list[str]:
    """Fetch with the verification engine itself (wizard.https) and return every problem it reports.

    The engine's own per-address fetch judges certificate, status, redirect, media type and size;
    the body then goes through the policy parser. Only info findings (e.g. testing mode) are
    acceptable, and the body must be exactly what the bundle deployed. An empty list is clean.
    """
    import asyncio

    from wizard.https import fetch_policy
    from wizard.policy import parse_policy

    result = asyncio.run(fetch_policy(host, address, ca_bundle=ca_pem, timeout=10.0))
    problems = [f"{f.code}: {f.message}" for f in result.findings if f.severity != "info"]
    if result.status != 200 or result.body is None:
        problems.append(f"not served: {result.summary()}")
        return problems
    if result.body != expected_body.encode():
        problems.append(f"body differs: {result.body!r}")
    parsed = parse_policy(result.body)
    problems += [f"{f.code}: {f.message}" for f in parsed.findings if f.severity != "info"]
    if parsed.policy is None:
        problems.append("the served policy did not parse")
    return problems
