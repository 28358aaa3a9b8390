"""The report attachments of one email (RFC 8460 §5.3), read once each, within bounds.

Only an email with the report headers and a valid DKIM signature from the reporting domain
counts (wizard.reports.dkim, SPEC.md §8); any other is listed with the reason. Hostile emails
are bounded before they cost memory or time: at most MAX_MIME_PARTS parts are looked at and
MAX_REPORT_PARTS report attachments accepted, and the attachments of one email decompress to
at most MAX_INFLATED_PER_EMAIL bytes together, each one inflated once.
"""

from __future__ import annotations

import binascii
import email.message
import re
from collections.abc import Iterator
from email.parser import BytesHeaderParser

from wizard.reports.dkim import Verdict, check_email, contact_problem, current_key_lookup
from wizard.reports.fields import filename_domain
from wizard.reports.model import Candidate, ReportRejected
from wizard.reports.parse import GZIP_MAGIC, MAX_REPORT_BYTES, decode_report, exc_text, gunzip_bounded

#: Largest email accepted: a 20 MB report base64-encoded plus headers and a text part.
MAX_MESSAGE_BYTES = 28 * 1024 * 1024
#: MIME parts looked at in one email (a report email has two or three).
MAX_MIME_PARTS = 1000
#: Report attachments taken from one email (senders attach one).
MAX_REPORT_PARTS = 100
#: Bytes the gzip attachments of one email may decompress to, together.
MAX_INFLATED_PER_EMAIL = 2 * MAX_REPORT_BYTES

REPORT_TYPES = ("application/tlsrpt+gzip", "application/tlsrpt+json")
#: Generic types some senders use; accepted only with a .json/.json.gz/.gz filename.
_GENERIC_TYPES = ("application/gzip", "application/x-gzip", "application/json", "application/octet-stream")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MAX_MIME_DEPTH = 8


class _Part:
    """One leaf MIME part: its headers, a view of its still-encoded body, and the message it is in
    (the email itself, or a report email forwarded inside it: whose DKIM signature vouches for it)."""

    __slots__ = ("body", "headers", "message")

    def __init__(self, headers: email.message.Message, body: memoryview, message: memoryview) -> None:
        self.headers = headers
        self.body = body
        self.message = message


def _split_headers(data: memoryview) -> tuple[email.message.Message, memoryview]:
    """Headers parsed by the email package (small), body kept as a view (no copy of a big attachment)."""
    m = _HEADER_END.search(data)
    if data[:1] in (b"\n", b"\r") and not (m and m.start() == 0):
        head_end = body_start = 0
    elif m:
        head_end, body_start = m.start(), m.end()
    else:
        head_end = body_start = len(data)
    headers = BytesHeaderParser().parsebytes(bytes(data[:head_end]))
    return headers, data[body_start:]


def _mime_leaves(data: memoryview, depth: int = 0, message: memoryview | None = None) -> Iterator[_Part]:
    """Walk a MIME entity without building the whole tree in memory.

    The stdlib parser keeps every line of a message as its own object (about ten times the
    message size); splitting on the boundary with a regex over a memoryview keeps one copy.
    """
    message = data if message is None else message
    headers, body = _split_headers(data)
    ctype = headers.get_content_type()
    if depth < _MAX_MIME_DEPTH and ctype == "message/rfc822":
        yield from _mime_leaves(body, depth + 1, body)  # a forwarded report
        return
    boundary = headers.get_param("boundary") if ctype.startswith("multipart/") else None
    if not boundary or depth >= _MAX_MIME_DEPTH:
        yield _Part(headers, body, message)
        return
    delimiter = re.compile(
        rb"(?:\r?\n|\A)--" + re.escape(str(boundary).encode("ascii", "replace")) + rb"(--)?[ \t]*(?:\r?\n|\Z)"
    )
    previous: int | None = None
    for m in delimiter.finditer(body):
        if previous is not None:
            yield from _mime_leaves(body[previous : m.start()], depth + 1, message)
        if m.group(1):
            return
        previous = m.end()
    if previous is not None:  # no closing delimiter: take the rest, as mail clients do
        yield from _mime_leaves(body[previous:], depth + 1, message)


