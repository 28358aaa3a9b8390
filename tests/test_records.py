"""The `_mta-sts` and `_smtp._tls` TXT records: grammar (SPEC §1, §6), errata (§10) and pitfalls (§11.2-5, 24)."""

from __future__ import annotations

import pytest

from wizard.records import (
    StsRecord,
    TlsRptRecord,
    join_txt_strings,
    parse_sts_record,
    parse_tlsrpt_record,
    select_sts_record,
    select_tlsrpt_record,
    validate_rua_uri,
)

STS_NAME = "_mta-sts.example.com"
TLSRPT_NAME = "_smtp._tls.example.com"


def sts_codes(value: str) -> list[str]:
    return [f.code for f in parse_sts_record(value)[1]]


# --- _mta-sts: the mox examples of SPEC §1 ---------------------------------------------------------------------


def test_mox_valid_example() -> None:
    assert parse_sts_record("v=STSv1; id=a") == (StsRecord("a"), [])


@pytest.mark.parametrize("value", ["v=STSv1;", "v=STSv1; id=test-123", "v=STSv1; id=" + "a" * 33, "v=STSv1; id=a;;"])
def test_mox_invalid_examples(value: str) -> None:
    record, findings = parse_sts_record(value)
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]
    assert findings[0].fix


@pytest.mark.parametrize("extension", ["test==", "more="])
def test_mox_invalid_extension_examples(extension: str) -> None:
    record, findings = parse_sts_record(f"v=STSv1; id=a; {extension}")
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]
    assert extension in findings[0].message


# --- _mta-sts: the id --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["2024-05-01", "v1.2", "12:00", "a_b", ""])
def test_id_with_punctuation_or_empty_is_rejected(bad_id: str) -> None:
    record, findings = parse_sts_record(f"v=STSv1; id={bad_id}")
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]


@pytest.mark.parametrize("bad_id", ["2024-05-01", "v1.2", "12:00", "a_b"])
def test_id_message_says_what_is_allowed(bad_id: str) -> None:
    finding = parse_sts_record(f"v=STSv1; id={bad_id}")[1][0]
    assert bad_id in finding.message
    assert "1 to 32 letters and digits" in finding.message


def test_id_of_32_alphanumerics_is_valid() -> None:
    value = "v=STSv1; id=" + "Ab1" * 10 + "Zz"
    record, findings = parse_sts_record(value)
    assert findings == []
    assert record is not None and len(record.id) == 32


def test_id_with_trailing_newline_is_rejected() -> None:
    record, findings = parse_sts_record("v=STSv1; id=abc\n")
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]


def test_missing_id_is_reported() -> None:
    record, findings = parse_sts_record("v=STSv1; foo=bar")
    assert record is None
    assert "no id" in findings[0].message


def test_id_is_case_sensitive_key() -> None:
    record, findings = parse_sts_record("v=STSv1; ID=abc")
    assert record is None
    assert "no id" in findings[0].message


def test_first_id_wins() -> None:
    record, findings = parse_sts_record("v=STSv1; id=first; id=second")
    assert findings == []
    assert record == StsRecord("first")


# --- _mta-sts: version, delimiters, errata ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["v=STSV1; id=a", " v=STSv1; id=a", "v = STSv1; id=a", '"v=STSv1; id=a"', "V=STSv1; id=a", "id=a; v=STSv1"],
)
def test_record_not_starting_exactly_v_stsv1_is_invalid(value: str) -> None:
    record, findings = parse_sts_record(value)
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]
    assert "v=STSv1" in findings[0].fix


@pytest.mark.parametrize("value", ["v=STSV1; id=a", '"v=STSv1; id=a"', "v = STSv1; id=a"])
def test_near_miss_version_fix_mentions_case_spaces_and_quotes(value: str) -> None:
    finding = parse_sts_record(value)[1][0]
    assert "case- and space-sensitive" in finding.fix


def test_version_with_suffix_is_invalid() -> None:
    assert sts_codes("v=STSv10; id=a") == ["sts-txt-invalid"]


def test_erratum_6285_space_before_semicolon_is_flagged() -> None:
    record, findings = parse_sts_record("v=STSv1 ; id=a")
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]
    assert "6285" in findings[0].message
    assert "'v=STSv1; id=" in findings[0].fix


