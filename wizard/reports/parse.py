"""Parse one TLSRPT aggregate report from bytes: tolerant of known sender quirks, strict otherwise.

Tolerated (SPEC.md §7 notes): `mx-host` as a string, an array, null or absent; absent
`failure-details`; date-times without an offset (read as UTC); `additional-information` or
`additional-info-uri`; policy strings without a space after `:`; unknown result types.
Everything else with the wrong type is rejected with a one-line reason naming the field.

Hostile input is bounded before the json module sees it: gzip is stream-decompressed to at
most MAX_REPORT_BYTES, the text must be UTF-8, and a cheap scan rejects deep nesting and
documents with absurd numbers of values (which would otherwise cost hundreds of MB as Python
objects). `parse_report` raises only `ReportRejected`.
"""

from __future__ import annotations

import io
import json
import os
import re
import zlib
from itertools import accumulate
from typing import Any, BinaryIO

import orjson

from wizard.reports.fastpath import Bail, fast_report, typed_rows
from wizard.reports.fields import MAX_FIELD_CHARS, filename_domain, hostname_or_none, ip_or_none, parse_datetime
from wizard.reports.model import FailureDetail, PolicyResult, Report, ReportRejected
from wizard.reports.store import ReportRows, report_rows

#: Largest report accepted, after decompression. Receivers commonly cap reports at 10 MB.
MAX_REPORT_BYTES = 20 * 1024 * 1024
#: A report nests 5 levels deep; anything past this is not a report.
MAX_DEPTH = 32
#: Objects plus arrays in one report; each failure-details entry is one.
MAX_CONTAINERS = 50_000
#: Commas (values are comma-separated, so this bounds the objects json.loads builds).
MAX_VALUES = 200_000
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
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
                    raise ReportRejected(
                        f"decompresses to more than {limit // (1024 * 1024)} MB (a gzip bomb or not a report)"
                    )
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


def exc_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def check_structure(data: bytes) -> None:
    """Reject deep nesting and enormous value counts before json.loads allocates or recurses.

    Counts are taken on the raw bytes first (C speed, no allocation): JSON values are separated
    by commas and every container opens with a bracket, so these bound what json.loads would
    build. Only a report with more openers than MAX_DEPTH needs the string-aware depth scan.
    """
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


def decode_json(data: bytes) -> Any:
    """UTF-8 (an optional BOM allowed) to Python values with the stdlib, the structure checks first.

    This is the reference decoder: it names the byte that is not UTF-8 or the JSON error.
    """
    check_size_and_structure(data)
    return _decode_json_stdlib(data)


def check_size_and_structure(data: bytes) -> None:
    """The bounds every decoded document passes first: size, value count, container count, depth."""
    if len(data) > MAX_REPORT_BYTES:
        raise ReportRejected(f"report is larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB; not imported")
    check_structure(data)


