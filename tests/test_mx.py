"""MX patterns: the `mx` value grammar (SPEC §3), matching (SPEC §4.1) and coverage both ways (§11.17)."""

from __future__ import annotations

import pytest

from wizard.mx import coverage, coverage_findings, normalise_mx_host, pattern_matches, validate_mx_pattern

# --- grammar -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "mail.example.com",
        "MAIL.Example.COM",
        "*.example.com",
        "*.mail.example.com",
        "mx-1.example.com",
        "1mx.example.com",
        "xn--mil-via.xn--bcher-kva.example",
        "a" * 63 + ".example.com",
        "*.com",
    ],
)
def test_valid_patterns(value: str) -> None:
    assert validate_mx_pattern(value) is None


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("", "empty"),
        (" mail.example.com", "spaces"),
        ("mail.example.com ", "spaces"),
        ("mail.example.com,mail2.example.com", "own 'mx:' line"),
        ("mail.example.com mail2.example.com", "own 'mx:' line"),
        ("mail.example.com.", "(mail.example.com)"),
        ("*example.com", "leading '*.'"),
        ("*.*.example.com", "more than one wildcard"),
        ("**.example.com", "leading '*.'"),
        ("mail.*.com", "leading '*.'"),
        ("m*il.example.com", "leading '*.'"),
        ("*", "leading '*.'"),
        ("*.", "'*.'"),
        ("192.0.2.1", "IP address"),
        ("[192.0.2.1]", "address"),
        ("2001:db8::1", "address"),
        ("mail.example.com:25", "port"),
        ("https://mail.example.com", "URL"),
        ("mail.example.com/x", "URL"),
        ("mäil.example.com", "A-labels (xn--...)"),
        ("bücher.example", "A-labels"),
        ("mail_x.example.com", "not a valid host name"),
        ("-mail.example.com", "not a valid host name"),
        ("mail-.example.com", "not a valid host name"),
        ("mail..example.com", "not a valid host name"),
        (".example.com", "not a valid host name"),
        ("a" * 64 + ".example.com", "not a valid host name"),
        (".".join(["a" * 60] * 5), "not a valid host name"),
        ("mail", "single label"),
        ("mail\n.example.com", "control characters"),
        ("\x00*.", "control characters"),
    ],
)
def test_invalid_patterns_say_what_to_write(value: str, hint: str) -> None:
    problem = validate_mx_pattern(value)
    assert problem is not None
    assert hint in problem


# --- matching (SPEC §4.1) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("mail.example.com", "mail.example.com", True),
        ("mail.example.com", "MAIL.EXAMPLE.COM", True),
        ("MAIL.example.com", "mail.Example.com", True),
        ("mail.example.com", "mail.example.com.", True),
        ("mail.example.com", "mail.example.com..", False),
        ("mail.example.com", "mx.example.com", False),
        ("mail.example.com", "mail.example.co", False),
        ("mail.example.com", "a.mail.example.com", False),
        ("*.example.com", "mail.example.com", True),
        ("*.example.com", "MX1.Example.Com.", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "example.com.", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", ".example.com", False),
        ("*.example.com", "mailexample.com", False),
        ("*.example.com", "mail.example.org", False),
        ("*.example.com", "mail.notexample.com", False),
        ("*.mail.example.com", "mx.mail.example.com", True),
        ("*.mail.example.com", "mail.example.com", False),
    ],
)
def test_pattern_matches(pattern: str, host: str, expected: bool) -> None:
    assert pattern_matches(pattern, host) is expected


def test_normalise_mx_host_strips_one_trailing_dot_and_lowercases() -> None:
    assert normalise_mx_host("Mail.Example.COM.") == "mail.example.com"
    assert normalise_mx_host(" mail.example.com ") == "mail.example.com"
    assert normalise_mx_host("mail.example.com..") == "mail.example.com."


# --- coverage both ways ---------------------------------------------------------------------------------------------


def test_full_coverage() -> None:
    cov = coverage(["mail.example.com", "*.backup.example.com"], ["MAIL.example.com.", "b1.backup.example.com."])
    assert cov.complete
    assert cov.uncovered == [] and cov.unused == []
    assert cov.covered == {
        "mail.example.com": ["mail.example.com"],
        "b1.backup.example.com": ["*.backup.example.com"],
    }


def test_uncovered_host_and_unused_pattern() -> None:
    cov = coverage(["mail.example.com", "old.example.com"], ["mail.example.com.", "backup.example.com."])
    assert not cov.complete
    assert cov.uncovered == ["backup.example.com"]
    assert cov.unused == ["old.example.com"]


def test_apex_mx_is_not_covered_by_a_wildcard() -> None:
    cov = coverage(["*.example.com"], ["example.com."])
    assert cov.uncovered == ["example.com"]
    assert cov.unused == ["*.example.com"]


def test_multi_label_host_under_a_wildcard_is_not_covered() -> None:
    cov = coverage(["*.example.com"], ["a.b.example.com"])
    assert cov.uncovered == ["a.b.example.com"]


def test_a_host_covered_by_two_patterns_lists_both() -> None:
    cov = coverage(["mail.example.com", "*.example.com"], ["mail.example.com"])
    assert cov.covered == {"mail.example.com": ["mail.example.com", "*.example.com"]}
    assert cov.unused == []


def test_duplicate_hosts_and_patterns_are_counted_once() -> None:
    cov = coverage(["old.example.com", "old.example.com"], ["x.example.com", "X.example.com.", ""])
    assert cov.uncovered == ["x.example.com"]
    assert cov.unused == ["old.example.com"]


def test_no_hosts_means_every_pattern_is_unused() -> None:
    cov = coverage(["mail.example.com"], [])
    assert cov.complete and cov.unused == ["mail.example.com"]


def test_coverage_findings_codes_severities_and_fix() -> None:
    cov = coverage(["old.example.com"], ["mail.example.com"])
    findings = coverage_findings(cov, "testing")
    assert [(f.code, f.severity, f.subject) for f in findings] == [
        ("mx-not-covered", "error", "mail.example.com"),
        ("mx-pattern-unused", "warning", "old.example.com"),
    ]
    assert "'mx: mail.example.com'" in findings[0].fix
    assert "once the policy is in enforce" in findings[0].message


def test_coverage_findings_in_enforce_say_mail_fails_now() -> None:
    findings = coverage_findings(coverage(["*.example.com"], ["example.com"]), "enforce")
    assert findings[0].code == "mx-not-covered"
    assert "refuse to deliver" in findings[0].message


def test_complete_coverage_has_no_findings() -> None:
    assert coverage_findings(coverage(["*.example.com"], ["a.example.com", "b.example.com"]), "enforce") == []
