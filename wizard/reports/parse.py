"""Parse one TLSRPT aggregate report from bytes: tolerant of known sender quirks, strict otherwise.

Tolerated (SPEC.md §7 notes): `mx-host` as a string, an array, null or absent; absent
`failure-details`; date-times without an offset (read as UTC); `additional-information` or
`additional-info-uri`; policy strings without a space after `:`; unknown result types.
Everything else with the wrong type is rejected with a one-line reason naming the field.

One validator: msgspec decodes the bytes straight into the RFC 8460 shape below, checking every
type, count bound and text length as it goes; a refusal's error path becomes the reason
("policies[0].summary.total-failure-session-count must be a whole number, got a string").
What msgspec cannot say is checked after it: texts that must not be empty, date-times, and
address fields that must hold an address (one that does not is dropped, with a note).

Hostile input is bounded before msgspec sees it: gzip is stream-decompressed to at most
MAX_REPORT_BYTES, the text must be UTF-8, and a cheap scan rejects deep nesting and documents
with absurd numbers of values. `parse_report` raises only `ReportRejected`.
"""

from __future__ import annotations

import io
import os
import re
import zlib
from itertools import accumulate
from typing import Annotated, BinaryIO

import msgspec

from wizard.reports.fields import MAX_FIELD_CHARS, hostname_or_none, ip_text, parse_datetime
from wizard.reports.model import FailureDetail, PolicyResult, Report, ReportRejected

#: Largest report accepted, after decompression. Receivers commonly cap reports at 10 MB.
MAX_REPORT_BYTES = 20 * 1024 * 1024
#: A report nests 5 levels deep; anything past this is not a report.
MAX_DEPTH = 32
#: Objects plus arrays in one report; each failure-details entry is one.
MAX_CONTAINERS = 50_000
#: Commas (values are comma-separated, so this bounds the values a decoder builds).
MAX_VALUES = 200_000
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
_COUNT_LIMIT = 2**62

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def read_bounded(stream: BinaryIO, limit: int = MAX_REPORT_BYTES, what: str = "report") -> bytes:
    """Read at most `limit` bytes; more than that is a rejection, never a big allocation."""
    try:
        size = os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        size = limit
    # read(n) allocates n bytes up front: ask for what the file holds, not the cap, when smaller
    data = stream.read(min(size, limit) + 1)
    if len(data) > min(size, limit):
        data += stream.read(limit + 1 - len(data))
    if len(data) > limit:
        raise ReportRejected(f"{what} is larger than {limit // (1024 * 1024)} MB; not imported")
    return data


def gunzip_bounded(data: bytes, limit: int = MAX_REPORT_BYTES) -> bytes:
    """Decompress gzip (multi-member too), never producing more than `limit` bytes of output.

    zlib's `max_length` stops inflating at the cap, so a gzip bomb (a few KB expanding to GB)
    costs at most `limit` bytes of memory; then the report is rejected.
    """
    out: list[bytes] = []
    total = 0
    rest = data
    try:
        while True:
            inflater = zlib.decompressobj(31)
            chunk = inflater.decompress(rest, limit + 1 - total)
            while True:
                total += len(chunk)
                out.append(chunk)
                if total > limit:
                    raise ReportRejected(f"decompresses to more than {_mb(limit)} (a gzip bomb or not a report)")
                if not inflater.unconsumed_tail:
                    break
                chunk = inflater.decompress(inflater.unconsumed_tail, limit + 1 - total)
            if not inflater.eof:
                raise ReportRejected("damaged gzip data (truncated)")
            rest = inflater.unused_data
            if not rest.strip(b"\0"):
                break  # done; zero padding after the last member is allowed, as gzip(1) does
            if rest[:2] != GZIP_MAGIC:
                raise ReportRejected("damaged gzip data (garbage after the compressed report)")
    except zlib.error as exc:
        raise ReportRejected(f"damaged gzip data ({exc_text(exc)})") from None
    return b"".join(out)