def _decode_json_stdlib(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportRejected(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); reports are UTF-8 JSON"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.lstrip().startswith("{"):
        raise ReportRejected("is not a JSON object; a TLS report starts with '{'")
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ReportRejected("nests too deeply; not a TLS report") from None
    except ValueError as exc:
        raise ReportRejected(f"is not valid JSON ({exc_text(exc)})") from None
    if "\\u" in text and _LONE_SURROGATE.search(text):
        try:  # an escape like \ud800 alone decodes to text that cannot be stored as UTF-8
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ReportRejected("holds a lone UTF-16 surrogate escape (\\ud800-\\udfff); not Unicode text") from None
    return doc


def _fast(data: bytes) -> Report | None:
    """The common case at twice the speed: orjson decodes, the fast path validates; None if either declines.

    orjson differs from the stdlib only on what reports never hold (integers past 2^64 become
    floats, NaN and lone surrogates are refused), and the fast path declines any float where a
    count belongs, so a report it returns is exactly what the stdlib path would return.
    """
    try:
        doc = orjson.loads(data[3:] if data[:3] == UTF8_BOM else data)
    except orjson.JSONDecodeError:
        return None
    try:
        return fast_report(doc)
    except Bail:
        return None


def parse_report(data: bytes) -> Report:
    """Bytes of a `.json` or `.json.gz` report (gzip is recognised by its magic) to a Report.

    Size and structure are bounded first; then the fast path (orjson + wizard.reports.fastpath)
    takes the plainly valid report, and anything it declines goes through the stdlib decoder
    and the strict validator, which accept the same reports and name what is wrong.
    Raises ReportRejected with a one-line reason; nothing else escapes.
    """
    try:
        if data[:2] == GZIP_MAGIC:
            data = gunzip_bounded(data)
        check_size_and_structure(data)
        return _fast(data) or strict_report(_decode_json_stdlib(data))
    except ReportRejected:
        raise
    except Exception as exc:  # last guard: a reason, never a traceback
        raise ReportRejected(f"could not be read ({type(exc).__name__}: {exc_text(exc)})") from None


def _fast_rows(data: bytes, source: str, hint: str | None, hint_file: str | None) -> ReportRows | None:
    """typed_rows of the document, or None when it declines (then the strict validator decides)."""
    try:
        return typed_rows(data[3:] if data[:3] == UTF8_BOM else data, source, hint, hint_file)
    except Bail:
        return None


def parse_rows(data: bytes, source: str, hint: str | None, hint_file: str | None = None) -> ReportRows:
    """`report_rows(parse_report(data), source, hint)`, the import's way: a plainly valid report
    goes from msgspec straight to store rows (wizard.reports.fastpath.typed_rows), never becoming
    a Report; anything else takes parse_report's path and gets its reason. Raises only ReportRejected.

    Without `hint`, the domain hint comes from the RFC 8460 name of `hint_file`, read only when a
    TLSA result needs it (most reports have none, and the name costs more to read than to pass).
    """
    try:
        if data[:2] == GZIP_MAGIC:
            data = gunzip_bounded(data)
        check_size_and_structure(data)
        rows = _fast_rows(data, source, hint, hint_file)
        if rows is None:
            hint = hint or (filename_domain(hint_file) if hint_file else None)
            rows = report_rows(strict_report(_decode_json_stdlib(data)), source, hint)
        return rows
    except ReportRejected:
        raise
    except Exception as exc:  # last guard: a reason, never a traceback
        raise ReportRejected(f"could not be read ({type(exc).__name__}: {exc_text(exc)})") from None


# --- validation -------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {str: "a string", int: "a number", float: "a number", list: "an array", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _wrong(path: str, expected: str, value: Any) -> ReportRejected:
    return ReportRejected(f"{path} must be {expected}, got {_type_name(value)}")


def _string(obj: dict[str, Any], key: str, path: str, *, required: bool = True, empty_ok: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ReportRejected(f"{path}{key} is missing")
        return None
    if type(value) is not str:
        raise _wrong(path + key, "a string", value)
    if len(value) > MAX_FIELD_CHARS:
        raise ReportRejected(f"{path}{key} is longer than {MAX_FIELD_CHARS} characters")
    value = value.strip()
    if not value and not empty_ok and required:
        raise ReportRejected(f"{path}{key} is empty")
    return value


def _count(obj: dict[str, Any], key: str, path: str) -> int:
    value = obj.get(key)
    if value is None:
        raise ReportRejected(f"{path}{key} is missing")
    if type(value) is not int:
        raise _wrong(path + key, "a whole number", value)
    if not 0 <= value < 2**62:
        raise ReportRejected(f"{path}{key} is {value}; a session count is between 0 and 2^62")
    return value


def _object(value: Any, path: str) -> dict[str, Any]:
    if type(value) is not dict:
        if value is None:
            raise ReportRejected(f"{path} is missing")
        raise _wrong(path, "an object", value)
    return value


def _string_list(value: Any, path: str, *, single_ok: bool = False) -> tuple[str, ...]:
    """An array of strings; null/absent is empty; with `single_ok` a lone string is one entry (mx-host, EID 6241)."""
    if value is None:
        return ()
    if single_ok and type(value) is str:
        value = [value]
    if type(value) is not list:
        raise _wrong(path, "an array of strings", value)
    out = []
    for i, item in enumerate(value):
        if type(item) is not str:
            raise _wrong(f"{path}[{i}]", "a string", item)
        if len(item) > MAX_FIELD_CHARS:
            raise ReportRejected(f"{path}[{i}] is longer than {MAX_FIELD_CHARS} characters")
        item = item.strip()
        if item:
            out.append(item)
    return tuple(out)


def _failure_detail(value: Any, path: str) -> FailureDetail:
    obj = _object(value, path)
    p = path + "."
    info = _string(obj, "additional-information", p, required=False)
    if info is None:
        info = _string(obj, "additional-info-uri", p, required=False)
    return FailureDetail(
        result_type=_string(obj, "result-type", p).lower(),  # type: ignore[union-attr]
        failed_session_count=_count(obj, "failed-session-count", p),
        sending_mta_ip=ip_or_none(_string(obj, "sending-mta-ip", p, required=False)),
        receiving_mx_hostname=hostname_or_none(_string(obj, "receiving-mx-hostname", p, required=False)),
        receiving_mx_helo=_string(obj, "receiving-mx-helo", p, required=False) or None,
        receiving_ip=ip_or_none(_string(obj, "receiving-ip", p, required=False)),
        failure_reason_code=_string(obj, "failure-reason-code", p, required=False) or None,
        additional_information=info or None,
    )


def _policy_result(value: Any, path: str) -> PolicyResult:
    obj = _object(value, path)
    policy = _object(obj.get("policy"), path + ".policy")
    pp = path + ".policy."
    policy_type = _string(policy, "policy-type", pp).lower()  # type: ignore[union-attr]
    domain = hostname_or_none(_string(policy, "policy-domain", pp))
    if not domain:
        raise ReportRejected(f"{pp}policy-domain is empty")
    summary = _object(obj.get("summary"), path + ".summary")
    sp = path + ".summary."
    details_value = obj.get("failure-details")
    if details_value is None:
        details: tuple[FailureDetail, ...] = ()
    elif type(details_value) is not list:
        raise _wrong(path + ".failure-details", "an array", details_value)
    else:
        details = tuple(_failure_detail(d, f"{path}.failure-details[{i}]") for i, d in enumerate(details_value))
    return PolicyResult(
        policy_type=policy_type,
        policy_domain=domain,
        policy_string=_string_list(policy.get("policy-string"), pp + "policy-string"),
        mx_host=tuple(
            h.rstrip(".").lower() for h in _string_list(policy.get("mx-host"), pp + "mx-host", single_ok=True)
        ),
        successful_sessions=_count(summary, "total-successful-session-count", sp),
        failed_sessions=_count(summary, "total-failure-session-count", sp),
        failure_details=details,
    )


def report_from_json(doc: Any) -> Report:
    """Validate decoded JSON as an RFC 8460 report. Raises ReportRejected naming the bad field.

    The fast path (wizard.reports.fastpath) takes plainly valid reports; anything it does not
    take is validated here, field by field, so the reason names the field.
    """
    try:
        return fast_report(doc)
    except Bail:
        return strict_report(doc)


def strict_report(doc: Any) -> Report:
    """The field-by-field validator: the reference for what is accepted, and the source of every reason."""
    obj = _object(doc, "the report")
    org = _string(obj, "organization-name", "")
    report_id = _string(obj, "report-id", "")
    contact = _string(obj, "contact-info", "", required=False) or ""
    date_range = _object(obj.get("date-range"), "date-range")
    start = parse_datetime(_string(date_range, "start-datetime", "date-range."), "date-range.start-datetime")  # type: ignore[arg-type]
    end = parse_datetime(_string(date_range, "end-datetime", "date-range."), "date-range.end-datetime")  # type: ignore[arg-type]
    if end < start:
        raise ReportRejected("date-range.end-datetime is before start-datetime")
    policies_value = obj.get("policies")
    if policies_value is None:
        raise ReportRejected("policies is missing")
    if type(policies_value) is not list:
        raise _wrong("policies", "an array (RFC 8460 §4.4, even for one policy)", policies_value)
    policies = tuple(_policy_result(p, f"policies[{i}]") for i, p in enumerate(policies_value))
    return Report(
        organisation=org,  # type: ignore[arg-type]
        report_id=report_id,  # type: ignore[arg-type]
        contact_info=contact,
        start=start,
        end=end,
        policies=policies,
    )


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
