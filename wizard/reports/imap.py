"""Read TLSRPT report emails straight from an IMAP mailbox (stdlib imaplib, TLS only).

Many domain owners point their rua= address at an ordinary mailbox; this reads it in place
instead of asking them to export an mbox. The folder is opened read-only (EXAMINE) and bodies
are fetched with BODY.PEEK[], so no message is marked \\Seen. Each message's size is asked for
first (RFC822.SIZE) and an oversized one is listed with a reason, never downloaded. Bodies come
in bounded batches (count and bytes), and each email goes through the same email reader as
`reports import` (wizard.reports.inputs.message_candidates).

The password is taken from MTA_STS_WIZARD_IMAP_PASSWORD or a prompt, handed to the server
once and then dropped: it is never stored, logged, or put in an error message (server replies
are scrubbed of it, just in case a server echoes it back).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import imaplib
import os
import re
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from wizard.reports.emails import MAX_MESSAGE_BYTES, message_candidates
from wizard.reports.model import Candidate

PASSWORD_ENV = "MTA_STS_WIZARD_IMAP_PASSWORD"
#: Largest message fetched; the report-size cap of the file importer plus base64 and headers.
MAX_FETCH_BYTES = min(25 * 1024 * 1024, MAX_MESSAGE_BYTES)
#: Messages whose sizes are asked in one FETCH (the reply is one short line each).
SIZE_BATCH = 500
#: Bodies fetched in one FETCH: at most this many messages and this many bytes together.
BODY_BATCH = 50
BODY_BATCH_BYTES = 32 * 1024 * 1024

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Report emails carry TLS-Report-Domain (RFC 8460 §5.3) and Content-Type multipart/report;
#: report-type=tlsrpt. Either one selects the message; the server does the filtering.
_REPORT_FILTER = 'OR HEADER TLS-Report-Domain "" HEADER Content-Type "tlsrpt"'
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class ImapError(Exception):
    """The mailbox cannot be read (connect, TLS, login, folder, connection lost): one line, exit 3."""


class PasswordMissing(Exception):
    """No password in the environment and no terminal to ask on."""


@dataclass(frozen=True)
class ImapSettings:
    """Where the mailbox is and how to read it; deliberately holds no password."""

    host: str
    user: str
    port: int = 993
    folder: str = "INBOX"
    since_days: int | None = None
    ca_bundle: str | None = None
    timeout: float = 30.0
    reports_only: bool = True
    deadline: float = 600.0
    """The most one whole session may take, connect to logout (--deadline)."""

    def label(self) -> str:
        return f"imap://{self.user}@{self.host}:{self.port}/{self.folder}"


def read_password(
    environ: dict[str, str] | os._Environ[str] = os.environ,
    is_tty: Callable[[], bool] = lambda: sys.stdin.isatty(),
    prompt: Callable[[str], str] = getpass.getpass,
    user: str = "",
    host: str = "",
) -> str:
    """The password from MTA_STS_WIZARD_IMAP_PASSWORD, else a no-echo prompt on a terminal."""
    value = environ.get(PASSWORD_ENV)
    if value:
        return value
    if not is_tty():
        raise PasswordMissing(f"no IMAP password: set {PASSWORD_ENV}, or run in a terminal to be asked for it")
    value = prompt(f"IMAP password for {user}@{host}: ")
    if not value:
        raise PasswordMissing(f"no IMAP password given; type it at the prompt or set {PASSWORD_ENV}")
    return value


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Certificate and host name checked against `ca_bundle` (--ca-bundle / SSL_CERT_FILE) or the system roots."""
    ctx = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def imap_date(day: dt.date) -> str:
    """RFC 3501 date (1-Mar-2025); month names are fixed English, whatever the locale."""
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


