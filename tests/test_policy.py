"""The policy file parser and serialiser against RFC 8461 §3.2 as written in SPEC §3, §10 and §11.

Each rule gets its own test so a regression names the rule it broke. Findings are
checked by CONTRACT code and by what the user reads (the line number, the advice).
"""

from __future__ import annotations

import pytest

from wizard.findings import has_errors
from wizard.policy import MAX_AGE_LIMIT, ONE_WEEK, PolicyFile, parse_policy, policy_advice

GOOD_LINES = ["version: STSv1", "mode: testing", "mx: mail.example.com", "max_age: 86400"]
GOOD = "\n".join(GOOD_LINES) + "\n"


def with_line(replace: str | None = None, by: str | None = None, extra: str | None = None) -> str:
    """GOOD with the line starting `replace` swapped for `by` (or dropped), plus an optional extra line."""
    lines = []
    for line in GOOD_LINES:
        if replace is not None and line.startswith(replace):
            if by is not None:
                lines.append(by)
        else:
            lines.append(line)
    if extra is not None:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def codes(parsed) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in parsed.findings]


def only_finding(parsed):  # type: ignore[no-untyped-def]
    assert len(parsed.findings) == 1, [f.message for f in parsed.findings]
    return parsed.findings[0]


# --- valid files -----------------------------------------------------------------------------------------------


def test_good_lf_file_parses_to_the_policy_with_no_findings() -> None:
    parsed = parse_policy(GOOD)
    assert parsed.findings == []
    assert parsed.valid
    assert parsed.policy == PolicyFile(mode="testing", max_age=86400, mx=("mail.example.com",))


def test_crlf_file_parses_the_same_as_lf() -> None:
    parsed = parse_policy(GOOD.replace("\n", "\r\n"))
    assert parsed.findings == []
    assert parsed.policy == parse_policy(GOOD).policy


def test_mixed_lf_and_crlf_terminators_are_both_accepted() -> None:
    text = "version: STSv1\r\nmode: enforce\nmx: mail.example.com\r\nmax_age: 604800"
    parsed = parse_policy(text)
    assert parsed.findings == []
    assert parsed.policy is not None and parsed.policy.mode == "enforce"


def test_final_line_terminator_is_optional() -> None:
    parsed = parse_policy(GOOD.rstrip("\n"))
    assert parsed.findings == []
    assert parsed.policy == parse_policy(GOOD).policy


def test_rfc_appendix_a_example() -> None:
    text = (
        "version: STSv1\nmode: testing\nmx: mx1.example.com\nmx: mx2.example.com\n"
        "mx: mx.backup-example.com\nmax_age: 1296000\n"
    )
    parsed = parse_policy(text)
    assert parsed.findings == []
    assert parsed.policy is not None
    assert parsed.policy.mx == ("mx1.example.com", "mx2.example.com", "mx.backup-example.com")
    assert parsed.policy.max_age == 1296000


def test_order_of_fields_does_not_matter() -> None:
    text = "max_age: 86400\nmx: mail.example.com\nmode: testing\nversion: STSv1\n"
    parsed = parse_policy(text)
    assert parsed.findings == []
    assert parsed.policy == parse_policy(GOOD).policy


def test_any_whitespace_after_colon_and_trailing_whitespace_are_allowed() -> None:
    text = "version:STSv1\nmode:\t  enforce \t\nmx:   mail.example.com  \nmax_age:\t604800\t\n"
    parsed = parse_policy(text)
    assert parsed.findings == []
    assert parsed.policy == PolicyFile(mode="enforce", max_age=604800, mx=("mail.example.com",))


def test_wildcard_pattern_and_several_mx_lines_keep_file_order() -> None:
    parsed = parse_policy(with_line(extra="mx: *.backup.example.com"))
    assert parsed.findings == []
    assert parsed.policy is not None
    assert parsed.policy.mx == ("mail.example.com", "*.backup.example.com")


def test_bytes_input_is_decoded_as_utf8() -> None:
    parsed = parse_policy(GOOD.encode("ascii"))
    assert parsed.findings == []
    assert parsed.policy == parse_policy(GOOD).policy


