"""What people type as a domain (SPEC-independent input rules of issue 2): normalised or answered in one line."""

from __future__ import annotations

import pytest

from wizard.domain import Domain, DomainError, normalise_domain


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("example.com", "example.com"),
        ("  Example.COM.  ", "example.com"),
        ("\tmail.example.co.uk.\n", "mail.example.co.uk"),
        ("EXAMPLE.COM", "example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.example", "a-b.example"),
    ],
)
def test_normalised_forms(typed: str, expected: str) -> None:
    assert normalise_domain(typed).ascii == expected


def test_unicode_domain_becomes_a_labels_shown_both_ways() -> None:
    domain = normalise_domain("Bücher.Example.")
    assert domain == Domain(ascii="xn--bcher-kva.example", unicode="bücher.example")
    assert domain.display() == "bücher.example (xn--bcher-kva.example)"


def test_a_label_input_also_gets_its_unicode_form() -> None:
    domain = normalise_domain("xn--bcher-kva.example")
    assert domain.unicode == "bücher.example"


def test_ascii_domain_is_shown_once() -> None:
    assert normalise_domain("example.com").display() == "example.com"


def test_derived_names() -> None:
    domain = normalise_domain("Bücher.example")
    assert domain.policy_host == "mta-sts.xn--bcher-kva.example"
    assert domain.sts_name == "_mta-sts.xn--bcher-kva.example"
    assert domain.tlsrpt_name == "_smtp._tls.xn--bcher-kva.example"
    assert domain.policy_url == "https://mta-sts.xn--bcher-kva.example/.well-known/mta-sts.txt"


def one_line_error(typed: str) -> str:
    with pytest.raises(DomainError) as info:
        normalise_domain(typed)
    message = str(info.value)
    assert message and "\n" not in message
    assert isinstance(info.value, ValueError)
    return message


@pytest.mark.parametrize(
    "typed",
    ["https://example.com/", "http://example.com", "HTTPS://Example.com/path?q=1", "https://mta-sts.example.com"],
)
def test_url_is_answered_with_the_domain_to_type(typed: str) -> None:
    message = one_line_error(typed)
    assert "URL" in message
    assert message.endswith("e.g. example.com")


@pytest.mark.parametrize("typed", ["postmaster@example.com", "Someone <a@example.com>", "mailto:a@example.com"])
def test_email_address_is_answered_with_the_part_after_at(typed: str) -> None:
    message = one_line_error(typed)
    assert "e-mail address" in message
    assert "example.com" in message


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("", "type a domain name"),
        ("   ", "type a domain name"),
        ("example .com", "no spaces"),
        ("example.com:443", "without path or port"),
        ("example.com/path", "without path or port"),
        ("192.0.2.1", "IP address"),
        ("localhost", "full mail domain"),
        ("example..com", "empty label"),
        (".example.com", "empty label"),
        ("_dmarc.example.com", "not a valid domain name"),
        ("a" * 64 + ".com", "not a valid domain name"),
        ("-x.example.com", "not"),
        ("ex\x00ample.com", "control characters"),
        ("line\nbreak.com", "no spaces"),
    ],
)
def test_unusable_input_gets_one_line_advice(typed: str, hint: str) -> None:
    assert hint in one_line_error(typed)


def test_too_long_name_is_rejected() -> None:
    typed = ".".join(["a" * 63] * 4) + ".com"
    message = one_line_error(typed)
    assert "253" in message or "not a valid" in message


@pytest.mark.parametrize(
    "typed", ["https://a\nb.example/", "me@a\x00b.example", "https://ex\x1bample.com", "\x1b", "ex\x7fample.com"]
)
def test_suggestions_never_quote_control_characters(typed: str) -> None:
    message = one_line_error(typed)
    assert message.isprintable()