def quote_mailbox(name: str) -> str:
    """A folder name as an IMAP quoted string (imaplib sends arguments as given)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _secret_forms(secret: str) -> list[str]:
    """The password as it may come back in a server's echo of our command: as typed, and as
    imaplib quotes it for LOGIN (`\\` and `"` escaped); the longest first, so none is left half-hidden."""
    quoted = secret.replace("\\", "\\\\").replace('"', '\\"')
    return sorted({secret, quoted}, key=len, reverse=True)


def _scrub(text: str, secret: str | None) -> str:
    if secret:
        for form in _secret_forms(secret):
            text = text.replace(form, "***")
    return " ".join(text.split())[:300]


def _reply_text(exc: BaseException) -> str:
    """imaplib puts the server's reply in its exception as bytes or str; one readable line."""
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        arg = arg.decode("utf-8", "replace")
    return str(arg) or type(exc).__name__


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message}); pass --ca-bundle FILE if the server uses a private CA"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer within the timeout (--timeout)"
    if isinstance(exc, socket.gaierror):
        return f"host name does not resolve ({exc.strerror or exc})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed ({exc.reason or exc}); the port must speak IMAP over TLS (993)"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, imaplib.IMAP4.abort):  # imaplib's "the connection broke" (EOF, BYE, garbled reply)
        return f"the connection to the server was lost ({_reply_text(exc)})"
    return _reply_text(exc)


def _read_failure(exc: BaseException) -> str:
    """Why reading stopped: a cut connection shows up as imaplib's abort, EOF, a reset or a TLS EOF alike."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer within the timeout (--timeout)"
    if isinstance(exc, OSError):
        return f"the connection to the server was lost ({exc.strerror or exc or type(exc).__name__})"
    return _network_reason(exc)


#: Literal bytes one reply may carry in all: a batch of bodies, and room for what frames them.
MAX_REPLY_BYTES = BODY_BATCH_BYTES + 1024 * 1024


class _SessionDeadline:
    """Ends a whole session after `seconds`: a server that drips its greeting or its replies a byte
    at a time never trips the per-operation --timeout, so a timer shuts the socket down instead
    (the blocked read then returns, and imaplib reports a lost connection, which we name)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._timer: threading.Timer | None = None

    def watch(self, sock: socket.socket) -> None:
        self._timer = threading.Timer(self.seconds, self._expire, args=(sock,))
        self._timer.daemon = True
        self._timer.start()

    def _expire(self, sock: socket.socket) -> None:
        self.expired = True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def reason(self) -> str:
        return f"the session went past its {self.seconds:g} s deadline (--deadline); the server is too slow"


class _BoundedIMAP4_SSL(imaplib.IMAP4_SSL):
    """imaplib reads a literal of whatever size the server announces, and any number of them in one
    reply; refuse one past the message cap, and more than MAX_REPLY_BYTES of them per command. The
    whole session ends at its deadline."""

    _reply_bytes = 0
    #: Why a reply was refused by the caps (imaplib re-raises our abort as its own, so it is kept here).
    refused: str | None = None

    def __init__(self, host: str, port: int, *, deadline: _SessionDeadline, **kwargs: Any) -> None:
        self._session_deadline = deadline
        super().__init__(host, port, **kwargs)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = super()._create_socket(timeout)  # type: ignore[misc]
        self._session_deadline.watch(sock)  # from the connection on: the greeting counts too
        return sock  # type: ignore[no-any-return]

    def _command(self, name: str, *args: object) -> str:
        self._reply_bytes = 0  # each command's reply gets its own budget
        return super()._command(name, *args)  # type: ignore[misc,no-any-return]

    def read(self, size: int) -> bytes:
        if size > MAX_FETCH_BYTES + 64 * 1024:
            self.refused = f"the server sent a {size}-byte block, over the {MAX_FETCH_BYTES} byte cap"
            raise imaplib.IMAP4.abort(self.refused)
        self._reply_bytes += size
        if self._reply_bytes > MAX_REPLY_BYTES:
            self.refused = f"the server sent more than {MAX_REPLY_BYTES // 1048576} MB of blocks in one reply"
            raise imaplib.IMAP4.abort(self.refused)
        return super().read(size)