def _mb(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def exc_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def check_structure(data: bytes) -> None:
    """Reject oversized documents, deep nesting and enormous value counts before decoding.

    Counts are taken on the raw bytes first (C speed, no allocation): JSON values are separated
    by commas and every container opens with a bracket. Only a report with more openers than
    MAX_DEPTH needs the string-aware depth scan.
    """
    if len(data) > MAX_REPORT_BYTES:
        raise ReportRejected(f"report is larger than {_mb(MAX_REPORT_BYTES)}; not imported")
    if len(data) > MAX_VALUES and data.count(b",") > MAX_VALUES:  # a shorter text cannot hold that many
        raise ReportRejected(f"holds more than {MAX_VALUES:,} values; far too large for a TLS report")
    opens = data.count(b"{") + data.count(b"[")
    if opens > MAX_CONTAINERS:
        raise ReportRejected(f"holds more than {MAX_CONTAINERS:,} objects and arrays; far too large for a TLS report")
    if opens <= MAX_DEPTH:
        return  # cannot nest deeper than the number of openers: the common, fast case
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    if len(brackets) > MAX_DEPTH:
        depth = max(accumulate(1 if c in b"[{" else -1 for c in brackets))
        if depth > MAX_DEPTH:
            raise ReportRejected(f"nests {depth} levels deep (a report nests 5); not a TLS report")


# --- the RFC 8460 §4 shape, as msgspec checks it ----------------------------------------------

_Text = Annotated[str, msgspec.Meta(max_length=MAX_FIELD_CHARS)]
_Count = Annotated[int, msgspec.Meta(ge=0, lt=_COUNT_LIMIT)]


class _Detail(msgspec.Struct, frozen=True):
    result_type: _Text = msgspec.field(name="result-type")
    failed_session_count: _Count = msgspec.field(name="failed-session-count")
    sending_mta_ip: _Text | None = msgspec.field(name="sending-mta-ip", default=None)
    receiving_mx_hostname: _Text | None = msgspec.field(name="receiving-mx-hostname", default=None)
    receiving_mx_helo: _Text | None = msgspec.field(name="receiving-mx-helo", default=None)
    receiving_ip: _Text | None = msgspec.field(name="receiving-ip", default=None)
    failure_reason_code: _Text | None = msgspec.field(name="failure-reason-code", default=None)
    additional_information: _Text | None = msgspec.field(name="additional-information", default=None)
    additional_info_uri: _Text | None = msgspec.field(name="additional-info-uri", default=None)


class _Policy(msgspec.Struct, frozen=True):
    policy_type: _Text = msgspec.field(name="policy-type")
    policy_domain: _Text = msgspec.field(name="policy-domain")
    policy_string: list[_Text] | None = msgspec.field(name="policy-string", default=None)
    mx_host: _Text | list[_Text] | None = msgspec.field(name="mx-host", default=None)  # a string: EID 6241


class _Summary(msgspec.Struct, frozen=True):
    successful: _Count = msgspec.field(name="total-successful-session-count")
    failed: _Count = msgspec.field(name="total-failure-session-count")


class _PolicyResult(msgspec.Struct, frozen=True):
    policy: _Policy
    summary: _Summary
    failure_details: list[_Detail] | None = msgspec.field(name="failure-details", default=None)


class _DateRange(msgspec.Struct, frozen=True):
    start: _Text = msgspec.field(name="start-datetime")
    end: _Text = msgspec.field(name="end-datetime")


class _Report(msgspec.Struct, frozen=True):
    organisation: _Text = msgspec.field(name="organization-name")
    report_id: _Text = msgspec.field(name="report-id")
    date_range: _DateRange = msgspec.field(name="date-range")
    policies: list[_PolicyResult]
    contact_info: _Text | None = msgspec.field(name="contact-info", default=None)


_decode = msgspec.json.Decoder(_Report).decode

# --- msgspec's refusal as a reason --------------------------------------------------------------

_AT = re.compile(r"(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_TYPE = re.compile(r"Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`")
_GOT = {"str": "a string", "int": "a number", "float": "a number", "bool": "true/false", "null": "null"}
_GOT |= {"array": "an array", "object": "an object"}
_EXPECTED = {"str": "a string", "int": "a whole number", "object": "an object", "array": "an array"}
_EXPECTED |= {"str | null": "a string", "array | null": "an array", "str | array | null": "an array of strings"}
#: Fields whose expected shape is worded more precisely than their msgspec type.
_EXPECTED_BY_FIELD = {
    "policies": "an array (RFC 8460 §4.4, even for one policy)",
    "policy-string": "an array of strings",
    "mx-host": "an array of strings",
}
_RANGE = "; a session count is between 0 and 2^62"


def _reason(exc: msgspec.ValidationError) -> str:
    """The one-line reason for msgspec's refusal, naming the field by its path in the report."""
    m = _AT.fullmatch(str(exc))
    what, path = (m.group("what"), (m.group("path") or "").lstrip(".")) if m else (str(exc), "")
    field = path.rsplit(".", 1)[-1]
    if missing := _MISSING.fullmatch(what):
        return f"{path + '.' if path else ''}{missing.group('field')} is missing"
    if typed := _TYPE.fullmatch(what):
        got = typed.group("got")
        if got == "null" and not path.endswith("]"):
            return f"{path} is missing"  # a null member is as good as absent
        expected = _EXPECTED_BY_FIELD.get(field) or _EXPECTED.get(typed.group("expected"), typed.group("expected"))
        return f"{path or 'the report'} must be {expected}, got {_GOT.get(got, got)}"
    if what.startswith("Expected `str` of length <="):
        return f"{path} is longer than {MAX_FIELD_CHARS} characters"
    if what.startswith("Expected `int` >="):
        return f"{path} is negative{_RANGE}"
    if what.startswith(("Expected `int` <", "Integer value out of range")):
        return f"{path} is too large{_RANGE}"
    return f"{path or 'the report'}: {what[:1].lower()}{what[1:]}"


# --- the decoded shape to a Report ----------------------------------------------------------


def _required(value: str, path: str) -> str:
    value = value.strip()
    if not value:
        raise ReportRejected(f"{path} is empty")
    return value


def _optional(value: str | None) -> str | None:
    return None if value is None else value.strip()


def _strings(values: list[str] | None) -> tuple[str, ...]:
    return tuple(s for s in (v.strip() for v in values or ()) if s)


def _address(value: str | None, path: str, notes: list[str]) -> str | None:
    """The normal form of an address field; a value that is no address is dropped with a note."""
    value = _optional(value)
    if not value:
        return None
    normal = ip_text(value)
    if normal is None:
        notes.append(f"{path} {value[:60]!r} is not an IP address; stored without it")
    return normal


def _detail(d: _Detail, path: str, notes: list[str]) -> FailureDetail:
    info = _optional(d.additional_information)
    if info is None:
        info = _optional(d.additional_info_uri)
    return FailureDetail(
        result_type=_required(d.result_type, path + ".result-type").lower(),
        failed_session_count=d.failed_session_count,
        sending_mta_ip=_address(d.sending_mta_ip, path + ".sending-mta-ip", notes),
        receiving_mx_hostname=hostname_or_none(_optional(d.receiving_mx_hostname)),
        receiving_mx_helo=_optional(d.receiving_mx_helo) or None,
        receiving_ip=_address(d.receiving_ip, path + ".receiving-ip", notes),
        failure_reason_code=_optional(d.failure_reason_code) or None,
        additional_information=info or None,
    )


def _policy_result(result: _PolicyResult, path: str, notes: list[str]) -> PolicyResult:
    policy = result.policy
    domain = hostname_or_none(policy.policy_domain.strip())
    if not domain:
        raise ReportRejected(f"{path}.policy.policy-domain is empty")
    mx = [policy.mx_host] if isinstance(policy.mx_host, str) else policy.mx_host
    return PolicyResult(
        policy_type=_required(policy.policy_type, path + ".policy.policy-type").lower(),
        policy_domain=domain,
        policy_string=_strings(policy.policy_string),
        mx_host=tuple(h.rstrip(".").lower() for h in _strings(mx)),
        successful_sessions=result.summary.successful,
        failed_sessions=result.summary.failed,
        failure_details=tuple(
            _detail(d, f"{path}.failure-details[{i}]", notes) for i, d in enumerate(result.failure_details or ())
        ),
    )


def _build(doc: _Report) -> Report:
    organisation = _required(doc.organisation, "organization-name")
    report_id = _required(doc.report_id, "report-id")
    start = parse_datetime(doc.date_range.start, "date-range.start-datetime")
    end = parse_datetime(doc.date_range.end, "date-range.end-datetime")
    if end < start:
        raise ReportRejected("date-range.end-datetime is before start-datetime")
    notes: list[str] = []
    policies = tuple(_policy_result(p, f"policies[{i}]", notes) for i, p in enumerate(doc.policies))
    contact = _optional(doc.contact_info) or ""
    return Report(organisation, report_id, contact, start, end, policies, tuple(notes))


def decode_report(data: bytes) -> Report:
    """Uncompressed report bytes (UTF-8 JSON, an optional BOM allowed) to a Report."""
    check_structure(data)
    if data[:3] == UTF8_BOM:
        data = data[3:]
    if not data.isascii():
        try:  # msgspec does not check the UTF-8 of the fields it skips
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReportRejected(
                f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); reports are UTF-8 JSON"
            ) from None
    if data.lstrip(b" \t\r\n")[:1] != b"{":
        raise ReportRejected("is not a JSON object; a TLS report starts with '{'")
    try:
        doc = _decode(data)
    except msgspec.ValidationError as exc:
        raise ReportRejected(_reason(exc)) from None
    except msgspec.DecodeError as exc:
        text = exc_text(exc).removeprefix("JSON is malformed: ")
        raise ReportRejected(f"is not valid JSON ({text[:1].lower()}{text[1:]})") from None
    return _build(doc)


def parse_report(data: bytes, *, limit: int = MAX_REPORT_BYTES) -> Report:
    """Bytes of a `.json` or `.json.gz` report (gzip is recognised by its magic) to a Report.

    `limit` caps the decompressed size below MAX_REPORT_BYTES (an email's remaining budget).
    Raises ReportRejected with a one-line reason; nothing else escapes.
    """
    try:
        if data[:2] == GZIP_MAGIC:
            data = gunzip_bounded(data, min(limit, MAX_REPORT_BYTES))
        return decode_report(data)
    except ReportRejected:
        raise
    except Exception as exc:  # last guard: a reason, never a traceback
        raise ReportRejected(f"could not be read ({type(exc).__name__}: {exc_text(exc)})") from None


def mx_patterns(policy: PolicyResult) -> tuple[str, ...]:
    """The mx patterns of an applied STS policy: `mx-host`, else the `mx:` lines of `policy-string`.

    Policy strings may lack the space after the colon ("mx:mail.example.com", SocketLabs).
    """
    if policy.mx_host:
        return policy.mx_host
    out = []
    for line in policy.policy_string:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "mx" and value.strip():
            out.append(value.strip().rstrip(".").lower())
    return tuple(out)
