"""The pure parts of `publish`: the plan (only our record is touched), keys, methods, and usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.cli import main
from wizard.publish import PublishUsageError, wanted_records
from wizard.publish.errors import PublishRefused
from wizard.publish.method import Method, parse_via
from wizard.publish.plan import Existing, Wanted, owns, plan_changes
from wizard.publish.tsig import parse_tsig

STS = Wanted("_mta-sts.example.com", "v=STSv1", "v=STSv1; id=new1")
TLS = Wanted("_smtp._tls.example.com", "v=TLSRPTv1", "v=TLSRPTv1; rua=mailto:r@example.com")


def test_owns_only_the_exact_version_tag() -> None:
    assert owns("v=STSv1; id=1", "v=STSv1")
    assert owns("v=STSv1;id=1", "v=STSv1")
    assert not owns("v=STSv10; id=1", "v=STSv1")
    assert not owns("google-site-verification=v=STSv1", "v=STSv1")
    assert not owns("v=spf1 -all", "v=TLSRPTv1")


def test_plan_adds_replaces_keeps_and_counts_the_others() -> None:
    current = {
        STS.name: [Existing("token=abc"), Existing("v=STSv1; id=old")],
        TLS.name: [Existing(TLS.value)],
    }
    plan = plan_changes([STS, TLS], current)
    sts, tls = plan.changes
    assert (sts.action, sts.old, sts.others) == ("replace", (Existing("v=STSv1; id=old"),), 1)
    assert (tls.action, tls.others) == ("keep", 0)
    assert plan.pending == (sts,)
    lines = plan.lines()
    assert lines[0] == "replace  _mta-sts.example.com TXT v=STSv1; id=old"
    assert "1 other TXT record(s) at _mta-sts.example.com stay untouched" in lines[2]
    assert plan_changes([STS], {}).changes[0].action == "add"


def test_plan_replaces_a_duplicate_even_when_one_is_right() -> None:
    plan = plan_changes([STS], {STS.name: [Existing(STS.value), Existing("v=STSv1; id=old")]})
    assert plan.changes[0].action == "replace" and len(plan.changes[0].old) == 2


def test_plan_lines_escape_received_text() -> None:
    plan = plan_changes([STS], {STS.name: [Existing("v=STSv1; id=\x1b[31mred")]})
    assert "\x1b" not in "\n".join(plan.lines())


def test_wanted_records_follow_id_and_rua() -> None:
    assert [w.value for w in wanted_records("example.com", "abc", ["mailto:a@example.com"])] == [
        "v=STSv1; id=abc",
        "v=TLSRPTv1; rua=mailto:a@example.com",
    ]
    assert wanted_records("example.com", None, []) == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("justaname", "NAME:ALGORITHM:SECRET"),
        ("k:hmac-sha999:c2VjcmV0", "is not one of"),
        ("k:hmac-sha256:not base64!", "not base64"),
    ],
)
def test_tsig_parse_errors_say_what_to_type(text: str, fragment: str) -> None:
    with pytest.raises(PublishUsageError, match=fragment):
        parse_tsig(text)


def test_tsig_key_hides_its_secret() -> None:
    key = parse_tsig("update-key:HMAC-SHA256:c2VjcmV0c2VjcmV0")
    assert key.algorithm == "hmac-sha256"
    assert "c2VjcmV0" not in repr(key)


def test_methods_parse_and_round_trip_without_secrets() -> None:
    assert parse_via("rfc2136", "192.0.2.1:5353") == Method("rfc2136", "192.0.2.1:5353")
    assert parse_via("lexicon:powerdns").provider == "powerdns"
    assert Method.from_saved(Method("rfc2136", "192.0.2.1").to_saved()) == Method("rfc2136", "192.0.2.1")
    assert Method.from_saved({}) is None
    with pytest.raises(PublishUsageError, match="no provider"):
        parse_via("lexicon:nosuchprovider")
    with pytest.raises(PublishUsageError, match="rfc2136 or lexicon:PROVIDER"):
        parse_via("nsupdate")


def test_refusal_names_what_had_changed() -> None:
    assert str(PublishRefused("HTTP 500", ["added x"])).endswith("already changed before the failure: added x")
    assert str(PublishRefused("REFUSED")).endswith("nothing was changed")


def _run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str]:
    code = main(["publish", *args, "--state-dir", str(tmp_path)])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("example.com", "--id", "a1"), "say how to publish"),
        (("example.com", "--via", "rfc2136"), "nothing to publish"),
        (("example.com", "--id", "a1", "--via", "rfc2136", "--tsig", "bad"), "NAME:ALGORITHM:SECRET"),
        (
            ("example.com", "--id", "a1", "--via", "lexicon:powerdns", "--tsig", "k:hmac-sha256:c2VjcmV0"),
            "--tsig is for",
        ),
        (("example.com", "--id", "a1", "--via", "lexicon:powerdns", "--server", "192.0.2.1"), "--server is for"),
        (("example.com", "--id", "a-1", "--via", "rfc2136"), "letters and digits"),
        (("example.com", "--rua", "http://x", "--via", "rfc2136"), "--rua"),
        (("example..com", "--id", "a1", "--via", "rfc2136"), ""),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, tmp_path, monkeypatch, args, fragment) -> None:
    monkeypatch.delenv("MTA_STS_WIZARD_TSIG", raising=False)
    code, err = _run(capsys, tmp_path, *args)
    assert code == 2
    assert err.count("\n") == 1 and fragment in err


def test_no_key_and_no_terminal_is_a_usage_error(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MTA_STS_WIZARD_TSIG", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, err = _run(capsys, tmp_path, "example.com", "--id", "a1", "--via", "rfc2136")
    assert code == 2 and "MTA_STS_WIZARD_TSIG" in err


def test_unreachable_server_is_exit_3_with_one_line(capsys, tmp_path) -> None:
    code, err = _run(
        capsys,
        tmp_path,
        "example.com",
        "--id",
        "a1",
        "--via",
        "rfc2136",
        "--server",
        "127.0.0.1:9",
        "--tsig",
        "k:hmac-sha256:c2VjcmV0",
        "--timeout",
        "0.5",
        "--yes",
    )
    assert code == 3
    assert err.count("\n") == 1 and "127.0.0.1:9" in err and "nothing was changed" in err


class _FailingDelete:
    """A provider whose API adds records but then fails to delete one (HTTP 500)."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create_record(self, rtype: str, name: str, content: str) -> bool:
        self.created.append(content)
        return True

    def delete_record(self, identifier: object, rtype: str, name: str, content: str) -> bool:
        raise RuntimeError("500 Server Error: Internal Server Error")


def test_a_half_applied_provider_change_names_what_changed() -> None:
    import asyncio

    from wizard.publish.lexicon_dns import LexiconTarget

    provider = _FailingDelete()
    target = LexiconTarget("powerdns", "example.com", _client=provider)
    plan = plan_changes([STS], {STS.name: [Existing("v=STSv1; id=old", "v=STSv1; id=old")]})
    with pytest.raises(PublishRefused) as caught:
        asyncio.run(target.apply(plan))
    message = str(caught.value)
    assert provider.created == [STS.value]
    assert "could not delete the old _mta-sts.example.com TXT v=STSv1; id=old" in message
    assert "already changed before the failure: added _mta-sts.example.com TXT v=STSv1; id=new1" in message
    assert "\n" not in message
