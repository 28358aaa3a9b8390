"""The fast path of report validation: well-formed reports in one pass, with no error bookkeeping.

The strict validator in wizard.reports.parse names the exact field that is wrong, which
means building a path string for every field and calling a helper per field. Most reports
are well-formed, so this pass checks the same rules with inline type tests and gives up
(`Bail`) at the first thing that is not plainly valid; the strict validator then runs on
that report and produces the reason. A report accepted here is exactly the Report the
strict validator would build (tests/test_reports_parse.py compares the two on mutations).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from wizard.reports.fields import MAX_FIELD_CHARS, datetime_value, hostname_or_none, ip_or_none
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


def _checked_lists(policy: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A policy's checked policy-string lines and mx-host names (stripped; hosts lower case, no dot)."""
    mx = policy.get("mx-host")
    return (
        _strings(policy.get("policy-string")),
        tuple(h.rstrip(".").lower() for h in _strings([mx] if type(mx) is str else mx)),
    )


def _policy_parts(obj: Any, lists: Callable[[dict[str, Any]], tuple[Any, Any]] = _checked_lists) -> tuple[Any, ...]:
    """The checked fields of one `policies[]` entry, shared by the Report and the row builders:
    type, domain, the two `lists` (tuples, or for rows their JSON texts), counts, failure details."""
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
    strings, mx_hosts = lists(policy)
    return (
        policy_type.lower(),
        domain,
        strings,
        mx_hosts,
        _count(summary.get("total-successful-session-count")),
        _count(summary.get("total-failure-session-count")),
        details,
    )


def _policy(obj: Any) -> PolicyResult:
    policy_type, domain, strings, mx_hosts, ok, failed, details = _policy_parts(obj)
    return PolicyResult(policy_type, domain, strings, mx_hosts, ok, failed, tuple(_detail(d) for d in details))


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


# --- straight to store rows -------------------------------------------------------------------
# An import needs rows, not Report objects: building frozen dataclasses and then walking them
# again in report_rows cost about half of the fast path. These build the same tuples that
# report_rows(fast_report(doc)) builds, in one pass (tests/test_reports_perf_paths.py compares).


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


def _policy_row(obj: Any) -> PolicyRow:
    """A policy row whose first field (the domain it counts for) is still its policy-domain."""
    policy_type, domain, strings, mx_hosts, ok, failed, details = _policy_parts(obj, _list_texts)
    return (domain, policy_type, domain, strings, mx_hosts, ok, failed, tuple(map(_detail_row, details)))


#: (start text, end text) as sent -> (start, end, day) as stored; only short texts are kept.
_ranges: dict[tuple[str, str], tuple[str, str, str]] = {}
#: A stripped string tuple -> its JSON array (policy strings and mx hosts repeat across reports).
_lists: dict[tuple[str, ...], str] = {}
_MEMO_ENTRIES = 4096
_MEMO_CHARS = 512


def _range(date_range: dict[str, Any]) -> tuple[str, str, str]:
    """The stored start, end and day of a date-range (Report.day), memoised on the texts sent:
    reports share a few ranges, so most cost one dict lookup instead of two parses and formats."""
    key = (date_range.get("start-datetime"), date_range.get("end-datetime"))
    got = _ranges.get(key) if type(key[0]) is str and type(key[1]) is str else None  # type: ignore[arg-type]
    if got is None:
        start = _when(key[0])
        end = _when(key[1])
        if end < start:
            raise Bail
        day = ((start + (end - start) / 2).date() if end > start else start.date()).isoformat()
        got = (iso(start), iso(end), day)
        if len(key[0]) + len(key[1]) <= 128:  # type: ignore[arg-type]
            if len(_ranges) >= _MEMO_ENTRIES:
                _ranges.clear()
            _ranges[key] = got  # type: ignore[index]
    return got


#: (policy-string, mx-host) exactly as sent -> their stored JSON texts. Senders repeat a domain's
#: policy in every report, so this one lookup replaces checking, stripping and encoding each line.
#: Only all-string arrays (or an mx-host string, or absent) are keys: what hashes equal to a key
#: was valid the first time. A non-string item, or anything unhashable, takes the full path.
_policy_texts: dict[tuple[Any, Any], tuple[str, str]] = {}


def _list_texts(policy: dict[str, Any]) -> tuple[str, str]:
    """`_checked_lists` as stored JSON texts, memoised on the values as sent."""
    raw = (policy.get("policy-string"), policy.get("mx-host"))
    key: tuple[Any, Any] | None = None
    if type(raw[0]) is list and (raw[1] is None or type(raw[1]) in (str, list)):
        key = (tuple(raw[0]), tuple(raw[1]) if type(raw[1]) is list else raw[1])
        try:
            got = _policy_texts.get(key)
        except TypeError:  # an unhashable item (an object or array): not a valid report anyway
            got = key = None
        if got is not None:
            return got
    strings, mx_hosts = _checked_lists(policy)
    got = (_json(strings), _json(mx_hosts))
    if key is not None and _small_strings(key[0]) and (key[1] is None or _small_strings(key[1])):
        if len(_policy_texts) >= _MEMO_ENTRIES:
            _policy_texts.clear()
        _policy_texts[key] = got
    return got


def _small_strings(values: Any) -> bool:
    """All strings, and short in all: a memo key never holds hostile amounts of text (or whitespace)."""
    if type(values) is str:
        return len(values) <= _MEMO_CHARS
    return all(type(v) is str for v in values) and sum(map(len, values)) <= _MEMO_CHARS


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


def fast_rows(doc: Any, source: str, hint: str | None) -> ReportRows:
    """report_rows(fast_report(doc), source, hint) without building the Report; raises Bail likewise."""
    organisation, report_id, date_range, policies = _header(doc)
    start, end, day = _range(date_range)
    contact = _optional(doc.get("contact-info")) or ""
    rows = tuple(map(_policy_row, policies))
    if any(row[1] == "tlsa" for row in rows):  # TLSA results count for the report's domain (report_domain)
        hint = hint.rstrip(".").lower() if hint else None
        others = {row[2] for row in rows if row[1] != "tlsa"}
        mine = hint or (others.pop() if len(others) == 1 else None)
        if mine:
            rows = tuple((mine, *row[1:]) if row[1] == "tlsa" else row for row in rows)  # type: ignore[misc]
    return (organisation, report_id, contact, start, end, day, source, rows, report_key(organisation, report_id))