def _is_report_part(part: _Part) -> bool:
    ctype = part.headers.get_content_type()
    if ctype in REPORT_TYPES:
        return True
    if ctype in _GENERIC_TYPES:
        name = (part.headers.get_filename() or "").lower()
        return name.endswith((".json", ".json.gz", ".gz"))
    return False


def _report_parts(view: memoryview) -> list[_Part] | str:
    """The report attachments of an email, or why it is refused (too many parts to be a report email)."""
    parts = []
    for seen, part in enumerate(_mime_leaves(view), 1):
        if seen > MAX_MIME_PARTS:
            return f"email has more than {MAX_MIME_PARTS} MIME parts; not a report email"
        if _is_report_part(part):
            parts.append(part)
            if len(parts) > MAX_REPORT_PARTS:
                return f"email has more than {MAX_REPORT_PARTS} report attachments; not a report email"
    if not parts:
        return "email has no TLS report attached (no application/tlsrpt+gzip or +json part)"
    return parts


def _decode_body(part: _Part) -> bytes:
    cte = str(part.headers.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte == "base64":
        try:
            return binascii.a2b_base64(part.body)
        except binascii.Error as exc:
            raise ReportRejected(f"the report attachment has broken base64 ({exc_text(exc)})") from None
    if cte == "quoted-printable":
        return binascii.a2b_qp(part.body)
    return bytes(part.body)


def _verdicts(data: bytes, view: memoryview, top: email.message.Message, parts: list[_Part]) -> dict[int, Verdict]:
    """One DKIM check per email: this one, or a report email forwarded inside it."""
    verdicts: dict[int, Verdict] = {}
    lookup = current_key_lookup()
    for part in parts:
        if id(part.message) not in verdicts:
            if part.message is view:
                verdicts[id(view)] = check_email(data, top, lookup)
            else:
                inner = _split_headers(part.message)[0]
                verdicts[id(part.message)] = check_email(bytes(part.message), inner, lookup)
    return verdicts


def message_candidates(data: bytes, source: str) -> Iterator[Candidate]:
    """The reports attached to one email (multipart/report, tlsrpt+gzip or +json), each parsed
    once, or the reason each gave none."""
    try:
        view = memoryview(data)
        top, _ = _split_headers(view)
        hint = top.get("TLS-Report-Domain")
        hint = str(hint).strip().rstrip(".").lower() if hint else None
        parts = _report_parts(view)
        if isinstance(parts, str):
            yield Candidate(source, reason=parts)
            return
        verdicts = _verdicts(data, view, top, parts)
        if len(verdicts) == 1 and (only := next(iter(verdicts.values()))).reason:
            yield Candidate(source, reason=only.reason)
            return
        budget = MAX_INFLATED_PER_EMAIL
        for i, part in enumerate(parts, 1):
            label = source if len(parts) == 1 else f"{source} (attachment {i})"
            verdict = verdicts[id(part.message)]
            if verdict.reason:
                yield Candidate(label, reason=verdict.reason)
                continue
            try:
                payload = _decode_body(part)
                if not payload.strip():
                    raise ReportRejected("the report attachment is empty")
                if payload[:2] == GZIP_MAGIC:
                    if budget <= 0:
                        raise ReportRejected(
                            f"the email's attachments decompress to more than {MAX_INFLATED_PER_EMAIL // 1048576} MB"
                            " together; this one was not read"
                        )
                    limit = min(MAX_REPORT_BYTES, budget)
                    budget -= limit  # spent whatever happens: a bomb costs its limit, once
                    payload = gunzip_bounded(payload, limit)
                    budget += limit - len(payload)
                report = decode_report(payload)
            except ReportRejected as exc:
                yield Candidate(label, reason=str(exc))
                continue
            problem = contact_problem(report.contact_info, verdict.submitter)
            if problem:
                yield Candidate(label, reason=problem)
                continue
            name = part.headers.get_filename() or ""
            yield Candidate(label, report=report, domain_hint=hint or filename_domain(name))
    except Exception as exc:  # header parsing is lenient, but a reason beats a traceback
        yield Candidate(source, reason=f"email cannot be parsed ({type(exc).__name__}: {exc_text(exc)})")
