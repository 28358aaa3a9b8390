"""Probe an MX the way a sending MTA does: port 25, EHLO, STARTTLS, a verified handshake.

RFC 8461 §4.2: the MX must offer STARTTLS and present a PKIX certificate valid for the
MX host name (which goes in SNI); §7.2: TLS 1.2 or later. Every read and write has its
own deadline and replies are bounded in lines and length, so a server that drips bytes
or floods us costs at most a few deadlines and a few kilobytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import time
from dataclasses import dataclass, field

from wizard.certs import (
    CertFacts,
    cert_facts,
    describing_context,
    expiring_findings,
    find_cert_error,
    verification_findings,
    verified_context,
)
from wizard.findings import Finding, finding

#: Longest SMTP reply line we accept (RFC 5321 §4.5.3.1.5 says 512 octets).
MAX_LINE = 4096
#: Most lines in one multi-line reply.
MAX_REPLY_LINES = 100
_OLD_TLS = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}


class SmtpError(Exception):
    """The dialogue broke off; str() says how, in the user's terms."""


class _Misbehaved(SmtpError):
    """The server answered, but with a reply no sender accepts (a line over MAX_LINE, a reply
    over MAX_REPLY_LINES): it was reached, so this is about the server, not our network."""


@dataclass
class SmtpProbe:
    """What one address of one MX host did when we tried to start TLS with it."""

    host: str
    address: str
    reachable: bool = False
    banner: str = ""
    starttls_offered: bool | None = None
    tls_version: str | None = None
    cert: CertFacts | None = None
    verified: bool = False
    findings: list[Finding] = field(default_factory=list)
    elapsed_ms: int = 0

    def summary(self) -> str:
        if not self.reachable:
            return f"{self.host} [{self.address}]: not reachable on port 25"
        if not self.starttls_offered:
            return f"{self.host} [{self.address}]: no STARTTLS"
        state = "certificate valid" if self.verified else "certificate NOT valid"
        return f"{self.host} [{self.address}]: {self.tls_version or 'no TLS'}, {state}"


@dataclass
class _Session:
    banner: str = ""
    offered: bool = False
    starttls_reply: str = ""
    tls_version: str | None = None
    der: bytes | None = None


async def probe_mx(host: str, address: str, *, ca_bundle: str | None, timeout: float, port: int = 25) -> SmtpProbe:
    """Run the STARTTLS probe against one address; never raises."""
    started = time.monotonic()
    probe = SmtpProbe(host=host, address=address)
    subject = host
    try:
        session = await _session(address, port, host, verified_context(ca_bundle, legacy_versions=True), timeout)
    except _Unreachable as exc:
        probe.findings.append(_unreachable(host, address, str(exc)))
    except _HandshakeFailed as exc:
        probe.reachable, probe.starttls_offered = True, True
        probe.banner = exc.session.banner
        cert_error = find_cert_error(exc.error)
        second = await _describe(address, port, host, timeout)
        if second is not None:
            probe.tls_version = second.tls_version
            probe.cert = cert_facts(second.der) if second.der else None
        if cert_error is not None:
            probe.findings.extend(
                verification_findings("mx", host, cert_error, probe.cert, subject=subject, address=address)
            )
            probe.findings.extend(_protocol_findings(host, address, probe.tls_version))
        elif second is not None and second.tls_version in _OLD_TLS:
            probe.findings.extend(_protocol_findings(host, address, second.tls_version))
        else:
            probe.findings.append(
                finding(
                    "mx-no-starttls",
                    f"{host} offers STARTTLS but no TLS session could be set up ({exc.error})",
                    "check the mail server's TLS settings (certificate and key files, protocols, ciphers)",
                    subject=subject,
                    address=address,
                )
            )
    except _Misbehaved as exc:
        probe.reachable = True
        probe.findings.append(
            finding(
                "mx-no-starttls",
                f"{host} answered on port 25, but {exc}; a sending server gives up on such a reply before "
                "it can start TLS",
                "make the mail server (or the filter or proxy in front of it) send a normal SMTP greeting and "
                "EHLO reply: short lines, a few of them, ending in STARTTLS",
                subject=subject,
                address=address,
            )
        )
    except SmtpError as exc:
        probe.reachable = True
        probe.findings.append(_unreachable(host, address, str(exc)))
    else:
        probe.reachable = True
        probe.banner = session.banner
        probe.starttls_offered = session.offered
        if not session.offered:
            probe.findings.append(
                finding(
                    "mx-no-starttls",
                    f"{host} does not offer STARTTLS in its EHLO reply; senders cannot encrypt mail to it",
                    "enable STARTTLS with a valid certificate for this host name (Postfix: smtpd_tls_security_level"
                    " = may, smtpd_tls_chain_files = ...)",
                    subject=subject,
                    address=address,
                )
            )
        elif session.tls_version is None:
            probe.findings.append(
                finding(
                    "mx-no-starttls",
                    f"{host} lists STARTTLS but refused it: {session.starttls_reply}",
                    "make the mail server accept STARTTLS (check its TLS certificate and key settings)",
                    subject=subject,
                    address=address,
                )
            )
        else:
            probe.verified = True
            probe.tls_version = session.tls_version
            probe.cert = cert_facts(session.der) if session.der else None
            probe.findings.extend(_protocol_findings(host, address, session.tls_version))
            probe.findings.extend(expiring_findings("mx", host, probe.cert, subject=subject, address=address))
    probe.elapsed_ms = int((time.monotonic() - started) * 1000)
    return probe