def test_version_alone_says_the_id_is_missing_not_a_space_problem() -> None:
    record, findings = parse_sts_record("v=STSv1")
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]
    assert "6285" not in findings[0].message
    assert "no id" in findings[0].message


@pytest.mark.parametrize(
    "value",
    ["v=STSv1;id=a", "v=STSv1; id=a;", "v=STSv1;\tid=a ;", "v=STSv1;  id=a  ;  x=1", "v=STSv1; x=1; id=a"],
)
def test_whitespace_around_semicolons_and_trailing_semicolon_are_allowed(value: str) -> None:
    record, findings = parse_sts_record(value)
    assert findings == []
    assert record is not None and record.id == "a"


@pytest.mark.parametrize("value", ["v=STSv1; id= a", "v=STSv1; id =a", "v=STSv1; id=a b", "v=STSv1; id=a "])
def test_whitespace_around_equals_or_inside_a_value_is_invalid(value: str) -> None:
    assert sts_codes(value) == ["sts-txt-invalid"]


def test_non_ascii_record_is_invalid() -> None:
    record, findings = parse_sts_record("v=STSv1; id=a; note=café")
    assert record is None
    assert "ASCII" in findings[0].message


def test_extension_fields_are_kept_first_wins_and_ignored() -> None:
    record, findings = parse_sts_record("v=STSv1; id=abc; x-ext_1.z=val!ue; x-ext_1.z=second; other=1")
    assert findings == []
    assert record == StsRecord("abc", (("x-ext_1.z", "val!ue"), ("other", "1")))


@pytest.mark.parametrize("field", ["_x=1", "-x=1", "a" * 33 + "=1", "x=a;b"[:-2] + "=", "x=1=2", "x"])
def test_bad_extension_fields_are_invalid(field: str) -> None:
    assert sts_codes(f"v=STSv1; id=a; {field}") == ["sts-txt-invalid"]


def test_sts_to_text_is_the_erratum_safe_form() -> None:
    assert StsRecord("20261128T120000").to_text() == "v=STSv1; id=20261128T120000"
    assert StsRecord("a", (("x", "1"),)).to_text() == "v=STSv1; id=a; x=1"


# --- joining character-strings (SPEC §1, pitfall 5) --------------------------------------------------------------


def test_join_adds_no_space() -> None:
    assert join_txt_strings(["v=STSv1; id=ab", "cd"]) == "v=STSv1; id=abcd"
    assert join_txt_strings([b"v=STSv1; ", b"id=ab", b"cd"]) == "v=STSv1; id=abcd"


def test_joined_strings_parse_to_the_concatenated_id() -> None:
    record, findings = parse_sts_record(join_txt_strings([b"v=STSv1; id=ab", b"cd"]))
    assert findings == []
    assert record == StsRecord("abcd")


def test_join_of_nothing_is_empty() -> None:
    assert join_txt_strings([]) == ""


# --- the count rule at _mta-sts (SPEC §1, pitfall 4) ------------------------------------------------------------


def test_no_record_is_missing() -> None:
    record, findings = select_sts_record([], STS_NAME)
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-missing"]
    assert findings[0].subject == STS_NAME
    assert STS_NAME in findings[0].message and STS_NAME in findings[0].fix


def test_only_unrelated_records_is_missing() -> None:
    record, findings = select_sts_record(["v=spf1 -all", "google-site-verification=xyz"], STS_NAME)
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-missing"]


def test_one_record_among_unrelated_ones_is_used() -> None:
    record, findings = select_sts_record(["v=spf1 -all", "v=STSv1; id=abc", "hello"], STS_NAME)
    assert findings == []
    assert record == StsRecord("abc")


def test_two_records_mean_no_policy() -> None:
    record, findings = select_sts_record(["v=STSv1; id=old", "v=STSv1; id=new"], STS_NAME)
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-multiple"]
    assert "2" in findings[0].message


def test_one_invalid_record_is_invalid() -> None:
    record, findings = select_sts_record(["v=STSv1; id=2024-05-01"], STS_NAME)
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]
    assert findings[0].subject == STS_NAME


def test_erratum_spacing_record_is_not_counted_but_is_explained() -> None:
    record, findings = select_sts_record(["v=STSv1 ; id=a"], STS_NAME)
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]
    assert "6285" in findings[0].message


def test_wrong_case_version_is_explained_not_called_missing() -> None:
    record, findings = select_sts_record(["v=STSV1; id=a"], STS_NAME)
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]