# --- required fields per mode ----------------------------------------------------------------------------------


def test_mode_none_without_mx_is_valid() -> None:
    parsed = parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n")
    assert parsed.findings == []
    assert parsed.policy == PolicyFile(mode="none", max_age=86400, mx=())


@pytest.mark.parametrize("mode", ["testing", "enforce"])
def test_testing_and_enforce_need_an_mx_line(mode: str) -> None:
    parsed = parse_policy(f"version: STSv1\nmode: {mode}\nmax_age: 86400\n")
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.code == "policy-syntax"
    assert mode in finding.message and "mx" in finding.message
    assert "mx:" in finding.fix


@pytest.mark.parametrize(("key", "example"), [("version", "STSv1"), ("mode", "mode:"), ("max_age", "max_age:")])
def test_each_required_field_missing_is_reported_and_makes_the_policy_unusable(key: str, example: str) -> None:
    parsed = parse_policy(with_line(key, None))
    assert parsed.policy is None
    assert "policy-syntax" in codes(parsed)
    missing = [f for f in parsed.findings if f"'{key}'" in f.message and "missing" in f.message]
    assert len(missing) == 1
    assert example in missing[0].fix


def test_empty_file_is_reported_not_raised() -> None:
    for text in ("", "   ", b""):
        parsed = parse_policy(text)
        assert parsed.policy is None
        assert codes(parsed) == ["policy-syntax"]
        assert "empty" in parsed.findings[0].message


# --- case sensitivity (SPEC §11.13) -----------------------------------------------------------------------------


def test_capitalised_key_is_not_mode_and_the_policy_fails() -> None:
    parsed = parse_policy(with_line("mode:", "Mode: testing"))
    assert parsed.policy is None
    line_finding = [f for f in parsed.findings if f.line == 2]
    assert len(line_finding) == 1
    assert "line 2" in line_finding[0].message
    assert "case-sensitive" in line_finding[0].message
    assert "mode: testing" in line_finding[0].fix


def test_mode_value_in_wrong_case_says_write_lower_case() -> None:
    parsed = parse_policy(with_line("mode:", "mode: Enforce"))
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.code == "policy-syntax" and finding.line == 2
    assert "line 2" in finding.message and "Enforce" in finding.message
    assert "mode: enforce" in finding.fix


def test_draft_mode_report_is_rejected_with_advice_to_use_testing() -> None:
    parsed = parse_policy(with_line("mode:", "mode: report"))
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.line == 2 and "line 2" in finding.message
    assert "mode: testing" in finding.fix and "draft" in finding.fix


def test_version_value_is_case_sensitive() -> None:
    parsed = parse_policy(with_line("version:", "version: STSV1"))
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.code == "policy-syntax" and finding.line == 1
    assert "line 1" in finding.message and "case-sensitive" in finding.message
    assert finding.fix == "write 'version: STSv1'"


def test_unknown_version_is_rejected() -> None:
    parsed = parse_policy(with_line("version:", "version: STSv2"))
    assert parsed.policy is None
    assert only_finding(parsed).line == 1


def test_max_hyphen_age_is_not_max_age() -> None:
    parsed = parse_policy(with_line("max_age:", "max-age: 86400"))
    assert parsed.policy is None
    hyphen = [f for f in parsed.findings if f.line == 4]
    assert len(hyphen) == 1
    assert "max-age" in hyphen[0].message and "line 4" in hyphen[0].message
    assert "max_age: 86400" in hyphen[0].fix
    # and the real max_age is still missing
    assert any("'max_age'" in f.message and "missing" in f.message for f in parsed.findings)


def test_known_key_in_upper_case_is_flagged() -> None:
    parsed = parse_policy(with_line("mx:", "MX: mail.example.com"))
    assert parsed.policy is None
    assert any(f.line == 3 and "mx: mail.example.com" in f.fix for f in parsed.findings)


# --- duplicates and extensions ----------------------------------------------------------------------------------