def _protocol_findings(host: str, address: str, version: str | None) -> list[Finding]:
    if version not in _OLD_TLS:
        return []
    return [
        finding(
            "mx-tls-protocol",
            f"{host} negotiates {version}; MTA-STS requires TLS 1.2 or later",
            "enable TLS 1.2 and 1.3 on the mail server (Postfix: smtpd_tls_protocols = >=TLSv1.2)",
            subject=host,
            address=address,
        )
    ]


def _unreachable(host: str, address: str, why: str) -> Finding:
    return finding(
        "mx-unreachable",
        f"could not complete an SMTP session with {host} at {address}: {why}; many networks (home, office, "
        "cloud) block outbound port 25, so this may be our side",
        "run the check from a server that can reach port 25, or make sure the MX listens on port 25",
        subject=host,
        address=address,
    )


class _Unreachable(Exception):
    pass


class _HandshakeFailed(Exception):
    def __init__(self, session: _Session, error: BaseException) -> None:
        super().__init__(str(error))
        self.session = session
        self.error = error


async def _describe(address: str, port: int, host: str, timeout: float) -> _Session | None:
    """Repeat the dialogue with verification off, to read the certificate and version."""
    try:
        return await _session(address, port, host, describing_context(), timeout)
    except (SmtpError, _Unreachable, _HandshakeFailed):
        return None


async def _session(address: str, port: int, host: str, ctx: ssl.SSLContext, timeout: float) -> _Session:
    session = _Session()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(address, port, limit=MAX_LINE)
    except TimeoutError:
        raise _Unreachable(f"no connection to port {port} within {timeout:g} s") from None
    except OSError as exc:
        raise _Unreachable(exc.strerror or str(exc)) from None
    try:
        code, lines = await _reply(reader, timeout, "greeting")
        session.banner = lines[0] if lines else ""
        if code != 220:
            raise SmtpError(f"it greeted with {code} {session.banner!r} instead of 220")
        await _send(writer, f"EHLO {_helo_name(writer)}", timeout)
        code, lines = await _reply(reader, timeout, "EHLO reply")
        if code != 250:
            raise SmtpError(f"it answered EHLO with {code} {' '.join(lines)[:200]!r}")
        session.offered = any(line.upper().split(" ")[0] == "STARTTLS" for line in lines[1:])
        if not session.offered:
            await _quit(reader, writer, timeout)
            return session
        await _send(writer, "STARTTLS", timeout)
        code, lines = await _reply(reader, timeout, "STARTTLS reply")
        if code != 220:
            session.starttls_reply = f"{code} {' '.join(lines)[:200]}"
            await _quit(reader, writer, timeout)
            return session
        try:
            async with asyncio.timeout(timeout):
                await writer.start_tls(ctx, server_hostname=host)
        except TimeoutError:
            raise _HandshakeFailed(session, TimeoutError(f"no TLS handshake within {timeout:g} s")) from None
        except (ssl.SSLError, OSError, ConnectionError) as exc:
            raise _HandshakeFailed(session, exc) from None
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            session.tls_version = ssl_object.version()
            session.der = ssl_object.getpeercert(binary_form=True)
        await _quit(reader, writer, min(timeout, 2.0))
        return session
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()


async def _send(writer: asyncio.StreamWriter, line: str, timeout: float) -> None:
    try:
        writer.write(line.encode("ascii") + b"\r\n")
        if writer.transport.get_write_buffer_size() or writer.transport.is_closing():
            # Only a line the kernel did not take at once needs the wait (and its deadline); the
            # usual one-line command is already sent, and a drain would only cost a timer.
            async with asyncio.timeout(timeout):
                await writer.drain()
    except TimeoutError:
        raise SmtpError(f"it stopped reading (sending {line.split()[0]} timed out)") from None
    except OSError as exc:
        raise SmtpError(f"the connection broke while sending {line.split()[0]}: {exc}") from None


async def _reply(reader: asyncio.StreamReader, timeout: float, what: str) -> tuple[int, list[str]]:
    """Read one (multi-line) reply within `timeout`; bounded in length and line count."""
    lines: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while len(lines) < MAX_REPLY_LINES:
                raw = await reader.readline()
                if not raw:
                    raise SmtpError(f"it closed the connection before its {what}")
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if len(text) < 3 or not text[:3].isdigit():
                    raise SmtpError(f"it sent {text[:60]!r} instead of an SMTP {what}")
                lines.append(text[4:])
                if len(text) == 3 or text[3] != "-":
                    return int(text[:3]), lines
    except TimeoutError:
        raise SmtpError(f"no complete {what} within {timeout:g} s") from None
    except (ValueError, asyncio.LimitOverrunError):
        raise _Misbehaved(f"its {what} has a line longer than {MAX_LINE} bytes") from None
    except OSError as exc:
        raise SmtpError(f"the connection broke while reading its {what}: {exc}") from None
    raise _Misbehaved(f"its {what} ran over {MAX_REPLY_LINES} lines")


async def _quit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
    with contextlib.suppress(SmtpError):
        await _send(writer, "QUIT", timeout)
        await _reply(reader, timeout, "QUIT reply")


def _helo_name(writer: asyncio.StreamWriter) -> str:
    """An address literal of our end of the connection (RFC 5321 §4.1.3): always valid."""
    sock = writer.get_extra_info("sockname")
    try:
        ip = ipaddress.ip_address(sock[0])
    except (TypeError, ValueError, IndexError):
        return "mta-sts-wizard.invalid"
    return f"[IPv6:{ip}]" if ip.version == 6 else f"[{ip}]"
