"""The two TXT records: `_mta-sts` (RFC 8461 §3.1) and `_smtp._tls` (RFC 8460 §3).

Parsing follows the ABNF (case-sensitive literals, WSP only around `;`), and
choosing among several TXT RRs follows the senders' count rule: keep those that
begin with exactly `v=STSv1;` (or `v=TLSRPTv1;`); anything but exactly one left
means "no policy" (or "no reporting").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from wizard.findings import Finding, clip, finding
from wizard.ids import ID_PATTERN

_EXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}\Z")
_EXT_VALUE = re.compile(r"^[\x21-\x3a\x3c\x3e-\x7e]+\Z")
_DELIM = re.compile(r"[ \t]*;[ \t]*")
_COMMA = re.compile(r"[ \t]*,[ \t]*")
_ADDR_SPEC = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z0-9-]+\Z")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\Z")

STS_PREFIX = "v=STSv1;"
TLSRPT_PREFIX = "v=TLSRPTv1;"


@dataclass(frozen=True)
class StsRecord:
    """`v=STSv1; id=...` and any extension fields (kept, ignored by senders)."""

    id: str
    extensions: tuple[tuple[str, str], ...] = ()

    def to_text(self) -> str:
        # Erratum 6285: emit "v=STSv1;" with no space before the ';'.
        parts = ["v=STSv1", f"id={self.id}", *(f"{k}={v}" for k, v in self.extensions)]
        return "; ".join(parts)


@dataclass(frozen=True)
class TlsRptRecord:
    """`v=TLSRPTv1; rua=...` with the list of report URIs."""

    rua: tuple[str, ...]
    extensions: tuple[tuple[str, str], ...] = ()

    def to_text(self) -> str:
        parts = ["v=TLSRPTv1", "rua=" + ",".join(self.rua), *(f"{k}={v}" for k, v in self.extensions)]
        return "; ".join(parts)


def join_txt_strings(strings: Sequence[bytes | str]) -> str:
    """Join the character-strings of one TXT RR with nothing in between (SPEC §1, pitfall 5)."""
    return "".join(s.decode("utf-8", errors="replace") if isinstance(s, bytes) else s for s in strings)


def _fields(value: str) -> list[str] | None:
    """Split after the version on `*WSP ";" *WSP`; None when there is an empty field in the middle."""
    parts = _DELIM.split(value)
    if parts and parts[-1] == "":
        parts.pop()  # one trailing delimiter is allowed
    if any(p == "" for p in parts):
        return None
    return parts


def parse_sts_record(value: str, *, subject: str = "_mta-sts") -> tuple[StsRecord | None, list[Finding]]:
    """Parse one `_mta-sts` TXT value (already joined). Never raises."""

    def bad(message: str, fix: str) -> tuple[None, list[Finding]]:
        return None, [finding("sts-txt-invalid", message, fix, subject=subject)]

    example = "v=STSv1; id=20261128T120000"
    if not value.isascii():
        return bad("the record contains non-ASCII characters", f"write only ASCII, e.g. '{example}'")
    if not value.startswith("v=STSv1"):
        return bad(f"the record '{clip(value)}' does not begin with exactly 'v=STSv1'", _version_fix(value, example))
    parts = _fields(value)
    if parts is None:
        return bad(f"'{clip(value)}' has an empty field (';;')", f"write '{example}'")
    if parts[0] != "v=STSv1":
        return bad(f"'{clip(value)}' must begin with 'v=STSv1;'", f"write '{example}'")
    if not value.startswith(STS_PREFIX) and len(parts) > 1:
        return bad(
            "there is a space before the ';' after v=STSv1; senders that require the record to begin with "
            "exactly 'v=STSv1;' discard it (RFC 8461 erratum 6285)",
            f"write '{example}'",
        )
    record_id: str | None = None
    extensions: list[tuple[str, str]] = []
    for part in parts[1:]:
        name, eq, val = part.partition("=")
        if not eq or not _EXT_NAME.match(name) or not _EXT_VALUE.match(val):
            return bad(f"the field '{clip(part)}' is not name=value without spaces", f"write '{example}'")
        if name == "id":
            if record_id is None:
                if not ID_PATTERN.match(val):
                    return bad(
                        f"the id '{clip(val)}' must be 1 to 32 letters and digits (no '-', '.', ':' or '_')",
                        f"use an id like {example.split('=')[-1]}",
                    )
                record_id = val
        elif name not in dict(extensions):
            extensions.append((name, val))
    if record_id is None:
        return bad("the record has no id", f"write '{example}'")
    return StsRecord(record_id, tuple(extensions)), []


def _version_fix(value: str, example: str) -> str:
    stripped = value.strip().strip('"').strip()
    if stripped.lower().replace(" ", "").startswith(("v=stsv1", "v=tlsrptv1")):
        return f"the text is case- and space-sensitive and has no quotes in the data; write '{example}'"
    return f"write '{example}'"


def select_sts_record(values: Sequence[str], name: str) -> tuple[StsRecord | None, list[Finding]]:
    """Apply the senders' rule to every TXT value at `_mta-sts.<domain>` (RFC 8461 §3.1)."""
    candidates = [v for v in values if v.startswith(STS_PREFIX)]
    if len(candidates) > 1:
        return None, [
            finding(
                "sts-txt-multiple",
                f"{name} has {len(candidates)} v=STSv1 records; senders then see no policy at all",
                "delete all but one record (keep the one with the newest id)",
                subject=name,
            )
        ]
    if len(candidates) == 1:
        return parse_sts_record(candidates[0], subject=name)
    misplaced = [v for v in values if "v=STSv1" in _DELIM.split(v.strip())[1:]]
    if misplaced:
        return None, [_version_not_first(misplaced[0], name)]
    near = [v for v in values if _looks_like(v, "v=stsv1")]
    if near:
        _, findings = parse_sts_record(near[0], subject=name)
        if findings:
            return None, findings
        return None, [
            finding(
                "sts-txt-invalid",
                f"'{clip(near[0])}' does not begin with exactly 'v=STSv1;'",
                "write 'v=STSv1; id=...' exactly",
                subject=name,
            )
        ]
    return None, [
        finding(
            "sts-txt-missing",
            f"there is no v=STSv1 TXT record at {name}",
            f"publish a TXT record at {name} with the value 'v=STSv1; id=<new id>'",
            subject=name,
        )
    ]