def test_first_duplicate_wins_with_a_finding_naming_both_lines() -> None:
    parsed = parse_policy(with_line(extra="mode: enforce"))
    assert parsed.policy is not None
    assert parsed.policy.mode == "testing"
    finding = only_finding(parsed)
    assert finding.code == "policy-syntax"
    assert finding.line == 5
    assert "line 5" in finding.message and "first on line 2" in finding.message
    assert "single 'mode:'" in finding.fix


def test_duplicate_max_age_keeps_the_first_even_if_the_second_is_garbage() -> None:
    parsed = parse_policy(with_line(extra="max_age: forever"))
    assert parsed.policy is not None and parsed.policy.max_age == 86400
    assert [f.line for f in parsed.findings] == [5]


def test_duplicate_version_keeps_the_first() -> None:
    parsed = parse_policy("version: STSv1\nversion: STSv1\nmode: none\nmax_age: 0\n")
    assert parsed.policy is not None
    assert [f.line for f in parsed.findings] == [2]


def test_several_mx_lines_are_not_duplicates() -> None:
    parsed = parse_policy(with_line(extra="mx: mail2.example.com"))
    assert parsed.findings == []


def test_unknown_extension_keys_are_kept_and_ignored() -> None:
    parsed = parse_policy(with_line(extra="x-note_1.a: made by me, 2026 ünïcode ok"))
    assert parsed.findings == []
    assert parsed.policy is not None
    assert parsed.policy.extensions == (("x-note_1.a", "made by me, 2026 ünïcode ok"),)
    assert parsed.policy.mode == "testing" and parsed.policy.mx == ("mail.example.com",)


def test_extension_key_outside_the_grammar_makes_the_file_invalid() -> None:
    for bad_key in ("_x", "-x", "a" * 33, "x y", "é"):
        parsed = parse_policy(with_line(extra=f"{bad_key}: 1"))
        assert parsed.policy is None, bad_key
        assert [f.line for f in parsed.findings] == [5], bad_key
        assert "line 5" in parsed.findings[0].message


def test_extension_key_of_32_chars_is_fine() -> None:
    parsed = parse_policy(with_line(extra=f"{'a' * 32}: 1"))
    assert parsed.findings == []


def test_extension_without_value_is_reported() -> None:
    parsed = parse_policy(with_line(extra="comment:"))
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.line == 5 and "comment" in finding.message


# --- max_age (SPEC §3, §10 erratum 7282, §11.14) -----------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 604800, MAX_AGE_LIMIT])
def test_max_age_in_range_is_accepted(value: int) -> None:
    parsed = parse_policy(with_line("max_age:", f"max_age: {value}"))
    assert parsed.findings == []
    assert parsed.policy is not None and parsed.policy.max_age == value


def test_max_age_limit_is_one_year() -> None:
    assert MAX_AGE_LIMIT == 31557600


@pytest.mark.parametrize("value", [str(MAX_AGE_LIMIT + 1), "9999999999", "12345678901", "-1", "-86400"])
def test_max_age_out_of_range_is_a_range_error(value: str) -> None:
    parsed = parse_policy(with_line("max_age:", f"max_age: {value}"))
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.code == "policy-max-age-range"
    assert finding.line == 4 and "line 4" in finding.message
    assert str(MAX_AGE_LIMIT) in finding.fix


@pytest.mark.parametrize("value", ["1w", "86400s", "1.5", "+5", "-", "1 000", "0x10", "١٢", "²", "forever", ""])
def test_max_age_that_is_not_a_number_is_a_syntax_error(value: str) -> None:
    parsed = parse_policy(with_line("max_age:", f"max_age: {value}"))
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.code == "policy-syntax"
    assert finding.line == 4 and "line 4" in finding.message
    assert "seconds" in finding.fix


def test_eleven_digit_max_age_is_rejected_even_when_small() -> None:
    parsed = parse_policy(with_line("max_age:", "max_age: 00000086400"))
    assert parsed.policy is None
    assert only_finding(parsed).line == 4


