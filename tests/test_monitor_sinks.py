"""Where monitoring tests receive notifications: a real SMTP server (aiosmtpd) and an HTTP endpoint.

Both listen on a random 127.X.Y.Z address. The HTTP endpoint takes apprise's json:// POSTs; it
can hold the next request unanswered (to kill the sender mid-send), and it counts a message as
received only when it answered 200, as a webhook service acknowledges one. The tests of this
file check the sinks themselves.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

MAIL_FROM = "monitor@example.com"
MAIL_TO = "ops@example.com"


def _address() -> str:
    return f"127.{random.randint(2, 250)}.{random.randint(2, 250)}.{random.randint(2, 250)}"


class HttpSink:
    """An HTTP endpoint for json:// notifications."""

    def __init__(self, at: tuple[str, int] | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.held: list[dict[str, Any]] = []
        self.hold_next = False
        self.holding = threading.Event()
        self.release = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                doc = json.loads(self.rfile.read(size))
                if sink.hold_next:
                    sink.hold_next = False
                    sink.held.append(doc)
                    sink.holding.set()
                    sink.release.wait(30)
                    self.send_response(503)  # never acknowledged: the sender is gone
                    self.end_headers()
                    return
                sink.received.append(doc)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        for _ in range(50):
            try:
                self.server = ThreadingHTTPServer(at or (_address(), 0), Handler)
                break
            except OSError:
                continue
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"json://{host}:{port}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class MailSink:
    """A real SMTP server; each message is kept as (subject, body text)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = message_from_bytes(envelope.content, policy=policy.default)
                part = msg.get_body(preferencelist=("plain",))
                body = part.get_content() if part is not None else ""
                sink.messages.append((str(msg["Subject"]), body))
                return "250 OK"

        last: Exception | None = None
        for _ in range(50):
            self.host, self.port = _address(), random.randint(20000, 60000)
            self.controller = Controller(Handler(), hostname=self.host, port=self.port)
            try:
                self.controller.start()
                break
            except Exception as exc:  # address or port taken: try another
                last = exc
        else:
            raise RuntimeError(f"no SMTP sink could start: {last}")

    @property
    def url(self) -> str:
        return f"mailto://{self.host}:{self.port}?from={MAIL_FROM}&to={MAIL_TO}"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.controller.stop()


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()
    try:
        yield sink
    finally:
        sink.close()


@pytest.fixture
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink()
    try:
        yield sink
    finally:
        sink.close()


def test_sinks_receive_through_apprise(http_sink: HttpSink, mail_sink: MailSink) -> None:
    from wizard.monitor.notify import send_test

    results = send_test([http_sink.url, mail_sink.url], "example.com", 5.0)
    assert [r.ok for r in results] == [True, True]
    assert "example.com" in http_sink.received[0]["title"]
    assert "example.com" in mail_sink.messages[0][0]
