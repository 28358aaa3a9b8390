"""The report parser against every sender quirk in SPEC.md §7, and strictness about everything else."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reports_factory import detail, dumps, gz, mutated, report, spec_example

from wizard.reports import ReportRejected, parse_report
from wizard.reports.parse import mx_patterns


def test_spec_example_parses_every_field() -> None:
    r = parse_report(dumps(spec_example()))
    assert r.organisation == "Sender Example Ltd"
    assert r.report_id == "2025-03-14T00:00:00Z_example.com_a1"
    assert r.contact_info == "tlsrpt@mail.sender.example"
    assert r.start == datetime(2025, 3, 14, tzinfo=UTC)
    assert r.day == date(2025, 3, 14)
    (p,) = r.policies
    assert (p.policy_type, p.policy_domain) == ("sts", "example.com")
    assert p.mx_host == ("mx1.example.com", "*.backup.example.com")
    assert (p.successful_sessions, p.failed_sessions) == (4210, 7)
    first, second = p.failure_details
    assert first.result_type == "certificate-expired"
    assert first.sending_mta_ip == "198.51.100.25"
    assert first.receiving_mx_hostname == "b1.backup.example.com"
    assert first.receiving_mx_helo == "b1.backup.example.com"
    assert first.receiving_ip == "203.0.113.17"
    assert first.failed_session_count == 5
    assert first.failure_reason_code == "X509_V_ERR_CERT_HAS_EXPIRED"
    assert second.additional_information == "https://tlsrpt.sender.example/info/a1#mismatch"


def test_gzip_report_is_recognised_by_magic() -> None:
    assert parse_report(gz(spec_example())).report_id == "2025-03-14T00:00:00Z_example.com_a1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mx1.example.com", ("mx1.example.com",)),  # RFC 8460 Appendix B / EID 6241: a single string
        (["mx1.example.com", "*.b.example.com"], ("mx1.example.com", "*.b.example.com")),
        ([], ()),
        (None, ()),
        (..., ()),  # absent
        (["MX1.Example.COM."], ("mx1.example.com",)),
    ],
)
def test_mx_host_string_array_null_or_absent(value: Any, expected: tuple[str, ...]) -> None:
    doc = mutated(spec_example(), ["policies", 0, "policy", "mx-host"], value)
    assert parse_report(dumps(doc)).policies[0].mx_host == expected


def test_missing_failure_details_google_style() -> None:
    r = parse_report(dumps(report(success=3, failure=0, details=None)))
    assert r.policies[0].failure_details == ()


def test_no_policy_found_without_policy_string_or_mx_host() -> None:
    doc = spec_example()
    doc["policies"][0]["policy"] = {"policy-type": "no-policy-found", "policy-domain": "example.com"}
    p = parse_report(dumps(doc)).policies[0]
    assert (p.policy_type, p.policy_string, p.mx_host) == ("no-policy-found", (), ())


def test_fetch_error_without_ip_or_mx_fields_mailru_style() -> None:
    doc = report(failure=4, details=[{"result-type": "sts-policy-fetch-error", "failed-session-count": 4}])
    d = parse_report(dumps(doc)).policies[0].failure_details[0]
    assert d.result_type == "sts-policy-fetch-error"
    assert (d.sending_mta_ip, d.receiving_mx_hostname, d.receiving_ip) == (None, None, None)


@pytest.mark.parametrize("end", ["2025-03-14T23:59:59Z", "2025-03-15T00:00:00Z"])
def test_both_end_datetime_styles_count_for_the_same_day(end: str) -> None:
    doc = mutated(spec_example(), ["date-range", "end-datetime"], end)
    assert parse_report(dumps(doc)).day == date(2025, 3, 14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-14T00:00:00", datetime(2025, 3, 14, tzinfo=UTC)),  # Microsoft: no offset means UTC
        ("2025-03-14T02:00:00+02:00", datetime(2025, 3, 14, tzinfo=UTC)),
        ("2025-03-13T19:00:00-05:00", datetime(2025, 3, 14, tzinfo=UTC)),
        ("2025-03-14t00:00:00.123456z", datetime(2025, 3, 14, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2025-03-14 00:00:00Z", datetime(2025, 3, 14, tzinfo=UTC)),
    ],
)
def test_date_time_forms(text: str, expected: datetime) -> None:
    doc = mutated(spec_example(), ["date-range", "start-datetime"], text)
    assert parse_report(dumps(doc)).start == expected


@pytest.mark.parametrize("text", ["2025-03-14", "yesterday", "2025-02-30T00:00:00Z", "2025-03-14T00:00:00+25:00"])
def test_bad_date_times_rejected_with_the_field_named(text: str) -> None:
    doc = mutated(spec_example(), ["date-range", "start-datetime"], text)
    with pytest.raises(ReportRejected, match=r"date-range\.start-datetime"):
        parse_report(dumps(doc))


def test_end_before_start_rejected() -> None:
    doc = mutated(spec_example(), ["date-range", "end-datetime"], "2025-03-13T00:00:00Z")
    with pytest.raises(ReportRejected, match="before start"):
        parse_report(dumps(doc))


def test_additional_info_uri_spelling_accepted() -> None:
    doc = spec_example()
    entry = doc["policies"][0]["failure-details"][1]
    entry["additional-info-uri"] = entry.pop("additional-information")
    d = parse_report(dumps(doc)).policies[0].failure_details[1]
    assert d.additional_information == "https://tlsrpt.sender.example/info/a1#mismatch"


def test_policy_strings_without_space_after_colon_socketlabs_style() -> None:
    doc = spec_example()
    pol = doc["policies"][0]["policy"]
    pol["policy-string"] = ["version:STSv1", "mode:enforce", "mx:mail.example.com", "mx:*.example.net", "max_age:86400"]
    del pol["mx-host"]
    p = parse_report(dumps(doc)).policies[0]
    assert p.policy_string[0] == "version:STSv1"
    assert mx_patterns(p) == ("mail.example.com", "*.example.net")


def test_unknown_result_type_is_kept() -> None:
    doc = report(failure=2, details=[detail("quantum-entanglement-failure", 2)])
    assert parse_report(dumps(doc)).policies[0].failure_details[0].result_type == "quantum-entanglement-failure"


def test_ipv6_addresses_normalised_rfc5952() -> None:
    doc = report(failure=1, details=[detail("starttls-not-supported", 1, ip="2001:DB8:0:0:0:0:0:25")])
    assert parse_report(dumps(doc)).policies[0].failure_details[0].sending_mta_ip == "2001:db8::25"


def test_unknown_fields_ignored() -> None:
    doc = spec_example()
    doc["x-vendor"] = {"anything": [1, 2]}
    doc["policies"][0]["x-extra"] = True
    assert parse_report(dumps(doc)).organisation == "Sender Example Ltd"


def test_tlsa_policy_parses() -> None:
    doc = spec_example()
    doc["policies"][0]["policy"] = {
        "policy-type": "tlsa",
        "policy-string": ["3 1 1 0123456789abcdef"],
        "policy-domain": "mx1.example.com",
    }
    assert parse_report(dumps(doc)).policies[0].policy_type == "tlsa"


P = ["policies", 0]
F = ["policies", 0, "failure-details", 0]
WRONG_TYPES: list[tuple[list[Any], Any, str]] = [
    (["organization-name"], 5, "organization-name must be a string"),
    (["organization-name"], ..., "organization-name is missing"),
    (["organization-name"], "  ", "organization-name is empty"),
    (["report-id"], ["x"], "report-id must be a string"),
    (["report-id"], ..., "report-id is missing"),
    (["contact-info"], 1, "contact-info must be a string"),
    (["date-range"], "2025-03-14", "date-range must be an object"),
    (["date-range"], ..., "date-range is missing"),
    (["date-range", "start-datetime"], 1741910400, "start-datetime must be a string"),
    (["date-range", "end-datetime"], ..., "end-datetime is missing"),
    (["policies"], {"policy": {}}, "policies must be an array"),
    (["policies"], ..., "policies is missing"),
    ([*P], "sts", r"policies\[0\] must be an object"),
    ([*P, "policy"], [], r"policies\[0\]\.policy must be an object"),
    ([*P, "policy"], ..., r"policies\[0\]\.policy is missing"),
    ([*P, "policy", "policy-type"], 1, "policy-type must be a string"),
    ([*P, "policy", "policy-type"], ..., "policy-type is missing"),
    ([*P, "policy", "policy-string"], "mode: enforce", "policy-string must be an array of strings"),
    ([*P, "policy", "policy-string"], [1], r"policy-string\[0\] must be a string"),
    ([*P, "policy", "policy-domain"], None, "policy-domain is missing"),
    ([*P, "policy", "policy-domain"], ["example.com"], "policy-domain must be a string"),
    ([*P, "policy", "mx-host"], 5, "mx-host must be an array of strings"),
    ([*P, "policy", "mx-host"], [None], r"mx-host\[0\] must be a string"),
    ([*P, "policy", "mx-host"], {"a": 1}, "mx-host must be an array of strings"),
    ([*P, "summary"], 4210, "summary must be an object"),
    ([*P, "summary", "total-successful-session-count"], "4210", "total-successful-session-count must be a whole"),
    ([*P, "summary", "total-successful-session-count"], 4210.5, "must be a whole number"),
    ([*P, "summary", "total-successful-session-count"], True, "must be a whole number, got true/false"),
    ([*P, "summary", "total-failure-session-count"], -1, "between 0 and"),
    ([*P, "summary", "total-failure-session-count"], 2**70, "between 0 and"),
    ([*P, "summary", "total-failure-session-count"], ..., "total-failure-session-count is missing"),
    ([*P, "failure-details"], {"result-type": "x"}, "failure-details must be an array"),
    ([*F], "certificate-expired", r"failure-details\[0\] must be an object"),
    ([*F, "result-type"], 3, "result-type must be a string"),
    ([*F, "result-type"], ..., "result-type is missing"),
    ([*F, "failed-session-count"], "5", "failed-session-count must be a whole number"),
    ([*F, "failed-session-count"], ..., "failed-session-count is missing"),
    ([*F, "sending-mta-ip"], 3325256704, "sending-mta-ip must be a string"),
    ([*F, "receiving-mx-hostname"], ["b1"], "receiving-mx-hostname must be a string"),
    ([*F, "receiving-mx-helo"], False, "receiving-mx-helo must be a string"),
    ([*F, "receiving-ip"], {}, "receiving-ip must be a string"),
    ([*F, "failure-reason-code"], 509, "failure-reason-code must be a string"),
    (["policies", 0, "failure-details", 1, "additional-information"], [], "additional-information must be a str"),
    (["organization-name"], "x" * 9000, "longer than 8192"),
]


@pytest.mark.parametrize(
    ("path", "value", "reason"), WRONG_TYPES, ids=[f"{'.'.join(map(str, p))}={v!r:.20}" for p, v, _ in WRONG_TYPES]
)
def test_every_wrong_typed_field_rejected_with_a_reason(path: list[Any], value: Any, reason: str) -> None:
    with pytest.raises(ReportRejected, match=reason):
        parse_report(dumps(mutated(spec_example(), path, value)))


def test_top_level_not_an_object() -> None:
    with pytest.raises(ReportRejected, match="not a JSON object"):
        parse_report(b"[1, 2, 3]")
    with pytest.raises(ReportRejected, match="not valid JSON"):
        parse_report(b'{"organization-name": ')


def _leaf_paths(node: Any, prefix: list[Any]) -> list[list[Any]]:
    if isinstance(node, dict):
        return [prefix] + [p for k, v in node.items() for p in _leaf_paths(v, [*prefix, k])]
    if isinstance(node, list):
        return [prefix] + [p for i, v in enumerate(node) for p in _leaf_paths(v, [*prefix, i])]
    return [prefix]


_PATHS = [p for p in _leaf_paths(spec_example(), []) if p]
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_PATHS), _json_values | st.just(...))
def test_any_mutation_parses_or_is_rejected_with_a_reason_never_an_exception(path: list[Any], value: Any) -> None:
    data = json.dumps(mutated(spec_example(), path, value), default=str).encode()
    try:
        parse_report(data)
    except ReportRejected as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_else(data: bytes) -> None:
    for blob in (data, b"\x1f\x8b" + data, b"{" + data):
        try:
            parse_report(blob)
        except ReportRejected as exc:
            assert str(exc)


def _with_unknown(raw: bytes) -> bytes:
    """The RFC example with an unknown top-level field whose value is `raw` (JSON text, as bytes)."""
    return dumps(spec_example())[:-1] + b', "x-extra": ' + raw + b"}"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_with_unknown(b'"caf\xff"'), "not UTF-8"),  # in a field nobody reads
        (_with_unknown(b'"\xc0\xaf"'), "not UTF-8"),  # overlong UTF-8
        (_with_unknown(b'"\xed\xa0\x80"'), "not UTF-8"),  # an encoded surrogate
        (_with_unknown(b'"\\ud800"'), "not valid JSON"),  # a lone surrogate escape
        (dumps(spec_example()).replace(b"4210", b"4210.0"), "must be a whole number, got a number"),
        (dumps(spec_example()).replace(b"4210", b"NaN"), "not valid JSON"),
    ],
)
def test_what_the_decoder_skips_or_reads_loosely_is_still_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ReportRejected, match=reason):
        parse_report(data)