def test_ten_digit_max_age_with_leading_zeros_is_fine() -> None:
    parsed = parse_policy(with_line("max_age:", "max_age: 0000086400"))
    assert parsed.findings == []
    assert parsed.policy is not None and parsed.policy.max_age == 86400


def test_huge_max_age_does_not_crash() -> None:
    parsed = parse_policy(with_line("max_age:", "max_age: " + "9" * 5000))
    assert parsed.policy is None
    assert only_finding(parsed).code == "policy-max-age-range"


# --- mx values (SPEC §3, §11.16) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("mail.example.com, mail2.example.com", "own 'mx:' line"),
        ("mail.example.com.", "trailing dot"),
        ("*example.com", "*.example.com"),
        ("*.*.example.com", "one leading"),
        ("**.example.com", "'*.'"),
        ("mail.*.com", "'*.'"),
        ("ma*l.example.com", "'*.'"),
        ("192.0.2.25", "IP address"),
        ("[192.0.2.25]", "address"),
        ("2001:db8::25", "address"),
        ("mail.example.com:25", "port"),
        ("https://mail.example.com/", "URL"),
        ("smtp://mail.example.com", "URL"),
        ("mäil.example.com", "A-labels"),
        ("mail_1.example.com", "not a valid host name"),
        ("-mail.example.com", "not a valid host name"),
        ("mail..example.com", "not a valid host name"),
        ("localhost", "single label"),
        ("", "empty"),
    ],
)
def test_malformed_mx_values_are_rejected_naming_the_line(value: str, hint: str) -> None:
    parsed = parse_policy(with_line("mx:", f"mx: {value}"))
    assert parsed.policy is None
    line3 = [f for f in parsed.findings if f.line == 3]
    assert len(line3) == 1, [f.message for f in parsed.findings]
    assert line3[0].code == "policy-syntax"
    assert line3[0].message.startswith("line 3: ")
    assert hint in line3[0].message


def test_a_bad_mx_line_next_to_a_good_one_still_invalidates_the_policy() -> None:
    parsed = parse_policy(with_line(extra="mx: mail2.example.com."))
    assert parsed.policy is None
    assert parsed.lenient is not None and parsed.lenient.mx == ("mail.example.com",)


def test_a_label_mx_is_accepted() -> None:
    parsed = parse_policy(with_line("mx:", "mx: xn--mil-via.xn--bcher-kva.example"))
    assert parsed.findings == []


# --- layout pitfalls (SPEC §3, §11.15) ---------------------------------------------------------------------------


def test_indented_line_is_reported_with_the_line_as_it_should_be() -> None:
    parsed = parse_policy(with_line("mode:", "  mode: testing"))
    assert parsed.policy is None
    # the indented line is not read, so senders also see no mode
    finding, missing = parsed.findings
    assert missing.line is None and "'mode'" in missing.message
    assert finding.line == 2 and "line 2" in finding.message and "indented" in finding.message
    assert "'mode: testing'" in finding.fix


def test_indented_long_or_invisible_line_is_quoted_clipped_and_escaped() -> None:
    parsed = parse_policy("  x-note: " + "y" * 5000 + "\n \ufeff\n")
    assert [f.line for f in parsed.findings[:2]] == [1, 2]
    assert len(parsed.findings[0].fix) < 120
    assert parsed.findings[1].fix.isprintable()


def test_tab_indentation_is_reported() -> None:
    parsed = parse_policy(with_line("mx:", "\tmx: mail.example.com"))
    assert parsed.policy is None
    assert [f.line for f in parsed.findings] == [3, None]
    assert "needs at least one 'mx:'" in parsed.findings[1].message


def test_space_before_colon_is_reported() -> None:
    parsed = parse_policy(with_line("mode:", "mode : testing"))
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.line == 2 and "line 2" in finding.message
    assert "'mode:'" in finding.fix


def test_blank_line_is_reported() -> None:
    text = "version: STSv1\n\nmode: testing\nmx: mail.example.com\nmax_age: 86400\n"
    parsed = parse_policy(text)
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.line == 2 and "blank" in finding.message and "line 2" in finding.message


