"""The fast path of report validation: well-formed reports in one pass, with no error bookkeeping.

The strict validator in wizard.reports.parse names the exact field that is wrong, which
means building a path string for every field and calling a helper per field. Most reports
are well-formed, so this pass checks the same rules with inline type tests and gives up
(`Bail`) at the first thing that is not plainly valid; the strict validator then runs on
that report and produces the reason. A report accepted here is exactly the Report the
strict validator would build (tests/test_reports_parse.py compares the two on mutations).

Two entry points: fast_report checks orjson's dicts for parse_report; typed_rows, the import's,
has msgspec decode straight into the report's typed shape (types, count bounds and text lengths
checked in C, ~2.7 us a report less than orjson plus these checks) and builds store rows.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime
from typing import Annotated, Any

import msgspec

from wizard.reports.fields import MAX_FIELD_CHARS, datetime_value, filename_domain, hostname_or_none, ip_or_none
from wizard.reports.keys import report_key
from wizard.reports.model import FailureDetail, PolicyResult, Report
from wizard.reports.store import FailureRow, PolicyRow, ReportRows, iso, json_list

_COUNT_LIMIT = 2**62


class Bail(Exception):
    """Not plainly valid: let the strict validator decide and explain."""


def _text(value: Any) -> str:
    if type(value) is not str or len(value) > MAX_FIELD_CHARS:
        raise Bail
    return value.strip()


def _optional(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not str or len(value) > MAX_FIELD_CHARS:
        raise Bail
    return value.strip()


def _count(value: Any) -> int:
    if type(value) is not int or not 0 <= value < _COUNT_LIMIT:
        raise Bail
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is not list:
        raise Bail
    out = []
    for item in value:
        if type(item) is not str or len(item) > MAX_FIELD_CHARS:
            raise Bail
        item = item.strip()
        if item:
            out.append(item)
    return tuple(out)


def _when(value: Any) -> datetime:
    result = datetime_value(_text(value))
    if type(result) is not datetime:
        raise Bail
    return result


def _detail(obj: Any) -> FailureDetail:
    return FailureDetail(*_detail_row(obj))


def _checked_lists_of(strings: Any, mx: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (
        _strings(strings),
        tuple(h.rstrip(".").lower() for h in _strings([mx] if type(mx) is str else mx)),
    )


def _policy(obj: Any) -> PolicyResult:
    """One checked `policies[]` entry."""
    if type(obj) is not dict:
        raise Bail
    policy = obj.get("policy")
    summary = obj.get("summary")
    if type(policy) is not dict or type(summary) is not dict:
        raise Bail
    policy_type = _text(policy.get("policy-type"))
    domain = hostname_or_none(_text(policy.get("policy-domain")))
    if not policy_type or not domain:
        raise Bail
    details = obj.get("failure-details")
    if details is None:
        details = []
    elif type(details) is not list:
        raise Bail
    strings, mx_hosts = _checked_lists_of(policy.get("policy-string"), policy.get("mx-host"))
    return PolicyResult(
        policy_type.lower(),
        domain,
        strings,
        mx_hosts,
        _count(summary.get("total-successful-session-count")),
        _count(summary.get("total-failure-session-count")),
        tuple(_detail(d) for d in details),
    )


def _header(doc: Any) -> tuple[str, str, dict[str, Any], list[Any]]:
    """The checked top level of a report: organisation, report-id, date-range and policies."""
    if type(doc) is not dict:
        raise Bail
    organisation = _text(doc.get("organization-name"))
    report_id = _text(doc.get("report-id"))
    if not organisation or not report_id:
        raise Bail
    date_range = doc.get("date-range")
    policies = doc.get("policies")
    if type(date_range) is not dict or type(policies) is not list:
        raise Bail
    return organisation, report_id, date_range, policies


def fast_report(doc: Any) -> Report:
    """The Report for a plainly valid document; raises Bail for anything else (never a reason)."""
    organisation, report_id, date_range, policies = _header(doc)
    start = _when(date_range.get("start-datetime"))
    end = _when(date_range.get("end-datetime"))
    if end < start:
        raise Bail
    return Report(
        organisation, report_id, _optional(doc.get("contact-info")) or "", start, end, tuple(map(_policy, policies))
    )


def _detail_row(obj: Any) -> FailureRow:
    if type(obj) is not dict:
        raise Bail
    get = obj.get
    result_type = _text(get("result-type"))
    if not result_type:
        raise Bail
    info = _optional(get("additional-information"))
    if info is None:
        info = _optional(get("additional-info-uri"))
    return (
        result_type.lower(),
        _count(get("failed-session-count")),
        ip_or_none(_optional(get("sending-mta-ip"))),
        hostname_or_none(_optional(get("receiving-mx-hostname"))),
        _optional(get("receiving-mx-helo")) or None,
        ip_or_none(_optional(get("receiving-ip"))),
        _optional(get("failure-reason-code")) or None,
        info or None,
    )


# --- straight to store rows -------------------------------------------------------------------
# An import needs rows, not Report objects. msgspec decodes the bytes straight into the RFC 8460
# shape below, checking every type, count bound and text length in C as it goes (what the
# checks above do in Python on orjson's dicts); what is left here is what the strict validator
# does to values: stripping, case, host names, addresses, date-times, and the few texts that must
# not be empty. Anything msgspec refuses is Bail, and the strict validator gives the reason.
# typed_rows(data) builds exactly report_rows(strict_report(data)) (tests/test_reports_perf_paths.py).

_Text = Annotated[str, msgspec.Meta(max_length=MAX_FIELD_CHARS)]
_Count = Annotated[int, msgspec.Meta(ge=0, lt=_COUNT_LIMIT)]


class _Detail(msgspec.Struct, frozen=True, gc=False):
    result_type: _Text = msgspec.field(name="result-type")
    failed_session_count: _Count = msgspec.field(name="failed-session-count")
    sending_mta_ip: _Text | None = msgspec.field(name="sending-mta-ip", default=None)
    receiving_mx_hostname: _Text | None = msgspec.field(name="receiving-mx-hostname", default=None)
    receiving_mx_helo: _Text | None = msgspec.field(name="receiving-mx-helo", default=None)
    receiving_ip: _Text | None = msgspec.field(name="receiving-ip", default=None)
    failure_reason_code: _Text | None = msgspec.field(name="failure-reason-code", default=None)
    additional_information: _Text | None = msgspec.field(name="additional-information", default=None)
    additional_info_uri: _Text | None = msgspec.field(name="additional-info-uri", default=None)


class _Policy(msgspec.Struct, frozen=True, gc=False):
    policy_type: _Text = msgspec.field(name="policy-type")
    policy_domain: _Text = msgspec.field(name="policy-domain")
    policy_string: list[_Text] | None = msgspec.field(name="policy-string", default=None)
    mx_host: _Text | list[_Text] | None = msgspec.field(name="mx-host", default=None)


class _Summary(msgspec.Struct, frozen=True, gc=False):
    successful: _Count = msgspec.field(name="total-successful-session-count")
    failed: _Count = msgspec.field(name="total-failure-session-count")


class _PolicyResult(msgspec.Struct, frozen=True, gc=False):
    policy: _Policy
    summary: _Summary
    failure_details: list[_Detail] | None = msgspec.field(name="failure-details", default=None)


class _DateRange(msgspec.Struct, frozen=True, gc=False):
    start: _Text = msgspec.field(name="start-datetime")
    end: _Text = msgspec.field(name="end-datetime")


class _Report(msgspec.Struct, frozen=True, gc=False):
    organisation: _Text = msgspec.field(name="organization-name")
    report_id: _Text = msgspec.field(name="report-id")
    date_range: _DateRange = msgspec.field(name="date-range")
    policies: list[_PolicyResult]
    contact_info: _Text | None = msgspec.field(name="contact-info", default=None)


_decode_report = msgspec.json.Decoder(_Report).decode
#: Python's limit on the digits of an int read from text (0: none), which json.loads applies.
_INT_DIGITS = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % (_INT_DIGITS + 1)) if _INT_DIGITS else None


def _stripped(value: str | None) -> str | None:
    return None if value is None else value.strip()


def _typed_detail_row(d: _Detail) -> FailureRow:
    result_type = d.result_type.strip()
    if not result_type:
        raise Bail
    info = _stripped(d.additional_information)
    if info is None:
        info = _stripped(d.additional_info_uri)
    return (
        result_type.lower(),
        d.failed_session_count,
        ip_or_none(_stripped(d.sending_mta_ip)),
        hostname_or_none(_stripped(d.receiving_mx_hostname)),
        _stripped(d.receiving_mx_helo) or None,
        ip_or_none(_stripped(d.receiving_ip)),
        _stripped(d.failure_reason_code) or None,
        info or None,
    )


def _typed_policy_row(result: _PolicyResult) -> PolicyRow:
    """A policy row whose first field (the domain it counts for) is still its policy-domain."""
    policy = result.policy
    policy_type = policy.policy_type.strip()
    domain = hostname_or_none(policy.policy_domain.strip())
    if not policy_type or not domain:
        raise Bail
    strings, mx_hosts = _list_texts_of(policy.policy_string, policy.mx_host)
    details = result.failure_details
    return (
        domain,
        policy_type.lower(),
        domain,
        strings,
        mx_hosts,
        result.summary.successful,
        result.summary.failed,
        tuple(map(_typed_detail_row, details)) if details else (),
    )


#: (start text, end text) as sent -> (start, end, day) as stored; only short texts are kept.
_ranges: dict[tuple[str, str], tuple[str, str, str]] = {}
#: A stripped string tuple -> its JSON array (policy strings and mx hosts repeat across reports).
_lists: dict[tuple[str, ...], str] = {}
_MEMO_ENTRIES = 4096
_MEMO_CHARS = 512


def _range(start_text: str, end_text: str) -> tuple[str, str, str]:
    """The stored start, end and day of a date-range (Report.day), memoised on the texts sent:
    reports share a few ranges, so most cost one dict lookup instead of two parses and formats."""
    key = (start_text, end_text)
    got = _ranges.get(key)
    if got is None:
        start = _when(start_text)
        end = _when(end_text)
        if end < start:
            raise Bail
        day = ((start + (end - start) / 2).date() if end > start else start.date()).isoformat()
        got = (iso(start), iso(end), day)
        if len(start_text) + len(end_text) <= 128:
            if len(_ranges) >= _MEMO_ENTRIES:
                _ranges.clear()
            _ranges[key] = got
    return got


#: (policy-string, mx-host) exactly as sent -> their stored JSON texts. Senders repeat a domain's
#: policy in every report, so this one lookup replaces stripping and encoding each line.
#: Values arrive type-checked (lists of strings, an mx-host string, or absent); only short ones are kept.
_policy_texts: dict[tuple[Any, Any], tuple[str, str]] = {}


def _list_texts_of(strings: list[str] | None, mx: str | list[str] | None) -> tuple[str, str]:
    """`_checked_lists_of` as stored JSON texts, memoised on the values as sent."""
    key: tuple[Any, Any] | None = None
    if strings is not None:
        key = (tuple(strings), tuple(mx) if type(mx) is list else mx)
        got = _policy_texts.get(key)
        if got is not None:
            return got
    checked_strings, mx_hosts = _checked_lists_of(strings, mx)
    got = (_json(checked_strings), _json(mx_hosts))
    if key is not None and _small_strings(key[0]) and (key[1] is None or _small_strings(key[1])):
        if len(_policy_texts) >= _MEMO_ENTRIES:
            _policy_texts.clear()
        _policy_texts[key] = got
    return got


def _small_strings(values: Any) -> bool:
    """Short in all: a memo key never holds hostile amounts of text (or whitespace)."""
    if type(values) is str:
        return len(values) <= _MEMO_CHARS
    return sum(map(len, values)) <= _MEMO_CHARS


def _json(values: tuple[str, ...]) -> str:
    """json_list, memoised for short lists."""
    text = _lists.get(values)
    if text is None:
        text = json_list(values)
        if len(text) <= _MEMO_CHARS:
            if len(_lists) >= _MEMO_ENTRIES:
                _lists.clear()
            _lists[values] = text
    return text


def typed_rows(data: bytes, source: str, hint: str | None, hint_file: str | None = None) -> ReportRows:
    """report_rows(strict_report(data), source, hint) for plainly valid UTF-8 JSON `data` (no BOM),
    without building a Report; raises Bail for anything else (the strict validator explains it).
    Without `hint`, a TLSA result takes it from the RFC 8460 name of `hint_file`."""
    try:
        if not data.isascii():
            data.decode("utf-8")  # msgspec does not check the UTF-8 of fields it skips; the strict path does
        if _LONG_DIGITS is not None and len(data) > _INT_DIGITS and _LONG_DIGITS.search(data):
            raise Bail  # nor integers past the digits Python converts (json.loads refuses those)
        doc = _decode_report(data)
    except ValueError:  # msgspec's DecodeError and ValidationError, and UnicodeDecodeError
        raise Bail from None
    organisation = doc.organisation.strip()
    report_id = doc.report_id.strip()
    if not organisation or not report_id:
        raise Bail
    start, end, day = _range(doc.date_range.start, doc.date_range.end)
    contact = _stripped(doc.contact_info) or ""
    rows = tuple(map(_typed_policy_row, doc.policies))
    if any(row[1] == "tlsa" for row in rows):  # TLSA results count for the report's domain (report_domain)
        hint = hint or (filename_domain(hint_file) if hint_file else None)
        hint = hint.rstrip(".").lower() if hint else None
        others = {row[2] for row in rows if row[1] != "tlsa"}
        mine = hint or (others.pop() if len(others) == 1 else None)
        if mine:
            rows = tuple((mine, *row[1:]) if row[1] == "tlsa" else row for row in rows)  # type: ignore[misc]
    return (organisation, report_id, contact, start, end, day, source, rows, report_key(organisation, report_id))
