"""Misleading messages about hostile peers and inputs (issue 14, item 11): a CA bundle that is not
PEM is said to be so (exit 2); an MX that floods its EHLO reply or sends a 10 MB banner was reached,
so the finding says what the server did instead of "unreachable, may be our side"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.world.smtp_server import MxSpec
from wizard.cli import main
from wizard.engine import check_domain


@pytest.mark.parametrize(
    "content",
    [
        b"hello, not a certificate\n",
        bytes(range(256)) * 4,
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ],
    ids=["text", "binary", "private-key"],
)
def test_a_ca_bundle_that_is_not_pem_is_one_line_and_exit_2(tmp_path: Path, capsys, content: bytes) -> None:  # type: ignore[no-untyped-def]
    bundle = tmp_path / "roots.crt"
    bundle.write_bytes(content)
    for command in (["check", "example.com"], ["generate", "example.com"]):
        code = main([*command, "--ca-bundle", str(bundle), "--nameserver", "127.0.0.1:9", "--timeout", "1"])
        out, err = capsys.readouterr()
        assert code == 2
        assert out == ""
        assert err.count("\n") == 1 and f"CA bundle {bundle} is not a PEM bundle of certificates" in err
        assert "dns-lookup-failed" not in err and "handshake" not in err


def test_a_ca_bundle_from_ssl_cert_file_is_checked_too(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bundle = tmp_path / "roots.crt"
    bundle.write_bytes(b"garbage")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert main(["check", "example.com", "--nameserver", "127.0.0.1:9", "--timeout", "1"]) == 2
    assert "(from SSL_CERT_FILE) is not a PEM bundle" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        ("ehlo-flood", "its EHLO reply ran over 100 lines"),
        ("huge-banner", "its greeting has a line longer than 4096 bytes"),
    ],
)
async def test_an_mx_that_floods_is_said_to_misbehave_not_to_be_unreachable(world, behaviour: str, said: str) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh()
    world.domain(name, mx_spec=MxSpec(behaviour=behaviour))
    report = await check_domain(name, world.options())
    codes = {f.code for f in report.findings}
    assert "mx-unreachable" not in codes
    found = [f for f in report.findings if f.code == "mx-no-starttls"]
    assert len(found) == 1
    assert f"mx.{name} answered on port 25, but {said}" in found[0].message
    assert "our side" not in found[0].message
    assert not report.ok  # an error: senders cannot start TLS with it


def test_a_certificate_with_thousands_of_names_is_described_in_one_bounded_line() -> None:
    import datetime as dt

    from wizard.certs import CertFacts

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    sans = (*(f"host{i}.example" for i in range(2000)), "x" * 5000)
    facts = CertFacts("CN=a", "O=" + "y" * 10_000, sans, now, now, False)
    text = facts.describe()
    assert "host0.example" in text and "and 1993 more" in text
    assert len(text) < 1200