def _version_not_first(value: str, name: str) -> Finding:
    """`id=...; v=STSv1`: the record is there, in the wrong order (CONTRACT: sts-txt-invalid, quoted,
    with the corrected value: the same fields with v=STSv1 moved to the front)."""
    fields = [f for f in _DELIM.split(value.strip()) if f and f != "v=STSv1"]
    corrected = "; ".join(["v=STSv1", *fields])
    return finding(
        "sts-txt-invalid",
        f"'{clip(value)}' holds v=STSv1 but not first; senders read a record only when it begins with 'v=STSv1;'",
        f"change the record at {name} to '{clip(corrected)}'",
        subject=name,
    )


def _looks_like(value: str, prefix: str) -> bool:
    return value.strip().strip('"').strip().lower().replace(" ", "").startswith(prefix)


def validate_rua_uri(uri: str) -> str | None:
    """None for a usable `mailto:` or `https:` report URI, else what is wrong and what to write."""
    if uri == "":
        return "an empty report address; write mailto:tlsrpt@example.com or https://..."
    if any(ch.isspace() or not ch.isprintable() for ch in uri) or not uri.isascii():
        return f"'{clip(uri)}' contains spaces or non-ASCII characters; percent-encode them"
    if "!" in uri:
        return f"'{clip(uri)}' contains '!', which must be percent-encoded as %21 (there is no size limit syntax)"
    scheme, colon, rest = uri.partition(":")
    if not colon:
        if _ADDR_SPEC.match(uri):
            return f"'{uri}' has no scheme; write mailto:{uri}"
        return f"'{clip(uri)}' is not a URI; write mailto:address or https://host/path"
    scheme = scheme.lower()
    if scheme == "mailto":
        address = unquote(rest.split("?", 1)[0])
        if not _ADDR_SPEC.match(address):
            return f"'{clip(uri)}' has no valid e-mail address after mailto:"
        return None
    if scheme == "https":
        try:
            host = urlsplit(uri).hostname or ""
        except ValueError:  # e.g. an unbalanced '[' (urlsplit checks bracketed hosts)
            host = ""
        if not rest.startswith("//") or not host or not (_HOST.match(host) and "." in host):
            return f"'{clip(uri)}' has no valid host; write https://reports.example.com/tlsrpt"
        return None
    if scheme == "http":
        return f"'{clip(uri)}' uses http:; only https: (or mailto:) is allowed"
    return f"'{clip(uri)}' uses the scheme {scheme}:; only mailto: and https: are allowed"


