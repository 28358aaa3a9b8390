"""`--nameserver` values: every accepted form, and one-line advice for the rest."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wizard.nameserver import parse_nameserver


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        (" 9.9.9.9 ", ("9.9.9.9", 53)),
        ("::1", ("::1", 53)),
        ("[::1]", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
    ],
)
def test_accepted_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("dns.example.com", "not an IP address"),
        ("127.0.0.1:port", "must be a number"),
        ("127.0.0.1:0", "out of range"),
        ("127.0.0.1:70000", "out of range"),
        ("[::1", "missing ']'"),
        ("[::1]5353", "[ADDR]:PORT"),
    ],
)
def test_rejected_forms_say_what_to_type(text: str, hint: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_nameserver(text)
    message = str(caught.value)
    assert hint in message and "\n" not in message


def test_checking_the_option_does_not_import_dnspython() -> None:
    # The wizard's first screen validates --nameserver before it paints; dnspython costs ~30 ms.
    code = (
        "import sys, argparse\n"
        "from wizard.commands.common import network_settings\n"
        "network_settings(argparse.Namespace(nameserver=['127.0.0.1:53'], ca_bundle=None, timeout=5.0))\n"
        "print('dns' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"
