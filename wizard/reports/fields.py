"""Field-level conversions shared by the strict validator and its fast path: date-times and addresses.

Reports repeat the same few date-times (one UTC day per report) and the same sending and
receiving addresses many times over, so both conversions are memoised in small bounded
dicts: a hit costs one lookup instead of a regex, a datetime and an ipaddress object.
Only short texts are cached (a real date-time or address is under 64 characters), so hostile
8 KB strings never grow the caches past a few hundred KB.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import struct
from datetime import UTC, datetime, timedelta

from wizard.reports.model import ReportRejected

#: Longest single string field kept (organisation names, reason codes, URIs).
MAX_FIELD_CHARS = 8192
#: Entries per memo before it is emptied; a memo never holds texts longer than _CACHED_CHARS.
_CACHE_ENTRIES = 4096
_CACHED_CHARS = 64

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: Dotted-quad IPv4 in canonical form (no leading zeros): printed by ipaddress exactly as written.
_CANONICAL_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}", re.ASCII)
_datetimes: dict[str, datetime | str] = {}
_addresses: dict[str, str] = {}


def _convert_datetime(text: str) -> datetime | str:
    """The UTC datetime, or the reason it is none (the words after the field's name)."""
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


def datetime_value(text: str) -> datetime | str:
    """Memoised `_convert_datetime` of already stripped text: a datetime, or the reason as a str."""
    value = _datetimes.get(text)
    if value is None:
        value = _convert_datetime(text)
        if len(text) <= _CACHED_CHARS:
            if len(_datetimes) >= _CACHE_ENTRIES:
                _datetimes.clear()
            _datetimes[text] = value
    return value


def parse_datetime(text: str, path: str) -> datetime:
    """RFC 3339 date-time to aware UTC; no offset means UTC (Microsoft sends that; mox reads it so)."""
    value = datetime_value(text.strip())
    if type(value) is str:
        raise ReportRejected(f"{path} {value}: {text[:60]!r}")
    return value  # type: ignore[return-value]


def address(value: str) -> str:
    """An address literal normalised (RFC 5952 for IPv6); a value that is not one is kept as sent."""
    text = _addresses.get(value)
    if text is None:
        if _CANONICAL_IPV4.fullmatch(value):
            text = value  # already what ipaddress would print, at a tenth of its cost
        else:
            text = _plain_ipv6(value) if ":" in value else None
            if text is None:
                try:
                    text = str(ipaddress.ip_address(value))
                except ValueError:
                    text = value
        if len(value) <= _CACHED_CHARS:
            if len(_addresses) >= _CACHE_ENTRIES:
                _addresses.clear()
            _addresses[value] = text
    return text


_HEXTETS = "{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}".format


def _plain_ipv6(value: str) -> str | None:
    """What str(ipaddress.ip_address(value)) prints for an IPv6 literal without a zone or an
    embedded IPv4 part, read by the C library (a quarter of the cost); None when it is not one
    (ipaddress then decides, and words nothing differently). RFC 5952: lower case, no leading
    zeros, the first longest run of two or more zero groups as '::'."""
    if "%" in value or "." in value or not value.isascii():
        return None
    try:
        groups = struct.unpack("!8H", socket.inet_pton(socket.AF_INET6, value))
    except OSError:
        return None
    start = length = run = 0
    for i, group in enumerate(groups):
        run = run + 1 if group == 0 else 0
        if run > length:
            start, length = i - run + 1, run
    text = _HEXTETS(*groups)
    if length < 2:
        return text
    hextets = text.split(":")
    return ":".join(hextets[:start]) + "::" + ":".join(hextets[start + length :])


def ip_or_none(value: str | None) -> str | None:
    """`address` of a stripped field; absent or empty is None."""
    return address(value) if value else None


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
