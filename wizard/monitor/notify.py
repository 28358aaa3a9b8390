"""Sending notifications through apprise: one URL syntax for email, chat and webhooks.

Each URL is its own apprise plugin, so the caller learns which target acknowledged and which
did not (wizard.monitor.record keeps the ones that did not for the next pass). Sending blocks
(apprise uses requests and smtplib): callers run it in a thread. Apprise keeps no files here
(its persistent storage is set to memory), and what it logs about a failure (from the sending
thread only) is captured and returned as the reason, shown with wizard.text.shown by whoever prints it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wizard.monitor.record import url_digest
from wizard.text import shown

#: The apprise notify types a message can have.
KINDS = ("info", "success", "warning", "failure")


@dataclass(frozen=True)
class Target:
    """A notification URL, with what may be shown of it (never its secrets)."""

    url: str
    digest: str
    scheme: str
    label: str


@dataclass(frozen=True)
class SendResult:
    target: Target
    ok: bool
    error: str = ""


def _asset() -> Any:
    import apprise

    return apprise.AppriseAsset(storage_mode="memory")


def _plugin(url: str) -> Any:
    import apprise

    return apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True)


def url_problem(url: str) -> str | None:
    """Why apprise cannot use `url` (one line), or None when it can."""
    if "://" not in url:
        return "not a notification URL; use apprise's syntax, e.g. mailto://user:pass@host?to=you@example.com"
    if _plugin(url) is None:
        scheme = url.split("://", 1)[0]
        return (
            f"apprise cannot use this {shown(scheme)}:// URL (unknown service or a missing part); see "
            "https://github.com/caronc/apprise/wiki for the syntax"
        )
    return None


def target(url: str) -> Target:
    """Describe a URL for display: its scheme and apprise's privacy form (secrets masked)."""
    plugin = _plugin(url)
    scheme = url.split("://", 1)[0].lower() if "://" in url else "?"
    label = plugin.url(privacy=True) if plugin is not None else f"{scheme}://…"
    return Target(url, url_digest(url), scheme, shown(label))


def send(t: Target, title: str, body: str, kind: str, timeout: float) -> SendResult:
    """Deliver one message to one target (blocking); ok only when the service acknowledged it."""
    import apprise

    plugin = _plugin(t.url)
    if plugin is None:
        return SendResult(t, False, "apprise cannot use this URL")
    plugin.socket_connect_timeout = timeout
    plugin.socket_read_timeout = timeout
    notify_type = {
        "info": apprise.NotifyType.INFO,
        "success": apprise.NotifyType.SUCCESS,
        "warning": apprise.NotifyType.WARNING,
        "failure": apprise.NotifyType.FAILURE,
    }.get(kind, apprise.NotifyType.INFO)
    with _captured() as lines:
        try:
            ok = bool(plugin.notify(title=title, body=body, notify_type=notify_type))
        except Exception as exc:  # a plugin bug must not end the pass
            return SendResult(t, False, f"{type(exc).__name__}: {exc}")
    if ok:
        return SendResult(t, True)
    return SendResult(t, False, lines[-1] if lines else "the service did not acknowledge the message")


class _ThreadLines(logging.Handler):
    """What apprise logs from one thread (a pass sends from several threads at once)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


@contextlib.contextmanager
def _captured() -> Iterator[list[str]]:
    logger = logging.getLogger("apprise")
    handler = _ThreadLines()
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def send_test(urls: list[str], domain: str, timeout: float) -> list[SendResult]:
    """A test message to each URL (step 6's setup), so the user sees it arrive before relying on it."""
    title = f"mta-sts-wizard: test notification for {domain}"
    body = (
        f"This is a test from mta-sts-wizard's monitoring setup for {domain}.\n"
        "When a monitoring pass finds a new problem, or a problem is fixed, a message like this one "
        "arrives here, once."
    )
    return [send(target(u), title, body, "info", timeout) for u in urls]
