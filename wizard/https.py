"""Fetch the policy file the way a sending MTA does (RFC 8461 §3.3).

One GET per resolved address of `mta-sts.<domain>`: the URL carries the IP, while SNI
and Host carry the name, so the certificate is checked against the name and a test
world on loopback needs no /etc/hosts. Redirects are never followed, only 200 counts,
the body is capped at 64 KiB while it streams, and one deadline bounds the whole fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from wizard.certs import (
    CertFacts,
    cert_facts,
    describing_context,
    expiring_findings,
    find_cert_error,
    find_ssl_error,
    verification_findings,
    verified_context,
)
from wizard.findings import Finding, finding

POLICY_PATH = "/.well-known/mta-sts.txt"
#: RFC 8461 §3.3 suggests senders stop at 64 KB; mox and pmsr use 64 KiB.
MAX_POLICY_BYTES = 64 * 1024
#: RFC 8461 §3.3: senders may give up after 60 s.
MAX_FETCH_SECONDS = 60.0
_TEXT_CHARSETS = ("utf-8", "us-ascii")


@dataclass
class AddressFetch:
    """What one address of the policy host served, and what is wrong with it."""

    address: str
    url: str
    status: int | None = None
    content_type: str | None = None
    location: str | None = None
    body: bytes | None = None
    tls_version: str | None = None
    cert: CertFacts | None = None
    findings: list[Finding] = field(default_factory=list)
    elapsed_ms: int = 0

    @property
    def served(self) -> bool:
        """A 200 with a body of acceptable size arrived (the content may still be invalid)."""
        return self.status == 200 and self.body is not None

    def summary(self) -> str:
        if self.status is None:
            return f"{self.address}: no answer" + (f" ({self.findings[0].code})" if self.findings else "")
        size = f", {len(self.body)} bytes" if self.body is not None else ""
        return f"{self.address}: HTTP {self.status}, {self.content_type or 'no Content-Type'}{size}"


def url_host(address: str) -> str:
    """An address as it goes in a URL: IPv6 in brackets."""
    try:
        if ipaddress.ip_address(address).version == 6:
            return f"[{address}]"
    except ValueError:
        pass
    return address


def policy_client(ca_bundle: str | None) -> httpx.AsyncClient:
    """One client for many fetches (building one costs ~0.7 ms): no redirects, no proxies from the
    environment, and no keep-alive, so a connection opened with one host's SNI is never reused
    for another host that shares the address."""
    return httpx.AsyncClient(
        verify=verified_context(ca_bundle),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )


async def fetch_policy(
    host: str,
    address: str,
    *,
    ca_bundle: str | None,
    timeout: float,
    port: int = 443,
    client: httpx.AsyncClient | None = None,
) -> AddressFetch:
    """GET the policy from one address with SNI/Host = `host`; never raises.

    `client` (from `policy_client(ca_bundle)`) lets a run share one; without it the fetch
    makes and closes its own.
    """
    started = time.monotonic()
    netloc = url_host(address) if port == 443 else f"{url_host(address)}:{port}"
    url = f"https://{netloc}{POLICY_PATH}"
    subject = f"https://{host}{POLICY_PATH}"
    result = AddressFetch(address=address, url=url)
    deadline = min(timeout, MAX_FETCH_SECONDS)
    phase = "connect"

    async def trace(event: str, _info: dict[str, Any]) -> None:
        # Once the request is on the wire the connection works: a stall after it is a slow
        # answer (policy-timeout), not a failed connection (RFC 8461 §3.3 timeout).
        nonlocal phase
        if event.endswith("send_request_headers.complete") and phase == "connect":
            phase = "answer"

    try:
        async with asyncio.timeout(deadline):
            async with contextlib.AsyncExitStack() as stack:
                http = client if client is not None else await stack.enter_async_context(policy_client(ca_bundle))
                response = await stack.enter_async_context(
                    http.stream(
                        "GET",
                        url,
                        headers={"Host": host, "User-Agent": "mta-sts-wizard (policy check)"},
                        extensions={"sni_hostname": host, "trace": trace},
                        timeout=httpx.Timeout(deadline),
                    )
                )
                phase = "body"
                _record_tls(result, response, host, subject)
                await _read_response(result, response, host, subject)
    except TimeoutError:
        if phase == "connect":
            result.findings.append(_connect_failed(host, address, subject, f"no answer within {deadline:g} s"))
        else:
            result.body = None
            what = "sent no answer" if phase == "answer" else "did not deliver the whole policy"
            result.findings.append(
                finding(
                    "policy-timeout",
                    f"{address} accepted the request but {what} within {deadline:g} s",
                    "serve the file as a small static file; senders give up on slow answers",
                    subject=subject,
                    address=address,
                )
            )
    except httpx.TimeoutException as exc:
        if phase == "connect" and not isinstance(exc, httpx.ReadTimeout):
            result.findings.append(_connect_failed(host, address, subject, f"timed out ({type(exc).__name__})"))
        else:
            result.body = None
            result.findings.append(
                finding(
                    "policy-timeout",
                    f"{address} stopped sending before the policy was complete ({type(exc).__name__})",
                    "serve the file as a small static file; senders give up on slow answers",
                    subject=subject,
                    address=address,
                )
            )
    except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
        result.findings.extend(await _connect_error_findings(exc, host, address, port, subject, deadline))
    result.elapsed_ms = int((time.monotonic() - started) * 1000)
    return result


def _record_tls(result: AddressFetch, response: httpx.Response, host: str, subject: str) -> None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return
    result.tls_version = ssl_object.version()
    der = ssl_object.getpeercert(binary_form=True)
    if der:
        result.cert = cert_facts(der)
        result.findings.extend(expiring_findings("policy", host, result.cert, subject=subject, address=result.address))


async def _read_response(result: AddressFetch, response: httpx.Response, host: str, subject: str) -> None:
    address = result.address
    result.status = response.status_code
    result.content_type = response.headers.get("content-type")
    if 300 <= response.status_code < 400:
        location = response.headers.get("location")
        result.location = location
        where = f" to {location}" if location else " (no Location header)"
        result.findings.append(
            finding(
                "policy-redirect",
                f"the policy URL answered {response.status_code}{where}; senders never follow redirects",
                "serve the file itself at this URL with status 200 (no HTTP->HTTPS or path redirect)",
                subject=subject,
                address=address,
            )
        )
        return
    if response.status_code != 200:
        result.findings.append(
            finding(
                "policy-http-status",
                f"the policy URL answered {response.status_code} {response.reason_phrase}; only 200 counts",
                f"put the policy file at {POLICY_PATH} on the server for {host} and make it answer 200",
                subject=subject,
                address=address,
            )
        )
        return
    problem = content_type_problem(result.content_type)
    if problem:
        result.findings.append(
            finding(
                "policy-content-type",
                f"the policy is served as {problem}; senders expect text/plain",
                "serve mta-sts.txt with 'Content-Type: text/plain' (charset utf-8 or us-ascii, or none)",
                subject=subject,
                address=address,
            )
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_POLICY_BYTES:
        result.findings.append(_too_large(subject, address, f"declares {int(declared)} bytes"))
        return
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_POLICY_BYTES:
            result.findings.append(_too_large(subject, address, "sent more than 65536 bytes"))
            return
    result.body = b"".join(chunks)


def content_type_problem(value: str | None) -> str | None:
    """None when the header is text/plain with an acceptable charset; else a description."""
    if not value:
        return "no Content-Type at all"
    media, _, params = value.partition(";")
    if media.strip().lower() != "text/plain":
        return f"'{value.strip()}'"
    for param in params.split(";"):
        key, _, val = param.strip().partition("=")
        if key.strip().lower() == "charset" and val.strip().strip('"').lower() not in _TEXT_CHARSETS:
            return f"'{value.strip()}' (charset must be utf-8 or us-ascii)"
    return None


def _too_large(subject: str, address: str, how: str) -> Finding:
    return finding(
        "policy-too-large",
        f"the policy body {how}; senders stop reading at 64 KiB",
        "serve only the policy file (a few hundred bytes), not an HTML page or other content",
        subject=subject,
        address=address,
    )


def _connect_failed(host: str, address: str, subject: str, why: str) -> Finding:
    return finding(
        "policy-connect-failed",
        f"could not fetch the policy from {host} at {address}: {why}",
        f"make the web server for {host} listen on port 443 at {address} (check firewalls), or remove that "
        "address from DNS",
        subject=subject,
        address=address,
    )


async def _connect_error_findings(
    exc: BaseException, host: str, address: str, port: int, subject: str, timeout: float
) -> list[Finding]:
    cert_error = find_cert_error(exc)
    if cert_error is not None:
        facts = await describe_leaf(address, port, host, timeout)
        return verification_findings("policy", host, cert_error, facts, subject=subject, address=address)
    ssl_error = find_ssl_error(exc)
    if ssl_error is not None:
        reason = getattr(ssl_error, "reason", None) or str(ssl_error)
        return [_connect_failed(host, address, subject, f"the TLS handshake failed ({reason}); is it HTTPS at all?")]
    if isinstance(exc, httpx.RemoteProtocolError):
        return [_connect_failed(host, address, subject, f"the server did not speak HTTP ({exc})")]
    return [_connect_failed(host, address, subject, _os_reason(exc, port))]


def _os_reason(exc: BaseException, port: int) -> str:
    """The operating system's reason buried in httpx's wrapping ("All connection attempts failed")."""
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            break
        if isinstance(current, ConnectionRefusedError):
            return f"connection refused on port {port} (nothing listens there)"
        if isinstance(current, OSError) and current.strerror:
            return f"{current.strerror} (port {port})"
        current = current.__cause__ or current.__context__
    return str(exc) or type(exc).__name__


async def describe_leaf(address: str, port: int, host: str, timeout: float) -> CertFacts | None:
    """Handshake again without verification, only to read the certificate that failed."""
    der = await fetch_leaf_der(address, port, host, timeout)
    return cert_facts(der) if der else None


async def fetch_leaf_der(address: str, port: int, host: str, timeout: float) -> bytes | None:
    writer = None
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(
                address, port, ssl=describing_context(), server_hostname=host
            )
            ssl_object = writer.get_extra_info("ssl_object")
            return ssl_object.getpeercert(binary_form=True) if ssl_object else None
    except (TimeoutError, OSError, ssl.SSLError):
        return None
    finally:
        if writer is not None:
            writer.close()
