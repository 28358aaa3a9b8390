"""Field-level conversions of report values: date-times, addresses, host names, file names."""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import UTC, datetime, timedelta

from wizard.reports.model import ReportRejected

#: Longest single string field kept (organisation names, reason codes, URIs).
MAX_FIELD_CHARS = 8192

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def datetime_value(text: str) -> datetime | str:
    """The UTC datetime of stripped RFC 3339 `text`, or the reason it is none (the words after the field's name).

    No offset means UTC (Microsoft sends that; mox reads it so); a leap second is read as :59.
    """
    m = _DATETIME.fullmatch(text)
    if not m:
        return "is not an RFC 3339 date-time"
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micro = int((m.group(7)[1:] + "000000")[:6]) if m.group(7) else 0
    try:
        value = datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=UTC)
    except ValueError:
        return "is not a real date-time"
    if m.group(9):
        sign = 1 if m.group(9) == "+" else -1
        hours, minutes = int(m.group(10)), int(m.group(11))
        if hours > 23 or minutes > 59:
            return "has an impossible UTC offset"
        value -= sign * timedelta(hours=hours, minutes=minutes)
    return value


def parse_datetime(text: str, path: str) -> datetime:
    """`datetime_value`, raising ReportRejected that names the field at `path`."""
    value = datetime_value(text.strip())
    if isinstance(value, str):
        raise ReportRejected(f"{path} {value}: {text[:60]!r}")
    return value


def ip_text(value: str) -> str | None:
    """An address literal in its normal form (RFC 5952 for IPv6), or None when `value` is not one."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def hostname_or_none(value: str | None) -> str | None:
    """A host name without the trailing dot, lower case; absent or empty is None."""
    if not value:
        return None
    return value.rstrip(".").lower() or None


def filename_domain(name: str) -> str | None:
    """The policy domain from the RFC 8460 §5.3 filename `sender!domain!begin!end[!id].json[.gz]`."""
    parts = os.path.basename(name).split("!")
    if len(parts) >= 4 and parts[1] and printable_path(parts[1]) is parts[1]:  # not a domain if not UTF-8
        return parts[1].rstrip(".").lower()
    return None


def printable_path(path: str) -> str:
    """A file path as text that can be stored and printed. A Linux file name may hold any bytes;
    Python keeps those that are not UTF-8 as lone surrogates, which neither SQLite nor a UTF-8
    terminal takes, so they are shown as \\xNN. Returns `path` itself when it needs nothing."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        pass
    try:  # undecodable bytes of a file name, as surrogateescape keeps them: back to bytes, shown as \xNN
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # any other lone surrogate: shown as \udXXX
        raw = path.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")
