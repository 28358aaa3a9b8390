"""HTTPS policy hosts on loopback: one server per address, the answer chosen by SNI/Host.

A `Site` says what to serve (status, headers, body, redirect) or how to misbehave:
`drip` sends the body a byte at a time, `huge` sends 10 MB, `garbage` answers the TLS
ClientHello with plain text. Requests are logged so tests can assert on SNI and Host.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_REQUEST_HEAD = 16 * 1024
HUGE_BYTES = 10 * 1024 * 1024


@dataclass
class Site:
    """What one policy host serves at /.well-known/mta-sts.txt."""

    body: bytes | None = None
    """None: serve the scenario's policy file."""
    status: int = 200
    reason: str = "OK"
    content_type: str | None = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    behaviour: str = "normal"  # normal | drip | huge | garbage | silent (reads, never answers) | down (no server)
    cert: str = "good"
    address: str | None = None
    """None: a random 127.X.Y.Z (A record). An IPv6 address such as "::1" gets an AAAA record;
    hold tests.world.ipv6.ipv6_policy_port() while using ::1, it is shared by every test run."""


@dataclass
class RequestLog:
    sni: str | None
    host: str | None
    path: str


class HttpsServer:
    """Serves `sites` (by server name) on address:port with TLS unless the first site says `garbage`."""

    def __init__(
        self, address: str, port: int, sites: dict[str, Site], context_for: Callable[[str, Site], ssl.SSLContext]
    ):
        self.address = address
        self.port = port
        self.sites = sites
        self.requests: list[RequestLog] = []
        self._context_for = context_for
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sni: dict[int, str | None] = {}

    @property
    def default_name(self) -> str:
        return next(iter(self.sites))

    def _ssl_context(self) -> ssl.SSLContext:
        names = list(self.sites)
        contexts = {n: self._context_for(n, self.sites[n]) for n in names}
        main = contexts[names[0]]

        def pick(sock: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
            self._sni[id(sock)] = server_name
            if server_name and server_name.lower() in contexts:
                sock.context = contexts[server_name.lower()]

        main.sni_callback = pick  # type: ignore[assignment]
        return main

    async def start(self) -> None:
        garbage = self.sites[self.default_name].behaviour == "garbage"
        ctx = None if garbage else self._ssl_context()
        self._server = await asyncio.start_server(self._handle, self.address, self.port, ssl=ctx)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            site = self.sites[self.default_name]
            if site.behaviour == "garbage":
                writer.write(b"HELLO, this is not TLS at all\r\n" * 20)
                await writer.drain()
                await asyncio.sleep(0.5)
                return
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > MAX_REQUEST_HEAD:
                return
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else ""
            host = None
            for line in lines[1:]:
                key, _, value = line.partition(":")
                if key.strip().lower() == "host":
                    host = value.strip().lower()
            ssl_object = writer.get_extra_info("ssl_object")
            sni = self._sni.pop(id(ssl_object), None) if ssl_object is not None else None
            self.requests.append(RequestLog(sni, host, path))
            site = self.sites.get(sni or "", self.sites.get(host or "", site))
            await self._respond(writer, site)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _respond(self, writer: asyncio.StreamWriter, site: Site) -> None:
        if site.behaviour == "silent":
            await asyncio.sleep(600)  # ten minutes at most; the client's deadline ends it first
            return
        body = site.body or b""
        length = len(body)
        if site.behaviour == "huge":
            length = HUGE_BYTES
        elif site.behaviour == "drip":
            length = len(body) + 1000
        head = [f"HTTP/1.1 {site.status} {site.reason}"]
        if site.content_type is not None:
            head.append(f"Content-Type: {site.content_type}")
        if site.location is not None:
            head.append(f"Location: {site.location}")
        head += [f"{k}: {v}" for k, v in site.headers.items()]
        head += [f"Content-Length: {length}", "Connection: close", "", ""]
        writer.write("\r\n".join(head).encode("latin-1"))
        await writer.drain()
        if site.behaviour == "huge":
            chunk = b"A" * 65536
            for _ in range(HUGE_BYTES // len(chunk)):
                writer.write(chunk)
                await writer.drain()
        elif site.behaviour == "drip":
            writer.write(body[:10])
            for _ in range(6000):  # ten minutes at most
                await asyncio.sleep(0.1)
                writer.write(b"#")
                await writer.drain()
        else:
            writer.write(body)
            await writer.drain()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
