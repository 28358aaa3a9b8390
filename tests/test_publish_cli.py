"""`publish` end to end against the in-process world behind its RFC 2136 front: the prompts, the
confirmation, and exit 1 when the authoritative servers have the record but a resolver does not yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.publish_support import start_front
from wizard.cli import main


def _publish(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str, str]:
    code = main(["publish", *args, "--state-dir", str(tmp_path / "state"), "--timeout", "2"])
    out, err = capsys.readouterr()
    return code, out, err


def test_key_and_confirmation_from_prompts(world, capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh("cli")
    world.domain(name, sts_id=None, tlsrpt=None)
    front, key = start_front(world)
    asked: list[str] = []
    monkeypatch.delenv("MTA_STS_WIZARD_TSIG", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or key)
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "y")
    args = (name, "--via", "rfc2136", "--server", front.address, "--nameserver", world.dns.address, "--id", "abc1")
    code, out, err = _publish(capsys, tmp_path, *args)
    assert (code, err) == (0, "")
    assert asked == ["TSIG key (NAME:ALGORITHM:SECRET, not shown): ", "Publish these changes? [y/N] "]
    assert key not in out
    assert f"add      _mta-sts.{name} TXT v=STSv1; id=abc1" in out and "published and seen" in out
    assert front.applied == [f'add _mta-sts.{name} TXT "v=STSv1; id=abc1"']


def test_saying_no_changes_nothing(world, capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh("cli")
    world.domain(name, sts_id=None, tlsrpt=None)
    front, key = start_front(world)
    monkeypatch.setenv("MTA_STS_WIZARD_TSIG", key)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    args = (name, "--via", "rfc2136", "--server", front.address, "--nameserver", world.dns.address, "--id", "abc1")
    code, out, _ = _publish(capsys, tmp_path, *args)
    assert code == 0 and "not published: nothing was changed" in out
    assert front.applied == []


def test_no_terminal_and_no_yes_is_a_usage_error(world, capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh("cli")
    world.domain(name, sts_id=None, tlsrpt=None)
    front, key = start_front(world)
    monkeypatch.setenv("MTA_STS_WIZARD_TSIG", key)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    args = (name, "--via", "rfc2136", "--server", front.address, "--nameserver", world.dns.address, "--id", "abc1")
    code, _, err = _publish(capsys, tmp_path, *args)
    assert code == 2 and err.count("\n") == 1 and "--yes" in err
    assert front.applied == []


def test_published_but_not_yet_seen_by_the_resolver_is_exit_1(world, capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh("cli")
    world.domain(name, sts_id="old1", tlsrpt=None)
    stale = world.stale_resolver()  # still serves id=old1 after the update
    front, key = start_front(world)
    monkeypatch.setenv("MTA_STS_WIZARD_TSIG", key)
    args = (name, "--via", "rfc2136", "--server", front.address, "--nameserver", stale.address, "--id", "new1", "--yes")
    code, out, err = _publish(capsys, tmp_path, *args)
    assert (code, err) == (1, "")
    assert f"replace  _mta-sts.{name} TXT v=STSv1; id=old1" in out
    assert "published, not yet seen everywhere" in out
    assert f"_mta-sts.{name}: authoritative servers: [ok]" in out
    assert "resolver still serves v=STSv1; id=old1; resolvers may keep the old answer for up to 300 more seconds" in out


def test_a_new_policy_id_waits_until_every_address_serves_the_new_file(world, capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """RFC 8461 §8.1: the file first, then the id; `publish --mode enforce` refuses while the old file is served."""
    from wizard.policy import PolicyFile

    name = world.fresh("cli")
    scenario = world.domain(name, policy=PolicyFile("testing", 86400, (f"mx.{name}",)), sts_id="old1", tlsrpt=None)
    front, key = start_front(world)
    monkeypatch.setenv("MTA_STS_WIZARD_TSIG", key)
    args = (name, "--mode", "enforce", "--max-age", "604800", "--mx", f"mx.{name}", "--ca-bundle", world.ca_bundle)
    args += ("--via", "rfc2136", "--server", front.address, "--nameserver", world.dns.address, "--yes")
    code, out, err = _publish(capsys, tmp_path, *args)
    assert code == 2 and out == ""
    assert "not publishing a new id: serve the new policy file" in err and "do not serve it" in err
    assert front.applied == []

    enforce = PolicyFile("enforce", 604800, (f"mx.{name}",))
    scenario.https[0].sites[scenario.policy_host].body = enforce.to_text().encode()
    code, out, err = _publish(capsys, tmp_path, *args)
    assert (code, err) == (0, "")
    assert f"replace  _mta-sts.{name} TXT v=STSv1; id=old1" in out and "published and seen" in out
