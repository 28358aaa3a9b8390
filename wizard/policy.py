"""The MTA-STS policy file (RFC 8461 §3.2): parse, serialise, advise.

The parser never raises. It reads every line, reports each problem with the line
number and what to write instead, and returns the policy when the text is valid
under the RFC (a policy that is not is unusable to senders, SPEC §3). For display
and drift checks it also returns a best-effort `lenient` reading of broken files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from wizard.findings import Finding, clip, finding
from wizard.mx import validate_mx_pattern

Mode = Literal["enforce", "testing", "none"]
MODES: tuple[Mode, ...] = ("testing", "enforce", "none")
MAX_AGE_LIMIT = 31_557_600
"""RFC 8461 §3.2 prose (errata 7282): one year is the largest allowed max_age."""
ONE_DAY = 86_400
ONE_WEEK = 7 * ONE_DAY

_EXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_WSP = " \t"
_KNOWN = ("version", "mode", "max_age", "mx")
_ALIASES = {"max-age": "max_age", "maxage": "max_age", "max_age_seconds": "max_age"}


@dataclass(frozen=True)
class PolicyFile:
    """A policy as senders read it. `mx` keeps the file's order; extensions are kept and ignored."""

    mode: str
    max_age: int
    mx: tuple[str, ...] = ()
    version: str = "STSv1"
    extensions: tuple[tuple[str, str], ...] = ()

    def to_text(self, newline: str = "\n") -> str:
        """Serialise in the RFC's field order, one `mx:` line per pattern, ending with a newline."""
        lines = [f"version: {self.version}", f"mode: {self.mode}"]
        lines += [f"mx: {pattern}" for pattern in self.mx]
        lines.append(f"max_age: {self.max_age}")
        lines += [f"{key}: {value}" for key, value in self.extensions]
        return newline.join(lines) + newline

    def same_as(self, other: PolicyFile | None) -> bool:
        """Equal for senders: same mode, max_age and set of patterns (order and case do not matter)."""
        if other is None:
            return False
        return (
            self.version == other.version
            and self.mode == other.mode
            and self.max_age == other.max_age
            and {p.lower() for p in self.mx} == {p.lower() for p in other.mx}
        )


@dataclass
class PolicyParse:
    """The outcome of parsing: `policy` is None when senders would reject the file."""

    policy: PolicyFile | None
    findings: list[Finding] = field(default_factory=list)
    lenient: PolicyFile | None = None
    """A best-effort reading even of an invalid file (for showing what is there)."""

    @property
    def valid(self) -> bool:
        return self.policy is not None


