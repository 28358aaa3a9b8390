"""A small SMTP server on loopback port 25: banner, EHLO, STARTTLS (or not), QUIT.

`MxSpec` picks the certificate, whether STARTTLS is offered, the highest TLS version,
and hostile behaviours: `drip` (a banner that never ends), `garbage-tls` (plain text
after 220 to STARTTLS), `stall-tls` (220 to STARTTLS, then silence), `refuse-starttls` (454),
`bad-banner` (554 greeting), `huge-banner` (a 10 MB greeting line), `ehlo-flood` (an EHLO reply
of endless lines), `hostile-text` (STARTTLS refused with terminal escapes, a CR and bidi marks in
the reply text: HOSTILE_REPLY).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

MAX_COMMANDS = 50
HUGE_BANNER_BYTES = 10 * 1024 * 1024
#: The reply text of `hostile-text`: OSC title, clear screen, a CR that overwrites the line, C1 CSI,
#: RLO (an LF would end the reply line itself).
HOSTILE_REPLY = "TLS off\x1b]0;owned\x07\x1b[2J\rerror: forged line \x9b2J \u202eevil"


@dataclass
class MxSpec:
    """How one MX host behaves."""

    starttls: bool = True
    cert: str = "good"
    max_tls: ssl.TLSVersion | None = None
    behaviour: str = "normal"
    """normal | drip | garbage-tls | stall-tls | refuse-starttls | bad-banner | huge-banner | ehlo-flood |
    hostile-text | down"""


class SmtpServer:
    def __init__(self, address: str, host: str, spec: MxSpec, context: Callable[[], ssl.SSLContext], port: int = 25):
        self.address = address
        self.port = port
        self.host = host
        self.spec = spec
        self._context = context
        self.sessions: list[list[str]] = []
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._contexts: dict[tuple[str, ssl.TLSVersion | None], ssl.SSLContext] = {}

    def _tls_context(self) -> ssl.SSLContext:
        """One context per certificate kind and version cap, not one per STARTTLS (load_cert_chain is slow)."""
        key = (self.spec.cert, self.spec.max_tls)
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._contexts[key] = self._context()
        return ctx

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.address, self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        log: list[str] = []
        self.sessions.append(log)
        spec = self.spec
        try:
            if spec.behaviour == "drip":
                for _ in range(6000):
                    writer.write(b"220-")
                    await writer.drain()
                    await asyncio.sleep(0.1)
                    writer.write(b"still here\r\n")
                return
            if spec.behaviour == "bad-banner":
                writer.write(b"554 no service for you\r\n")
                await writer.drain()
                return
            if spec.behaviour == "huge-banner":
                chunk = b"x" * 65536
                writer.write(b"220 ")
                for _ in range(HUGE_BANNER_BYTES // len(chunk)):  # until the client hangs up
                    writer.write(chunk)
                    await writer.drain()
                return
            writer.write(f"220 {self.host} ESMTP test\r\n".encode())
            await writer.drain()
            for _ in range(MAX_COMMANDS):
                async with asyncio.timeout(30):
                    line = await reader.readline()
                if not line:
                    return
                command = line.decode("ascii", errors="replace").strip()
                log.append(command)
                verb = command.split(" ")[0].upper()
                if verb in ("EHLO", "HELO") and spec.behaviour == "ehlo-flood":
                    for n in range(100_000):  # until the client hangs up
                        writer.write(f"250-EXTENSION-{n}\r\n".encode())
                        await writer.drain()
                    return
                if verb in ("EHLO", "HELO"):
                    lines = [self.host, "PIPELINING", "SIZE 10240000"]
                    if spec.starttls and writer.get_extra_info("ssl_object") is None:
                        lines.append("STARTTLS")
                    lines.append("8BITMIME")
                    writer.write(_multiline(250, lines))
                elif verb == "STARTTLS":
                    if spec.behaviour == "hostile-text":
                        writer.write(f"454 4.7.0 {HOSTILE_REPLY}\r\n".encode())
                    elif spec.behaviour == "refuse-starttls":
                        writer.write(b"454 4.7.0 TLS not available due to local problem\r\n")
                    elif spec.behaviour == "stall-tls":  # agree to STARTTLS, then never send a ServerHello
                        writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                        await writer.drain()
                        await reader.read()  # until the client gives up (or stop() cancels it)
                        return
                    elif spec.behaviour == "garbage-tls":
                        writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                        await writer.drain()
                        writer.write(b"this is not a TLS ServerHello\r\n" * 10)
                        await writer.drain()
                        await asyncio.sleep(0.5)
                        return
                    else:
                        writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                        await writer.drain()
                        async with asyncio.timeout(10):
                            await writer.start_tls(self._tls_context())
                        continue
                elif verb == "QUIT":
                    writer.write(b"221 2.0.0 Bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"502 5.5.2 not implemented here\r\n")
                await writer.drain()
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()


def _multiline(code: int, lines: list[str]) -> bytes:
    out = [f"{code}-{line}" for line in lines[:-1]] + [f"{code} {lines[-1]}"]
    return ("\r\n".join(out) + "\r\n").encode()
