"""The HTTP side of `reports serve`: what a POSTed report gets as an answer (RFC 8460 §5.2).

Senders POST one report per request with `Content-Type: application/tlsrpt+gzip` or
`application/tlsrpt+json`, on whatever path the rua URI names (any path is accepted: the URI is
the user's choice, and a reverse proxy may rewrite it). Answers:

- 201 stored, 200 already stored (the same organisation and report-id): both 2xx, so the sender
  stops retrying;
- 400 with a one-line reason when the body is not a report (the same reasons `reports import` gives);
- 405 for any other method, 415 for any other content type or a content-encoding other than gzip;
- 413 as soon as the declared or the counted body passes the size cap: the body is read as a
  stream, never past the cap, and the connection is closed;
- 408 when the body has not arrived within the deadline (a slow-drip client), connection closed;
- 503 when the bodies being received already hold the memory budget, or the store cannot be written.

Every request gives one log line: time, method, path, status, and the report's organisation and
report-id when it had them (or the reason it was refused), escaped with `wizard.text.shown`.
Nothing else of a report reaches the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from wizard.receiver.writer import Received, StoreWriter
from wizard.reports.store import StoreError
from wizard.text import shown

REPORT_TYPES = ("application/tlsrpt+gzip", "application/tlsrpt+json")
#: Content-Encodings accepted: gzip is unwrapped by the parser (it recognises the gzip magic),
#: exactly as for an application/tlsrpt+gzip body.
ENCODINGS = ("", "identity", "gzip")


@dataclass(frozen=True)
class Limits:
    """The bounds on one request's body."""

    #: Largest body accepted, in bytes as received (compressed for gzip).
    max_bytes: int
    #: Seconds from the end of the request's headers to the end of its body.
    body_timeout: float
    #: Body bytes all requests together may hold in memory at once; past it, 503.
    buffered_most: int


@dataclass
class Tally:
    """What the server did since it started, printed when it stops."""

    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    #: Body bytes currently held by requests still being received or stored.
    buffered: int = 0

    def render(self) -> str:
        return f"{self.stored} reports stored, {self.duplicates} already stored, {self.refused} requests refused"


def log_line(method: str, path: str, status: int, detail: str) -> str:
    """One request's log line; `path` and anything in `detail` came from the client."""
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{when} {shown(method)} {shown(path)} {status} {detail}".rstrip()


def _quoted(value: str) -> str:
    return '"' + shown(value).replace('"', '\\"') + '"'


def _media_type(value: str) -> str:
    return value.partition(";")[0].strip().lower()


class _Refused(Exception):
    """A request answered without storing anything: status, one-line reason, extra headers."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


_CLOSE = {"Connection": "close"}


class _Held:
    """Body bytes one request holds against the memory budget."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


class Receiver:
    """The request handler: checks, reads the body within its bounds, hands it to the writer."""

    def __init__(self, writer: StoreWriter, limits: Limits, log: Callable[[str], None]) -> None:
        self.writer = writer
        self.limits = limits
        self.log = log
        self.tally = Tally()

    async def handle(self, request: Request) -> Response:
        method, path = request.method, request.url.path
        held = _Held()
        try:
            self._check_headers(request)
            body = await self._read_body(request, held)
            received = await self._store(body, request)
        except _Refused as refused:
            self.tally.refused += 1
            self.log(log_line(method, path, refused.status, f"refused: {shown(refused.reason)}"))
            return PlainTextResponse(refused.reason + "\n", status_code=refused.status, headers=refused.headers)
        except ClientDisconnect:
            self.tally.refused += 1
            self.log(log_line(method, path, 499, "the client closed the connection before the body ended"))
            return Response(status_code=400, headers=_CLOSE)  # nobody is there to read it
        finally:
            self.tally.buffered -= held.n
        if received.status == "stored":
            self.tally.stored += 1
            status, text = 201, "stored"
        else:
            self.tally.duplicates += 1
            status, text = 200, "already stored"
        detail = f"{text} org={_quoted(received.org)} report-id={_quoted(received.report_id)}"
        self.log(log_line(method, path, status, detail))
        return PlainTextResponse(text + "\n", status_code=status)

    def _check_headers(self, request: Request) -> None:
        """Method, content type and declared length: all refused before a byte of body is read."""
        if request.method != "POST":
            raise _Refused(405, "only POST is accepted: senders POST TLS reports here (RFC 8460)", {"Allow": "POST"})
        ctype = _media_type(request.headers.get("content-type", ""))
        if ctype not in REPORT_TYPES:
            raise _Refused(
                415,
                f"content type {ctype or '(none)'} is not accepted; send application/tlsrpt+gzip or "
                "application/tlsrpt+json",
            )
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding not in ENCODINGS:
            raise _Refused(415, f"content encoding {encoding} is not accepted; send the report plain or gzip")
        if _declared(request) > self.limits.max_bytes:
            raise _Refused(413, self._too_large(), _CLOSE)

    def _too_large(self) -> str:
        return f"the report is larger than {self.limits.max_bytes} bytes, the most this server accepts"

    def _hold(self, held: _Held, n: int) -> None:
        """Hold `n` body bytes in all, or refuse when the memory budget of all requests is spent."""
        if n <= held.n:
            return
        if self.tally.buffered + n - held.n > self.limits.buffered_most:
            raise _Refused(503, "too many reports arriving at once; try again later", {"Retry-After": "60", **_CLOSE})
        self.tally.buffered += n - held.n
        held.n = n

    async def _read_body(self, request: Request, held: _Held) -> bytes:
        """The body, read as it streams in and never past the cap, within the body deadline."""
        self._hold(held, _declared(request))
        chunks: list[bytes] = []
        total = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                async for chunk in request.stream():
                    total += len(chunk)
                    if total > self.limits.max_bytes:
                        raise _Refused(413, self._too_large(), _CLOSE)
                    self._hold(held, total)
                    chunks.append(chunk)
        except TimeoutError:
            raise _Refused(
                408, f"the body did not arrive within {self.limits.body_timeout:g} seconds", _CLOSE
            ) from None
        if not total:
            raise _Refused(400, "the request has no body; POST the report itself")
        return b"".join(chunks)

    async def _store(self, body: bytes, request: Request) -> Received:
        client = request.client.host if request.client else "unknown"
        try:
            received = await self.writer.store(body, f"{request.url.scheme} POST from {client}")
        except (StoreError, RuntimeError) as exc:  # RuntimeError: the writer closed (shutting down)
            raise _Refused(503, f"the report store cannot be written now ({exc}); try again later") from None
        if received.status == "rejected":
            raise _Refused(400, f"not a TLS report: {received.reason}")
        return received


def _declared(request: Request) -> int:
    """The Content-Length, 0 when absent (chunked); h11 has refused a malformed one already."""
    value = request.headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else 0


def make_app(receiver: Receiver) -> ASGIApp:
    """The ASGI app: every path and every method goes to the receiver, which answers (and logs) each.

    No router: Starlette's would answer unknown methods itself, without a log line.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off and no websocket library is loaded; nothing else arrives
        response = await receiver.handle(Request(scope, receive))
        await response(scope, receive, send)

    return app
