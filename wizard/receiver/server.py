"""Run the receiver: uvicorn serving the Starlette app, in the foreground until SIGINT or SIGTERM.

Why Starlette on uvicorn (not aiohttp): both are installed with the project already, widely used
and kept up; uvicorn brings what a receiver facing the internet needs without code of ours: a
bound on concurrent connections (`limit_concurrency`, 503 past it), a bound on header size (h11's
incomplete-event limit), TLS from an `ssl.SSLContext`, keep-alive timeouts and a graceful
shutdown that lets requests in flight finish. Starlette gives the request body as a stream, so the
size cap is counted as bytes arrive and reading stops there (uvicorn stops reading the socket when
the app stops taking the body), and the app stays a plain request -> response function.

What uvicorn lacks is a deadline for a request's headers: a client can connect and send one byte
a minute, holding a connection slot forever. `_deadline_protocol` adds one to uvicorn's h11
protocol (uvicorn accepts a protocol class); the body deadline is the app's (wizard.receiver.app).

Shutdown: the first SIGINT or SIGTERM stops accepting, closes idle connections and waits for the
requests in flight (each bounded by the deadlines); the store writer then finishes what it was
given and closes the store. Every report is stored in one transaction, so even a forced stop
(a second Ctrl-C) leaves no partial report.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from wizard.receiver import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT
from wizard.receiver.app import Limits, Receiver, Tally, make_app
from wizard.receiver.writer import StoreWriter
from wizard.text import shown

#: Open connections at most; a request arriving past it gets 503 (uvicorn's limit_concurrency).
MAX_CONNECTIONS = 100
#: Body bytes all requests together may hold at once: at least this, and two bodies at the cap.
BUFFERED_MOST = 64 * 1024 * 1024
#: Seconds an idle keep-alive connection stays open after its last answer.
KEEP_ALIVE = 5


@dataclass(frozen=True)
class ServeSettings:
    """What `reports serve` was asked to do."""

    host: str
    port: int
    store_path: Path
    cert: str | None = None
    key: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    #: Seconds a client has for a request's headers, and again for its body.
    timeout: float = DEFAULT_TIMEOUT

    @property
    def scheme(self) -> str:
        return "https" if self.cert else "http"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/"


def parse_listen(text: str) -> tuple[str, int]:
    """`ADDR:PORT` or `[V6]:PORT` (an IP address; port 0 picks a free one) -> (address, port).

    Raises ValueError with a message that says what to type.
    """
    raw = text.strip()
    if raw.startswith("["):
        host, sep, port = raw[1:].partition("]:")
    else:
        host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen {text!r}: write ADDR:PORT, e.g. 127.0.0.1:8460 or [::1]:8460")
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(f"--listen {text!r}: {host!r} is not an IP address; e.g. 127.0.0.1:8460 or [::]:443") from None
    if int(port) > 65535:
        raise ValueError(f"--listen {text!r}: port {port} is out of range 0-65535")
    return address, int(port)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context for the certificate chain and key, TLS 1.2 at least.

    Raises ValueError with a one-line reason (an encrypted key is refused, never prompted for:
    the receiver runs unattended).
    """

    def no_password() -> str:
        raise ValueError("encrypted")

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key, password=no_password)
    except FileNotFoundError as exc:
        raise ValueError(f"{exc.filename}: no such file; give the PEM certificate chain and key") from None
    except PermissionError as exc:
        raise ValueError(f"{exc.filename}: cannot be read by this user; check its permissions") from None
    except ValueError:
        raise ValueError(f"{key}: the key is encrypted; give an unencrypted key readable only by this user") from None
    except ssl.SSLError as exc:
        raise ValueError(
            f"--cert {cert} --key {key}: not a PEM certificate chain and its matching key ({exc.reason or exc})"
        ) from None
    return context


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts (raises OSError)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and ipaddress.ip_address(host).is_unspecified:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # [::] takes IPv4 too
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _deadline_protocol(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose next request's headers are not complete
    within `header_timeout` seconds of connecting or of the previous answer."""

    class HeaderDeadline(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = self.loop.call_later(header_timeout, self._late, self.cycle)

        def _late(self, cycle: object) -> None:
            # A new request since arming has its own cycle (and the app's body deadline).
            if self.cycle is cycle and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline


class _LogHandler(logging.Handler):
    """uvicorn's own warnings (a refused connection, a malformed request) as log lines, escaped."""

    def __init__(self, log: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        for line in self.format(record).splitlines():
            self._log(f"uvicorn: {shown(line)}")


class _Terminated(BaseException):
    """SIGTERM, raised where uvicorn re-raises the signal after its graceful shutdown."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


@contextmanager
def _sigterm_ends_serve() -> Iterator[None]:
    """SIGTERM's default action would end the process where uvicorn re-raises it, before the store
    is closed: raise instead, so the caller closes it and says what it did."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(settings: ServeSettings, log: Callable[[str], None], *, ready: Callable[[str], None] | None = None) -> Tally:
    """Receive reports until SIGINT or SIGTERM; returns what was received.

    Raises OSError when the address cannot be bound, ValueError for an unusable certificate or
    key, StoreError when the store cannot be opened: all before anything listens for requests.
    `ready` is called with the URL once the socket is bound (port 0 resolved).
    """
    context = tls_context(settings.cert, settings.key) if settings.cert and settings.key else None
    sock = bind(settings.host, settings.port)
    try:
        writer = StoreWriter(settings.store_path)
    except BaseException:
        sock.close()
        raise
    port = sock.getsockname()[1]
    limits = Limits(
        max_bytes=settings.max_bytes,
        body_timeout=settings.timeout,
        buffered_most=max(BUFFERED_MOST, 2 * settings.max_bytes),
    )
    receiver = Receiver(writer, limits, log)
    options: dict[str, Any] = {}
    if context is not None:
        options["ssl_context_factory"] = lambda config, default: context
    config = uvicorn.Config(
        make_app(receiver),
        http=_deadline_protocol(settings.timeout),
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=KEEP_ALIVE,
        timeout_graceful_shutdown=int(settings.timeout) + 10,
        server_header=False,
        proxy_headers=False,
        **options,
    )
    handler = _LogHandler(log)
    uvicorn_logger = logging.getLogger("uvicorn")
    uvicorn_logger.addHandler(handler)
    try:
        if ready is not None:
            ready(ServeSettings(settings.host, port, settings.store_path, settings.cert).url)
        with _sigterm_ends_serve():
            asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    except (KeyboardInterrupt, _Terminated):
        pass  # the signal that stopped the server, re-raised by uvicorn once it had shut down
    finally:
        uvicorn_logger.removeHandler(handler)
        sock.close()
        writer.close()
    return receiver.tally


def write_line(line: str) -> None:
    """One log line on stdout, flushed at once (systemd's journal or a terminal reads it live)."""
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # stdout went away: keep serving, the store is what matters
        pass