def test_whitespace_only_line_counts_as_blank() -> None:
    parsed = parse_policy(with_line(extra=" \t "))
    assert parsed.policy is None
    assert only_finding(parsed).line == 5


def test_trailing_blank_line_is_reported() -> None:
    parsed = parse_policy(GOOD + "\n")
    assert parsed.policy is None
    assert only_finding(parsed).line == 5


def test_comment_line_is_reported() -> None:
    parsed = parse_policy("# our policy\n" + GOOD)
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.line == 1 and "comment" in finding.message and "'#'" in finding.fix


def test_utf8_bom_is_reported_in_text_and_bytes() -> None:
    for data in ("\ufeff" + GOOD, b"\xef\xbb\xbf" + GOOD.encode()):
        parsed = parse_policy(data)
        assert parsed.policy is None
        finding = only_finding(parsed)
        assert finding.line == 1 and "BOM" in finding.message and "line 1" in finding.message


def test_bare_cr_inside_a_line_is_reported() -> None:
    parsed = parse_policy("version: STSv1\rmode: testing\nmx: mail.example.com\nmax_age: 86400\n")
    assert parsed.policy is None
    bare = [f for f in parsed.findings if f.line == 1]
    assert len(bare) == 1 and "CR" in bare[0].message


def test_cr_only_line_endings_are_not_accepted() -> None:
    parsed = parse_policy(GOOD.replace("\n", "\r"))
    assert parsed.policy is None
    assert any("CR" in f.message for f in parsed.findings)


def test_control_characters_are_reported() -> None:
    parsed = parse_policy(with_line("mode:", "mode: test\x00ing"))
    assert parsed.policy is None
    assert [f.line for f in parsed.findings] == [2, None]
    assert "control" in parsed.findings[0].message


def test_line_without_colon_is_reported() -> None:
    parsed = parse_policy(with_line(extra="mx mail2.example.com"))
    assert parsed.policy is None
    finding = only_finding(parsed)
    assert finding.line == 5 and "key: value" in finding.message


def test_invalid_utf8_bytes_are_reported_not_raised() -> None:
    parsed = parse_policy(GOOD.encode() + b"x-note: \xff\xfe\n")
    assert parsed.policy is None
    assert any("UTF-8" in f.message for f in parsed.findings)


def test_every_line_finding_names_its_line_and_has_a_fix() -> None:
    text = "\ufeff  version: STSv1\nmode : testing\n\n# c\nmx: a.example.com.\nmax_age: 1w\nMode: x\n"
    parsed = parse_policy(text)
    assert parsed.policy is None
    line_findings = [f for f in parsed.findings if f.line is not None]
    assert {f.line for f in line_findings} == {1, 2, 3, 4, 5, 6, 7}
    for f in line_findings:
        assert f"line {f.line}" in f.message
        assert f.fix
        assert "\n" not in f.message and "\n" not in f.fix
    assert all(f.code in ("policy-syntax", "policy-max-age-range") for f in parsed.findings)


# --- lenient reading of broken files ------------------------------------------------------------------------------


def test_lenient_reading_shows_what_is_there() -> None:
    parsed = parse_policy(with_line("version:", "version: STSv2"))
    assert parsed.policy is None
    assert parsed.lenient == PolicyFile(mode="testing", max_age=86400, mx=("mail.example.com",), version="STSv2")


def test_lenient_reading_with_non_ascii_digit_max_age_does_not_crash() -> None:
    parsed = parse_policy(with_line("max_age:", "max_age: ²"))
    assert parsed.policy is None
    assert parsed.lenient is None


# --- serialisation ------------------------------------------------------------------------------------------------


def test_to_text_is_the_rfc_order_with_one_mx_per_line_and_final_newline() -> None:
    policy = PolicyFile(mode="enforce", max_age=604800, mx=("a.example.com", "*.b.example.com"))
    assert policy.to_text() == (
        "version: STSv1\nmode: enforce\nmx: a.example.com\nmx: *.b.example.com\nmax_age: 604800\n"
    )


