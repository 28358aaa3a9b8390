"""Property tests (hypothesis): round-trips, parsers that never raise, and matching against a reference.

The reference matcher below is written from SPEC §4.1 independently of wizard.mx: compare
label by label, where a `*` pattern label stands for exactly one non-empty host label
and may only be the left-most one.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from wizard.domain import DomainError, normalise_domain
from wizard.generate import split_txt
from wizard.mx import coverage, normalise_mx_host, pattern_matches, validate_mx_pattern
from wizard.policy import _ALIASES, _KNOWN, MAX_AGE_LIMIT, MODES, PolicyFile, parse_policy
from wizard.records import (
    StsRecord,
    TlsRptRecord,
    parse_sts_record,
    parse_tlsrpt_record,
    select_sts_record,
    select_tlsrpt_record,
    validate_rua_uri,
)

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies -----------------------------------------------------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def chars(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), min_size=min_size, max_size=max_size)


# [a-zA-Z0-9] ([a-zA-Z0-9-]{0,12} [a-zA-Z0-9])?   (plain builds: much faster than from_regex)
label = st.builds(
    lambda first, rest: first + (rest[0] + rest[1] if rest else ""),
    st.sampled_from(ALNUM),
    st.one_of(st.none(), st.tuples(chars(ALNUM + "-", 0, 12), st.sampled_from(ALNUM))),
)
tld = chars("abcdefghijklmnopqrstuvwxyz", 2, 6)
host = st.builds(lambda labels, top: ".".join([*labels, top]), st.lists(label, min_size=1, max_size=3), tld)
wildcard = host.map(lambda h: "*." + h)
mx_pattern = st.one_of(host, wildcard)

ext_name = st.builds(str.__add__, st.sampled_from(ALNUM), chars(ALNUM + "_.-", 0, 31))
ext_key = ext_name.filter(lambda k: k.lower() not in _KNOWN and k.lower() not in _ALIASES)
ext_value = (
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20)
    .map(lambda v: v.strip(" \t"))
    .filter(bool)
)


@st.composite
def policies(draw: st.DrawFn) -> PolicyFile:
    mode = draw(st.sampled_from(MODES))
    mx = draw(st.lists(mx_pattern, min_size=0 if mode == "none" else 1, max_size=5))
    return PolicyFile(
        mode=mode,
        max_age=draw(st.integers(0, MAX_AGE_LIMIT)),
        mx=tuple(mx),
        extensions=tuple(draw(st.lists(st.tuples(ext_key, ext_value), max_size=3))),
    )


txt_ext_value = chars("".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "=;"), 1, 20)


def txt_extensions(reserved: str) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    names = ext_name.filter(lambda n: n != reserved)
    return st.dictionaries(names, txt_ext_value, max_size=3).map(lambda d: tuple(d.items()))


sts_records = st.builds(StsRecord, chars(ALNUM, 1, 32), txt_extensions("id"))

local_part = st.builds(str.__add__, st.sampled_from(ALNUM), chars(ALNUM + "._+-", 0, 10))
rua_uri = st.one_of(
    st.builds(lambda lp, h: f"mailto:{lp}@{h}", local_part, host),
    st.builds(lambda h, p: f"https://{h}/{p}", host, chars(ALNUM + "/_.~-", 0, 20)),
)
tlsrpt_records = st.builds(TlsRptRecord, st.lists(rua_uri, min_size=1, max_size=4).map(tuple), txt_extensions("rua"))

# Text made of the pieces the grammars care about, so "arbitrary" input also gets near the interesting paths.
PIECES = [
    "v=STSv1", "v=TLSRPTv1", ";", " ", "\t", "id=", "rua=", "=", ",", "!", "mailto:", "https://", "http://", "[",
    "]", "@", "\n", "\r", "\r\n", "version:", "mode:", "mx:", "max_age:", "STSv1", "testing", "enforce", "none",
    "*.", "*", ".", ":", "#", "\ufeff", "²", "٣", "9" * 12, "-1", "é", "\x00", "xn--", "a", "Z", "0", "%2C", "/",
]  # fmt: skip
grammar_text = st.one_of(st.text(), st.lists(st.sampled_from(PIECES), max_size=30).map("".join))


def one_line(text: str) -> bool:
    """What a terminal shows as one line: no line breaks or control characters (a tab is allowed)."""
    return all(ch == "\t" or ch.isprintable() for ch in text)


# --- round trips ----------------------------------------------------------------------------------------------------


@FAST
@given(policies(), st.sampled_from(["\n", "\r\n"]))
def test_policy_round_trip(policy: PolicyFile, newline: str) -> None:
    parsed = parse_policy(policy.to_text(newline=newline))
    assert parsed.findings == []
    assert parsed.policy == policy


@FAST
@given(policies())
def test_policy_round_trip_through_utf8_bytes_without_final_newline(policy: PolicyFile) -> None:
    parsed = parse_policy(policy.to_text().rstrip("\n").encode("utf-8"))
    assert parsed.findings == []
    assert parsed.policy == policy


@FAST
@given(sts_records)
def test_sts_record_round_trip(record: StsRecord) -> None:
    assert parse_sts_record(record.to_text()) == (record, [])
    assert select_sts_record(["v=spf1 -all", record.to_text()], "_mta-sts.example.com") == (record, [])


@FAST
@given(tlsrpt_records)
def test_tlsrpt_record_round_trip(record: TlsRptRecord) -> None:
    assert parse_tlsrpt_record(record.to_text()) == (record, [])
    assert select_tlsrpt_record([record.to_text(), "x"], "_smtp._tls.example.com") == (record, [])


@FAST
@given(mx_pattern)
def test_generated_patterns_are_valid(pattern: str) -> None:
    assert validate_mx_pattern(pattern) is None


@FAST
@given(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=1200))
def test_split_txt_joins_back(value: str) -> None:
    strings = split_txt(value)
    assert "".join(strings) == value
    assert all(len(s.encode()) <= 255 for s in strings)
    assert all(len(s) == 255 for s in strings[:-1])


@FAST
@given(host)
def test_domain_normalising_is_idempotent_on_plain_names(name: str) -> None:
    typed = f"  {name.upper()}. "
    domain = normalise_domain(typed)
    assert domain.ascii == name.lower()
    assert normalise_domain(domain.ascii) == domain
    assert normalise_domain(domain.unicode) == domain


# --- never raise ----------------------------------------------------------------------------------------------------


@FAST
@given(grammar_text)
@example(text="v=STSv1\n\r")  # a line that is only a CR once raised IndexError
def test_parse_policy_never_raises_on_text(text: str) -> None:
    parsed = parse_policy(text)
    assert parsed.policy is None or parsed.findings is not None
    assert all(f.code in ("policy-syntax", "policy-max-age-range") for f in parsed.findings)
    assert all(one_line(f.message) and one_line(f.fix) for f in parsed.findings)
    if parsed.policy is None:
        assert any(f.severity == "error" for f in parsed.findings)


@FAST
@given(st.one_of(st.binary(), grammar_text.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_parse_policy_never_raises_on_bytes(data: bytes) -> None:
    parse_policy(data)


@FAST
@given(grammar_text)
def test_parse_sts_record_never_raises(text: str) -> None:
    record, findings = parse_sts_record(text)
    assert (record is None) == bool(findings)
    assert all(f.code == "sts-txt-invalid" for f in findings)
    assert all(one_line(f.message) and one_line(f.fix) for f in findings)
    if record is not None:
        assert text.startswith("v=STSv1;")
    select_sts_record([text, text[::-1]], "_mta-sts.example.com")


@FAST
@given(grammar_text)
def test_parse_tlsrpt_record_never_raises(text: str) -> None:
    record, findings = parse_tlsrpt_record(text)
    assert (record is None) == bool(findings)
    assert all(f.code in ("tlsrpt-invalid", "tlsrpt-rua-invalid") for f in findings)
    assert all(one_line(f.message) and one_line(f.fix) for f in findings)
    select_tlsrpt_record([text], "_smtp._tls.example.com")


@FAST
@given(grammar_text)
def test_validators_never_raise(text: str) -> None:
    for problem in (validate_mx_pattern(text), validate_rua_uri(text)):
        assert problem is None or (problem and one_line(problem))


@FAST
@given(grammar_text)
def test_normalise_domain_raises_only_domain_error(text: str) -> None:
    try:
        domain = normalise_domain(text)
    except DomainError as exc:
        assert str(exc) and one_line(str(exc))
    else:
        assert domain.ascii.isascii() and domain.ascii == domain.ascii.lower()
        assert not domain.ascii.endswith(".") and "." in domain.ascii


# --- matching against a reference -----------------------------------------------------------------------------------


def reference_match(pattern: str, name: str) -> bool:
    """SPEC §4.1 from scratch: label-wise ASCII case-insensitive, `*` = exactly one left-most label."""
    name = name[:-1] if name.endswith(".") else name
    want = pattern.lower().split(".")
    have = name.lower().split(".")
    if len(want) != len(have):
        return False
    for index, (w, h) in enumerate(zip(want, have, strict=True)):
        if w == "*" and index == 0:
            if not h:
                return False
        elif w != h:
            return False
    return True


@st.composite
def pattern_and_name(draw: st.DrawFn) -> tuple[str, str]:
    pattern = draw(mx_pattern)
    base = pattern[2:] if pattern.startswith("*.") else pattern
    name = draw(
        st.one_of(
            host,  # unrelated
            st.just(base),  # the apex of a wildcard
            st.builds(lambda lab: f"{lab}.{base}", label),  # one more label
            st.builds(lambda a, b: f"{a}.{b}.{base}", label, label),  # two more labels
            st.just(base.split(".", 1)[-1]),  # one label fewer
            st.just("." + base),  # an empty first label
        )
    )
    if draw(st.booleans()):
        name = "".join(c.upper() if draw(st.booleans()) else c for c in name)
    if draw(st.booleans()):
        name += "."
    return pattern, name


@FAST
@given(pattern_and_name())
def test_pattern_matches_agrees_with_reference(case: tuple[str, str]) -> None:
    pattern, name = case
    assert pattern_matches(pattern, name) is reference_match(pattern, name)


@FAST
@given(st.lists(mx_pattern, max_size=4), st.lists(pattern_and_name().map(lambda c: c[1]), max_size=5))
def test_coverage_is_consistent_with_the_reference(patterns: list[str], names: list[str]) -> None:
    assume(all(normalise_mx_host(n) for n in names))
    cov = coverage(patterns, names)
    hosts = {normalise_mx_host(n) for n in names}
    assert set(cov.covered) | set(cov.uncovered) == hosts
    assert not set(cov.covered) & set(cov.uncovered)
    for h in hosts:
        matching = [p for p in patterns if reference_match(p, h)]
        if matching:
            assert cov.covered[h] == matching
        else:
            assert h in cov.uncovered
    assert set(cov.unused) == {p for p in patterns if not any(reference_match(p, h) for h in hosts)}


def test_reference_matcher_follows_the_spec_examples() -> None:
    """The reference is only worth agreeing with if it gets SPEC §4.1's examples right itself."""
    assert reference_match("mail.example.com", "MAIL.example.com.")
    assert reference_match("*.example.com", "mail.example.com")
    assert not reference_match("*.example.com", "example.com")
    assert not reference_match("*.example.com", "a.b.example.com")
    assert not reference_match("*.example.com", ".example.com")
    assert not reference_match("mail.example.com", "mx.example.com")