def test_a_valid_record_next_to_a_spacing_variant_counts_once() -> None:
    record, findings = select_sts_record(["v=STSv1; id=a", "v=STSv1 ; id=b"], STS_NAME)
    assert findings == []
    assert record == StsRecord("a")


# --- _smtp._tls --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rua"),
    [
        ("v=TLSRPTv1;rua=mailto:reports@example.com", ("mailto:reports@example.com",)),
        ("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt", ("https://reporting.example.com/v1/tlsrpt",)),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com , \thttps://r.example.com/x;",
            ("mailto:a@example.com", "https://r.example.com/x"),
        ),
    ],
)
def test_valid_tlsrpt_records(value: str, rua: tuple[str, ...]) -> None:
    record, findings = parse_tlsrpt_record(value)
    assert findings == []
    assert record == TlsRptRecord(rua)


def test_tlsrpt_extensions_are_kept() -> None:
    record, findings = parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@example.com; x-y=z")
    assert findings == []
    assert record == TlsRptRecord(("mailto:a@example.com",), (("x-y", "z"),))


def test_tlsrpt_without_rua_is_invalid() -> None:
    record, findings = parse_tlsrpt_record("v=TLSRPTv1; x=y")
    assert record is None
    assert [f.code for f in findings] == ["tlsrpt-invalid"]
    assert "rua" in findings[0].message


@pytest.mark.parametrize(
    "value",
    ["v=TLSRPTv1", "v=tlsrptv1; rua=mailto:a@example.com", "v=TLSRPTv1 ; rua=mailto:a@example.com", "rua=x"],
)
def test_tlsrpt_not_beginning_exactly_is_invalid(value: str) -> None:
    record, findings = parse_tlsrpt_record(value)
    assert record is None
    assert [f.code for f in findings] == ["tlsrpt-invalid"]
    assert "v=TLSRPTv1;" in findings[0].message


def test_tlsrpt_empty_field_is_invalid() -> None:
    record, findings = parse_tlsrpt_record("v=TLSRPTv1;; rua=mailto:a@example.com")
    assert record is None
    assert "empty field" in findings[0].message


def test_several_rua_fields_are_flagged_with_advice_to_merge() -> None:
    # The grammar allows it (SPEC §6), so the record is still read, with every address kept.
    record, findings = parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com")
    assert record is not None and record.rua == ("mailto:a@example.com", "mailto:b@example.com")
    assert [f.code for f in findings] == ["tlsrpt-rua-repeated"]
    assert "2 rua= fields" in findings[0].message and "single rua=" in findings[0].fix


@pytest.mark.parametrize(
    ("uri", "expect"),
    [
        ("tlsrpt@example.com", "mailto:tlsrpt@example.com"),
        ("http://reports.example.com/tlsrpt", "http:"),
        ("mailto:reports!10m@example.com", "%21"),
        ("ftp://example.com/x", "ftp:"),
        ("mailto:", "no valid e-mail"),
        ("mailto:nobody", "no valid e-mail"),
        ("https:reports.example.com", "no valid host"),
        ("https://", "no valid host"),
        ("https://localhost/x", "no valid host"),
        ("mailto:a b@example.com", "spaces"),
        ("mailto:tlsrpt@exämple.com", "non-ASCII"),
        ("", "empty"),
        ("reports", "not a URI"),
    ],
)
def test_bad_rua_uris_say_what_to_write(uri: str, expect: str) -> None:
    problem = validate_rua_uri(uri)
    assert problem is not None
    assert expect in problem
    assert "\n" not in problem


@pytest.mark.parametrize(
    "uri",
    [
        "mailto:tlsrpt@example.com",
        "MAILTO:tlsrpt@example.com",
        "mailto:tls%2Brpt@example.com",
        "mailto:reports%2110m@example.com",
        "mailto:tlsrpt@example.com?subject=tls",
        "https://reporting.example.com/v1/tlsrpt",
        "https://reporting.example.com:8443/x?y=%2C",
    ],
)
def test_good_rua_uris(uri: str) -> None:
    assert validate_rua_uri(uri) is None


@pytest.mark.parametrize("uri", ["mailto:a@example.com\n", "https://[::1/x", "https://ex]ample.com/"])
def test_odd_rua_uris_are_rejected_not_raised(uri: str) -> None:
    assert validate_rua_uri(uri) is not None