def test_to_text_with_crlf_and_extensions_parses_back() -> None:
    policy = PolicyFile(mode="none", max_age=0, extensions=(("x-by", "mta-sts-wizard 0.1"),))
    text = policy.to_text(newline="\r\n")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    parsed = parse_policy(text)
    assert parsed.findings == []
    assert parsed.policy == policy


def test_same_as_ignores_mx_order_and_case_but_not_mode() -> None:
    a = PolicyFile(mode="testing", max_age=86400, mx=("A.example.com", "b.example.com"))
    b = PolicyFile(mode="testing", max_age=86400, mx=("b.example.com", "a.example.com"))
    assert a.same_as(b)
    assert not a.same_as(PolicyFile(mode="enforce", max_age=86400, mx=a.mx))
    assert not a.same_as(PolicyFile(mode="testing", max_age=86401, mx=a.mx))
    assert not a.same_as(None)


# --- advice on valid policies (SPEC §11.22) -----------------------------------------------------------------------


def test_advice_for_testing_mode_is_info() -> None:
    advice = policy_advice(PolicyFile(mode="testing", max_age=86400, mx=("m.example.com",)))
    assert [(f.code, f.severity) for f in advice] == [("policy-mode-testing", "info")]
    assert not has_errors(advice)


def test_advice_for_none_mode_is_info() -> None:
    advice = policy_advice(PolicyFile(mode="none", max_age=86400))
    assert [(f.code, f.severity) for f in advice] == [("policy-mode-none", "info")]


def test_short_max_age_in_enforce_is_a_warning() -> None:
    advice = policy_advice(PolicyFile(mode="enforce", max_age=ONE_WEEK - 1, mx=("m.example.com",)))
    assert [(f.code, f.severity) for f in advice] == [("policy-max-age-short", "warning")]
    assert str(ONE_WEEK - 1) in advice[0].message and "604800" in advice[0].fix


def test_week_long_max_age_in_enforce_gets_no_advice() -> None:
    assert policy_advice(PolicyFile(mode="enforce", max_age=ONE_WEEK, mx=("m.example.com",))) == []


def test_short_max_age_outside_enforce_is_not_flagged() -> None:
    advice = policy_advice(PolicyFile(mode="testing", max_age=60, mx=("m.example.com",)))
    assert "policy-max-age-short" not in [f.code for f in advice]


def test_a_cased_key_beside_the_proper_one_is_reported_but_the_policy_stays_valid() -> None:
    # SPEC §3: 'Mode:' is an unknown extension to senders; with 'mode:' present the file is valid.
    parsed = parse_policy("version: STSv1\nmode: testing\nMode: enforce\nmx: a.example.com\nmax_age: 86400\n")
    assert parsed.policy is not None and parsed.policy.mode == "testing"
    assert [f.line for f in parsed.findings] == [3]


def test_a_cr_ending_the_last_unterminated_line_is_a_bare_cr() -> None:
    parsed = parse_policy("version: STSv1\nmode: testing\nmx: a.example.com\nmax_age: 1\r")
    assert parsed.policy is None
    assert [(f.line, "bare CR" in f.message) for f in parsed.findings] == [(4, True)]


def test_a_tab_inside_an_extension_value_breaks_the_grammar() -> None:
    parsed = parse_policy("version: STSv1\nmode: testing\nmx: a.example.com\nmax_age: 1\nfoo: a\tb\n")
    assert parsed.policy is None
    assert parsed.findings[0].line == 5 and "tab" in parsed.findings[0].message


def test_zone_wide_wildcard_warns_only_for_the_domain_itself() -> None:
    """RFC 8461 §10.4: `*.<domain>` trusts every host of the zone (CONTRACT policy-mx-wildcard)."""
    policy = PolicyFile("enforce", 1209600, ("*.example.com", "*.mx.example.com", "mail.example.com"))
    advice = policy_advice(policy, domain="example.com")
    assert [f.code for f in advice] == ["policy-mx-wildcard"]
    assert advice[0].severity == "warning" and "'*.example.com'" in advice[0].message