def parse_tlsrpt_record(value: str, *, subject: str = "_smtp._tls") -> tuple[TlsRptRecord | None, list[Finding]]:
    """Parse one `_smtp._tls` TXT value (already joined). Never raises."""
    example = "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"

    def bad(message: str, fix: str) -> tuple[None, list[Finding]]:
        return None, [finding("tlsrpt-invalid", message, fix, subject=subject)]

    if not value.isascii():
        return bad("the record contains non-ASCII characters", f"write only ASCII, e.g. '{example}'")
    parts = _fields(value)
    if not value.startswith(TLSRPT_PREFIX) or parts is None or parts[0] != "v=TLSRPTv1":
        if parts is None and value.startswith(TLSRPT_PREFIX):
            return bad(f"'{clip(value)}' has an empty field (';;')", f"write '{example}'")
        return bad(f"the record '{clip(value)}' does not begin with exactly 'v=TLSRPTv1;'", f"write '{example}'")
    rua_lists: list[list[str]] = []
    extensions: list[tuple[str, str]] = []
    findings: list[Finding] = []
    for part in parts[1:]:
        name, eq, val = part.partition("=")
        if name == "rua" and eq:
            rua_lists.append([u for u in _COMMA.split(val)])
        elif not eq or not _EXT_NAME.match(name) or not _EXT_VALUE.match(val):
            return bad(f"the field '{clip(part)}' is not name=value without spaces", f"write '{example}'")
        else:
            extensions.append((name, val))
    if not rua_lists:
        return bad("the record has no rua= field, so reporters do not know where to send", f"write '{example}'")
    if len(rua_lists) > 1:
        findings.append(
            finding(
                "tlsrpt-rua-repeated",
                f"the record has {len(rua_lists)} rua= fields; reporters may use only the first of them",
                "merge them into a single rua= list separated by commas",
                subject=subject,
            )
        )
    uris = [u for lst in rua_lists for u in lst]
    for uri in uris:
        problem = validate_rua_uri(uri)
        if problem:
            findings.append(
                finding("tlsrpt-rua-invalid", problem, "write mailto:address or https://host/path", subject=subject)
            )
    if any(f.code == "tlsrpt-rua-invalid" for f in findings):
        return None, findings
    # Several rua= fields are allowed by the grammar (SPEC §6): the record stays usable, with the
    # finding telling the user that some reporters read only one of the lists.
    return TlsRptRecord(tuple(uris), tuple(extensions)), findings


def select_tlsrpt_record(values: Sequence[str], name: str) -> tuple[TlsRptRecord | None, list[Finding]]:
    """Apply the count rule to every TXT value at `_smtp._tls.<domain>` (RFC 8460 §3)."""
    candidates = [v for v in values if v.startswith(TLSRPT_PREFIX)]
    if len(candidates) > 1:
        return None, [
            finding(
                "tlsrpt-multiple",
                f"{name} has {len(candidates)} v=TLSRPTv1 records; reporters then send no reports",
                "keep one record and put every address in its rua= list",
                subject=name,
            )
        ]
    if len(candidates) == 1:
        return parse_tlsrpt_record(candidates[0], subject=name)
    near = [v for v in values if _looks_like(v, "v=tlsrptv1")]
    if near:
        return parse_tlsrpt_record(near[0], subject=name)
    return None, [
        finding(
            "tlsrpt-missing",
            f"there is no v=TLSRPTv1 TXT record at {name}; you will get no reports of TLS failures",
            f"publish a TXT record at {name} with 'v=TLSRPTv1; rua=mailto:<your address>'",
            subject=name,
        )
    ]