class ImapSession:
    """One logged-in, read-only view of a folder. Use as a context manager; `candidates()` reads it.

    A failure while reading does not raise out of `candidates()`: what was read so far still gets
    imported, and `error` says why the rest was not.
    """

    def __init__(self, settings: ImapSettings, password: str) -> None:
        self.settings = settings
        self.error: str | None = None
        self._imap: imaplib.IMAP4_SSL | None = None
        self._deadline = _SessionDeadline(settings.deadline)
        where = f"{settings.host}:{settings.port}"
        try:
            self._imap = _BoundedIMAP4_SSL(
                settings.host,
                settings.port,
                deadline=self._deadline,
                ssl_context=ssl_context(settings.ca_bundle),
                timeout=settings.timeout,
            )
        except (OSError, imaplib.IMAP4.error) as exc:
            self._deadline.cancel()
            reason = self._deadline.reason() if self._deadline.expired else _network_reason(exc)
            raise ImapError(f"cannot connect to {where}: {_scrub(reason, password)}") from None
        try:
            self._login(settings.user, password)
        except imaplib.IMAP4.error as exc:
            self.close()
            if self._deadline.expired:
                raise ImapError(f"connection to {where} lost during login: {self._deadline.reason()}") from None
            raise ImapError(
                f"login as {settings.user} on {where} refused: {_scrub(_reply_text(exc), password)}"
            ) from None
        except OSError as exc:
            self.close()
            reason = _scrub(self._deadline.reason() if self._deadline.expired else _network_reason(exc), password)
            raise ImapError(f"connection to {where} lost during login: {reason}") from None
        try:
            typ, data = self._imap.select(quote_mailbox(settings.folder), readonly=True)
        except (OSError, imaplib.IMAP4.error) as exc:
            self.close()
            reason = _scrub(_network_reason(exc), password)
            raise ImapError(f"cannot open folder {settings.folder!r}: {reason}") from None
        if typ != "OK":
            self.close()
            reply = _reply_text(Exception(data[0] if data else typ))
            raise ImapError(f"cannot open folder {settings.folder!r} on {where}: {_scrub(reply, password)}")

    def _login(self, user: str, password: str) -> None:
        assert self._imap is not None
        if user.isascii() and password.isascii():
            self._imap.login(user, password)
            return
        # imaplib's LOGIN encodes as ASCII (a UnicodeEncodeError would carry the password);
        # AUTHENTICATE PLAIN sends UTF-8 inside base64 instead.
        token = b"\0" + user.encode() + b"\0" + password.encode()
        self._imap.authenticate("PLAIN", lambda _challenge: token)

    def __enter__(self) -> ImapSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._deadline.cancel()
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            if imap.state == "SELECTED":
                imap.close()
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            with contextlib.suppress(OSError):
                imap.shutdown()

    def search_criteria(self, today: dt.date | None = None) -> list[str]:
        criteria = []
        if self.settings.since_days is not None:
            today = today or dt.datetime.now(dt.UTC).date()
            criteria.append(f"SINCE {imap_date(today - dt.timedelta(days=self.settings.since_days - 1))}")
        if self.settings.reports_only:
            criteria.append(_REPORT_FILTER)
        return criteria or ["ALL"]

    def uids(self) -> list[int]:
        """The UIDs of the messages to read, oldest first."""
        assert self._imap is not None
        typ, data = self._imap.uid("SEARCH", *self.search_criteria())
        if typ != "OK":
            raise imaplib.IMAP4.error(data[0] if data else b"SEARCH failed")
        uids: set[int] = set()
        for chunk in data:
            # RFC 3501 §7.2.5: SEARCH answers numbers separated by spaces, never a literal
            if chunk is None:
                continue
            if not isinstance(chunk, bytes) or not all(x.isdigit() and len(x) <= 10 for x in chunk.split()):
                raise imaplib.IMAP4.error("the server's SEARCH reply is not a list of message numbers")
            uids.update(int(x) for x in chunk.split())
        return sorted(uids)

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """RFC822.SIZE of each UID, asked for in batches."""
        assert self._imap is not None
        out: dict[int, int] = {}
        for i in range(0, len(uids), SIZE_BATCH):
            batch = uids[i : i + SIZE_BATCH]
            typ, data = self._imap.uid("FETCH", ",".join(map(str, batch)), "(RFC822.SIZE)")
            if typ != "OK":
                raise imaplib.IMAP4.error(data[0] if data else b"FETCH failed")
            for line in data:
                line = line[0] if isinstance(line, tuple) else line
                if not isinstance(line, bytes):
                    continue
                uid, size = _UID.search(line), _SIZE.search(line)
                if uid and size:
                    out[int(uid.group(1))] = int(size.group(1))
        return out

    def bodies(self, uids: list[int]) -> dict[int, bytes]:
        """The full text of each UID, without setting \\Seen (BODY.PEEK[])."""
        assert self._imap is not None
        typ, data = self._imap.uid("FETCH", ",".join(map(str, uids)), "(BODY.PEEK[])")
        if typ != "OK":
            raise imaplib.IMAP4.error(data[0] if data else b"FETCH failed")
        out: dict[int, bytes] = {}
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                uid = _UID.search(item[0])
                if uid is None:  # some servers put UID after the literal, in the closing line
                    continue
                out[int(uid.group(1))] = item[1]
        if len(out) < len(uids):  # match literals to UIDs by order when UID came after the body
            literals = [item for item in data if isinstance(item, tuple) and len(item) == 2]
            tails = [item for item in data if isinstance(item, bytes) and _UID.search(item)]
            for (_head, body), tail in zip(literals, tails, strict=False):
                m = _UID.search(tail)
                if m:
                    out.setdefault(int(m.group(1)), body)
        return out

    def candidates(self) -> Iterator[Candidate]:
        """Every report in the folder as import candidates; each message read is one or more candidates."""
        label = self.settings.label()
        try:
            uids = self.uids()
            sizes = self.sizes(uids)
            batch: list[int] = []
            batch_bytes = 0
            for uid in uids:
                size = sizes.get(uid)
                source = f"{label} (UID {uid})"
                if size is None:
                    yield Candidate(source, reason="the server gave no size for this message (deleted meanwhile?)")
                    continue
                if size > MAX_FETCH_BYTES:
                    if batch:  # keep the output in UID order; oversized messages are rare
                        yield from self._batch_candidates(batch, label)
                        batch, batch_bytes = [], 0
                    yield Candidate(
                        source,
                        reason=f"message is {size / 1048576:.1f} MB, larger than the"
                        f" {MAX_FETCH_BYTES // 1048576} MB cap; not downloaded",
                    )
                    continue
                if batch and (len(batch) >= BODY_BATCH or batch_bytes + size > BODY_BATCH_BYTES):
                    yield from self._batch_candidates(batch, label)
                    batch, batch_bytes = [], 0
                batch.append(uid)
                batch_bytes += size
            if batch:
                yield from self._batch_candidates(batch, label)
        except (OSError, imaplib.IMAP4.error) as exc:
            refused = getattr(self._imap, "refused", None)
            if self._deadline.expired:
                refused = self._deadline.reason()
            self.error = f"reading {label} stopped: {refused or _read_failure(exc)}"

    def _batch_candidates(self, batch: list[int], label: str) -> Iterator[Candidate]:
        bodies = self.bodies(batch)
        for uid in batch:
            source = f"{label} (UID {uid})"
            data = bodies.get(uid)
            if data is None:
                yield Candidate(source, reason="the server returned no body for this message (deleted meanwhile?)")
            elif len(data) > MAX_FETCH_BYTES:
                yield Candidate(source, reason=f"message is larger than the {MAX_FETCH_BYTES // 1048576} MB cap")
            else:
                yield from message_candidates(data, source)


__all__ = [
    "PASSWORD_ENV",
    "ImapError",
    "ImapSession",
    "ImapSettings",
    "PasswordMissing",
    "imap_date",
    "quote_mailbox",
    "read_password",
    "ssl_context",
]