class _Reader:
    """State of one parse: the fields seen, the findings, and whether the file is still valid."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.findings: list[Finding] = []
        self.valid = True
        self.first: dict[str, tuple[str, int]] = {}
        self.mx: list[str] = []
        self.extensions: list[tuple[str, str]] = []

    def syntax(self, line: int | None, message: str, fix: str, *, invalid: bool = True) -> None:
        where = f"line {line}: " if line else ""
        self.findings.append(finding("policy-syntax", where + message, fix, subject=self.subject, line=line))
        if invalid:
            self.valid = False

    def range_error(self, line: int, message: str, fix: str) -> None:
        self.findings.append(
            finding("policy-max-age-range", f"line {line}: {message}", fix, subject=self.subject, line=line)
        )
        self.valid = False


def parse_policy(data: str | bytes, *, subject: str = "mta-sts.txt") -> PolicyParse:
    """Parse a policy file per RFC 8461 §3.2 (LF or CRLF). Never raises."""
    reader = _Reader(subject)
    text = _decode(data, reader)
    if text.startswith("\ufeff"):
        reader.syntax(1, "the file starts with a byte-order mark (BOM)", "save the file as UTF-8 without a BOM")
        text = text[1:]
    if not text.strip():
        reader.syntax(None, "the policy file is empty", "write the version, mode, mx and max_age lines")
        return PolicyParse(None, reader.findings)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line terminator is optional
        unterminated = -1
    else:
        unterminated = len(lines) - 1  # its CR, if any, is a bare CR, not half of a CRLF
    for index, raw in enumerate(lines):
        line = raw[:-1] if raw.endswith("\r") and index != unterminated else raw
        _read_line(reader, index + 1, line)
    return _finish(reader)


def _decode(data: str | bytes, reader: _Reader) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        reader.syntax(
            None,
            f"the file is not valid UTF-8 (byte {exc.start})",
            "save the policy as plain ASCII/UTF-8 text",
        )
        return data.decode("utf-8", errors="replace")


def _read_line(reader: _Reader, number: int, line: str) -> None:
    if line.strip(_WSP) == "":
        reader.syntax(number, "blank lines are not allowed", "delete the empty line")
        return
    if "\r" in line:
        reader.syntax(number, "a bare CR (carriage return) inside the line", "end lines with LF or CRLF only")
        if "\r" in line.rstrip("\r"):
            return
        line = line.rstrip("\r")  # a CR only at the end: read the line anyway, so later findings stay apt
        if line.strip(_WSP) == "":
            return  # nothing but the CR (and blanks): said above, nothing else to read
    if any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in line):
        reader.syntax(number, "control characters in the line", "remove the non-printing characters")
        return
    if line.startswith("#"):
        reader.syntax(number, "comments are not allowed in a policy file", "delete the '#' line")
        return
    if line[0] in _WSP:
        reader.syntax(number, "the line is indented", f"remove the leading spaces: '{clip(line.strip(_WSP))}'")
        return
    key, colon, rest = line.partition(":")
    if not colon:
        reader.syntax(number, f"'{clip(line)}' is not a 'key: value' line", "write e.g. 'mode: testing'")
        return
    if key != key.rstrip(_WSP):
        reader.syntax(
            number, f"space before ':' in '{clip(line)}'", f"write '{key.rstrip(_WSP)}:' with no space before ':'"
        )
        key = key.rstrip(_WSP)
    value = rest.strip(_WSP)
    if key in _KNOWN:
        _read_known(reader, number, key, value)
    else:
        _read_extension(reader, number, key, value)


def _read_known(reader: _Reader, number: int, key: str, value: str) -> None:
    if key == "mx":
        problem = validate_mx_pattern(value)
        if problem:
            reader.syntax(number, problem, "write one host name or '*.' pattern per 'mx:' line")
        else:
            reader.mx.append(value)
        return
    if key in reader.first:
        first_value, first_line = reader.first[key]
        reader.syntax(
            number,
            f"'{key}' appears again (first on line {first_line}, '{clip(first_value)}'); the RFC says the first "
            "wins, but some senders (postfix-mta-sts-resolver) use the last",
            f"keep a single '{key}:' line",
            invalid=False,
        )
        return
    reader.first[key] = (value, number)
    if key == "version" and value != "STSv1":
        hint = " (it is case-sensitive)" if value.lower() == "stsv1" else ""
        reader.syntax(number, f"version is '{clip(value)}'{hint}", "write 'version: STSv1'")
    elif key == "mode" and value not in MODES:
        if value.lower() in MODES:
            fix = f"write 'mode: {value.lower()}' in lower case"
        elif value.lower() == "report":
            fix = "'report' was a draft value; write 'mode: testing'"
        else:
            fix = "write 'mode: testing', 'mode: enforce' or 'mode: none'"
        reader.syntax(number, f"mode '{clip(value)}' is not one of testing, enforce, none", fix)
    elif key == "max_age":
        _read_max_age(reader, number, value)


def _read_max_age(reader: _Reader, number: int, value: str) -> None:
    fix = f"write a number of seconds from 0 to {MAX_AGE_LIMIT}, e.g. 'max_age: 604800' for a week"
    if value.startswith("-") and value[1:].isdigit():
        reader.range_error(number, f"max_age {value} is negative", fix)
    elif not (value.isascii() and value.isdigit()):
        reader.syntax(number, f"max_age '{clip(value)}' is not a whole number of seconds (no units)", fix)
    elif len(value) > 10 or int(value) > MAX_AGE_LIMIT:
        reader.range_error(number, f"max_age {clip(value)} is over the one-year limit of {MAX_AGE_LIMIT}", fix)


def _read_extension(reader: _Reader, number: int, key: str, value: str) -> None:
    if key.lower() in _KNOWN or key.lower() in _ALIASES:
        proper = _ALIASES.get(key.lower(), key.lower())
        # An unknown extension to senders (SPEC §3): ignored, so not itself invalid; a missing
        # required field is reported by _finish when the proper key is absent.
        reader.syntax(
            number,
            f"'{clip(key)}' is not a policy key (keys are case-sensitive), so senders ignore this line",
            f"write '{proper}: {clip(value)}'",
            invalid=False,
        )
        return
    if not _EXT_NAME.match(key):
        reader.syntax(
            number,
            f"'{clip(key)}' is not a valid key",
            "use only version, mode, mx and max_age (extension keys are letters, digits, '_', '-', '.')",
        )
        return
    if not value:
        reader.syntax(number, f"the extension '{key}' has no value", f"remove the line or give '{key}' a value")
        return
    if "\t" in value:
        # ext-value allows single spaces between visible characters, never a tab (RFC 8461 §3.2).
        reader.syntax(number, f"the value of '{key}' contains a tab", "use spaces instead of tabs inside the value")
        return
    reader.extensions.append((key, value))


def _finish(reader: _Reader) -> PolicyParse:
    fields = {key: value for key, (value, _) in reader.first.items()}
    for key, example in (("version", "version: STSv1"), ("mode", "mode: testing"), ("max_age", "max_age: 86400")):
        if key not in fields:
            reader.syntax(None, f"the required '{key}' line is missing", f"add '{example}'")
    mode = fields.get("mode", "")
    if mode in ("testing", "enforce") and not reader.mx:
        reader.syntax(
            None,
            f"mode {mode} needs at least one 'mx:' line",
            "add an 'mx:' line for every MX host of the domain",
        )
    lenient = _lenient(fields, reader)
    policy = lenient if reader.valid else None
    return PolicyParse(policy, reader.findings, lenient)


def _lenient(fields: dict[str, str], reader: _Reader) -> PolicyFile | None:
    raw_age = fields.get("max_age", "")
    # isdigit() alone admits '²' and strings too long for int(); both would make the parser raise.
    if "mode" not in fields or not (raw_age.isascii() and raw_age.isdigit()) or len(raw_age) > 10:
        return None
    return PolicyFile(
        mode=fields["mode"],
        max_age=int(raw_age),
        mx=tuple(reader.mx),
        version=fields.get("version", ""),
        extensions=tuple(reader.extensions),
    )


def _zone_wide(pattern: str, domain: str | None) -> bool:
    """`*.<domain>`; with no domain known, a wildcard over a two-label name (`*.example.com`)."""
    if not pattern.startswith("*."):
        return False
    suffix = pattern[2:].lower()
    return suffix == domain.lower().rstrip(".") if domain else suffix.count(".") == 1


def policy_advice(policy: PolicyFile, *, subject: str = "mta-sts.txt", domain: str | None = None) -> list[Finding]:
    """Notes on a valid policy: the mode it is in, a max_age too short for enforce and a zone-wide
    wildcard pattern (SPEC §11.22, RFC 8461 §10.4)."""
    out: list[Finding] = [
        finding(
            "policy-mx-wildcard",
            f"the pattern '{pattern}' covers every host of the zone, not only its mail servers: any host there "
            "with a CA-signed certificate could receive your mail (RFC 8461 §10.4)",
            f"list the mail servers by name instead of '{pattern}' (one mx: line each)",
            subject=subject,
        )
        for pattern in policy.mx
        if _zone_wide(pattern, domain)
    ]
    if policy.mode == "testing":
        out.append(
            finding(
                "policy-mode-testing",
                "the policy is in testing mode: senders report TLS problems but still deliver",
                "watch the TLS reports for 2-4 weeks, then move to enforce (step 6)",
                subject=subject,
            )
        )
    elif policy.mode == "none":
        out.append(
            finding(
                "policy-mode-none",
                "the policy is in none mode: senders apply no MTA-STS rules",
                "keep it while removing MTA-STS; otherwise switch to testing",
                subject=subject,
            )
        )
    if policy.mode == "enforce" and policy.max_age < ONE_WEEK:
        out.append(
            finding(
                "policy-max-age-short",
                f"max_age is {policy.max_age} s, under a week, in enforce mode; senders re-fetch often and "
                "an attacker who blocks the fetch gets a short window of protection",
                "raise max_age to at least 604800 (one week), later to 1209600 or more",
                subject=subject,
            )
        )
    return out