def test_unencoded_bang_in_record_is_a_rua_finding() -> None:
    record, findings = parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:reports@example.com!10m")
    assert record is None
    assert [f.code for f in findings] == ["tlsrpt-rua-invalid"]


def test_unencoded_semicolon_in_uri_breaks_the_record() -> None:
    record, findings = parse_tlsrpt_record("v=TLSRPTv1; rua=https://r.example.com/a;b")
    assert record is None
    assert [f.code for f in findings] == ["tlsrpt-invalid"]


def test_each_bad_uri_in_the_list_is_reported() -> None:
    record, findings = parse_tlsrpt_record("v=TLSRPTv1; rua=a@example.com,http://r.example.com/,mailto:ok@example.com")
    assert record is None
    assert [f.code for f in findings] == ["tlsrpt-rua-invalid", "tlsrpt-rua-invalid"]
    assert "mailto:a@example.com" in findings[0].message
    assert "http:" in findings[1].message


def test_bracketed_https_host_does_not_crash_the_record_parser() -> None:
    record, findings = parse_tlsrpt_record("v=TLSRPTv1; rua=https://[x")
    assert record is None
    assert [f.code for f in findings] == ["tlsrpt-rua-invalid"]


def test_tlsrpt_to_text() -> None:
    record = TlsRptRecord(("mailto:a@example.com", "https://r.example.com/x"))
    assert record.to_text() == "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x"
    assert parse_tlsrpt_record(record.to_text()) == (record, [])


# --- the count rule at _smtp._tls ---------------------------------------------------------------------------------


def test_tlsrpt_missing_is_a_warning() -> None:
    record, findings = select_tlsrpt_record(["v=spf1 -all"], TLSRPT_NAME)
    assert record is None
    assert [(f.code, f.severity) for f in findings] == [("tlsrpt-missing", "warning")]
    assert TLSRPT_NAME in findings[0].fix


def test_tlsrpt_one_among_unrelated_is_used() -> None:
    record, findings = select_tlsrpt_record(["hello", "v=TLSRPTv1; rua=mailto:a@example.com"], TLSRPT_NAME)
    assert findings == []
    assert record == TlsRptRecord(("mailto:a@example.com",))


def test_tlsrpt_multiple_records() -> None:
    values = ["v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"]
    record, findings = select_tlsrpt_record(values, TLSRPT_NAME)
    assert record is None
    assert [f.code for f in findings] == ["tlsrpt-multiple"]
    assert "rua= list" in findings[0].fix


def test_tlsrpt_near_miss_is_explained() -> None:
    record, findings = select_tlsrpt_record(["v=TLSRPTV1; rua=mailto:a@example.com"], TLSRPT_NAME)
    assert record is None
    assert [f.code for f in findings] == ["tlsrpt-invalid"]
    assert findings[0].subject == TLSRPT_NAME


@pytest.mark.parametrize("uri", ["mailto:a\n@example.com", "a\x00@example.com", "https://r.example.com/\x1b", "\n"])
def test_rua_messages_with_control_characters_stay_one_printable_line(uri: str) -> None:
    problem = validate_rua_uri(uri)
    assert problem is not None and problem.isprintable()


@pytest.mark.parametrize("value", ["v=STSv2\n; id=a", "v=STSv1; id=a\nb", "v=STSv1; id=a; x=\r\n"])
def test_sts_messages_quote_newlines_escaped(value: str) -> None:
    record, findings = parse_sts_record(value)
    assert record is None
    assert findings[0].message.isprintable() and findings[0].render().isprintable()


@pytest.mark.parametrize(
    ("value", "corrected"),
    [
        ("id=20261205T120000; v=STSv1", "v=STSv1; id=20261205T120000"),
        ("id=abc;v=STSv1;ext=1", "v=STSv1; id=abc; ext=1"),
    ],
)
def test_version_not_first_is_invalid_with_the_corrected_value(value: str, corrected: str) -> None:
    """CONTRACT sts-txt-invalid: v=STSv1 present but not first is not 'missing'; quote it and give the fix."""
    record, findings = select_sts_record([value, "unrelated=1"], "_mta-sts.example.com")
    assert record is None
    assert [f.code for f in findings] == ["sts-txt-invalid"]
    assert value in findings[0].message and "not first" in findings[0].message
    assert corrected in findings[0].fix
