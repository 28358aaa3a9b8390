"""`publish` against real servers: Knot over RFC 2136 with TSIG, PowerDNS through lexicon's provider.

Both run from private directories on the addresses given to this lane (Knot 127.0.6.1,
PowerDNS 127.0.6.2 with its API on :8081). Every test owns a zone of its own, so they share
one start of each server. Without the binaries these tests skip with the reason; under
CI=true they fail instead, like the lane in test_realservers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import pytest

from tests.realservers import dnsupdate as du
from wizard.cli import main

pytestmark = pytest.mark.realservers

UNRELATED = '_mta-sts 300 IN TXT "google-site-verification=keep-me"'
KNOT_ZONES = ("replace.test", "badkey.test", "dry.test", "twice.test", "envkey.test")
PDNS_ZONES = ("replace.test", "badtoken.test", "dry.test")


def _require(kind: str) -> None:
    missing = du.missing(kind)
    if not missing:
        return
    reason = f"the publish lane needs {', '.join(missing)}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires this lane to run", pytrace=False)
    pytest.skip(reason)


def _zones(names: tuple[str, ...], address: str) -> dict[str, list[str]]:
    """One zone per test, each with an unrelated TXT at `_mta-sts` (and the apex SPF of zone_lines)."""
    extra = {"twice.test": ['_mta-sts 300 IN TXT "v=STSv1; id=old1"', '_mta-sts 300 IN TXT "v=STSv1; id=old2"']}
    return {name: du.zone_lines(name, address, [UNRELATED, *extra.get(name, [])]) for name in names}


@pytest.fixture(scope="module")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[du.Server]:
    _require("knot")
    try:
        server = du.start_knot(tmp_path_factory.mktemp("knot-tsig"), _zones(KNOT_ZONES, du.KNOT_ADDRESS))
    except du.UpdateServerError as exc:
        pytest.fail(f"knot did not start: {exc}", pytrace=False)
    yield server
    du.stop(server)


@pytest.fixture(scope="module")
def pdns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[du.Server]:
    _require("pdns")
    try:
        server = du.start_pdns(tmp_path_factory.mktemp("pdns"), _zones(PDNS_ZONES, du.PDNS_ADDRESS))
    except du.UpdateServerError as exc:
        pytest.fail(f"pdns_server did not start: {exc}", pytrace=False)
    yield server
    du.stop(server)


def txt(server: du.Server, name: str) -> list[str]:
    """The TXT records at `name` straight from the server, each joined."""
    reply = dns.query.tcp(dns.message.make_query(name, "TXT"), server.address, port=server.port, timeout=3)
    return sorted(
        b"".join(rd.strings).decode() for rrset in reply.answer if rrset.rdtype == dns.rdatatype.TXT for rd in rrset
    )


def snapshot(server: du.Server, zone: str) -> dict[str, list[str]]:
    """Everything these tests could touch in a zone: both names, the apex TXT (SPF) and MX."""
    out = {name: txt(server, f"{name}.{zone}") for name in ("_mta-sts", "_smtp._tls")}
    out["@"] = txt(server, zone)
    reply = dns.query.tcp(dns.message.make_query(zone, "MX"), server.address, port=server.port, timeout=3)
    out["MX"] = sorted(rd.to_text() for rrset in reply.answer for rd in rrset)
    return out


def publish(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str, str]:
    code = main(["publish", *args, "--state-dir", str(tmp_path / "state"), "--timeout", "3"])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- Knot, RFC 2136 + TSIG


def knot_args(knot: du.Server, zone: str, *extra: str) -> list[str]:
    return [zone, "--via", "rfc2136", "--nameserver", knot.nameserver, *extra]


def test_knot_publish_then_republish_replaces_and_keeps_the_rest(knot, capsys, tmp_path) -> None:
    zone = "replace.test"
    before = snapshot(knot, zone)
    code, out, err = publish(
        capsys,
        tmp_path,
        *knot_args(knot, zone, "--id", "one1", "--rua", "mailto:a@replace.test", "--tsig", knot.tsig, "--yes"),
    )
    assert (code, err) == (0, "")
    assert "add      _mta-sts.replace.test TXT v=STSv1; id=one1" in out
    assert "published and seen" in out
    after = snapshot(knot, zone)
    assert after["_mta-sts"] == sorted(["google-site-verification=keep-me", "v=STSv1; id=one1"])
    assert after["_smtp._tls"] == ["v=TLSRPTv1; rua=mailto:a@replace.test"]
    assert after["@"] == before["@"] == ["v=spf1 mx -all"]
    assert after["MX"] == before["MX"]

    code, out, err = publish(
        capsys,
        tmp_path,
        *knot_args(
            knot,
            zone,
            "--server",
            knot.nameserver,
            "--id",
            "one1",
            "--rua",
            "mailto:b@replace.test",
            "--tsig",
            knot.tsig,
            "--yes",
        ),
    )
    assert (code, err) == (0, "")
    assert "keep     _mta-sts.replace.test TXT v=STSv1; id=one1 (already published)" in out
    assert "replace  _smtp._tls.replace.test TXT v=TLSRPTv1; rua=mailto:a@replace.test" in out
    again = snapshot(knot, zone)
    assert again["_smtp._tls"] == ["v=TLSRPTv1; rua=mailto:b@replace.test"]  # replaced, not duplicated
    assert again["_mta-sts"] == after["_mta-sts"]
    assert again["@"] == before["@"] and again["MX"] == before["MX"]


def test_knot_every_old_record_of_ours_goes_and_only_those(knot, capsys, tmp_path) -> None:
    zone = "twice.test"
    code, out, _ = publish(capsys, tmp_path, *knot_args(knot, zone, "--id", "new1", "--tsig", knot.tsig, "--yes"))
    assert code == 0
    assert out.count("replace  _mta-sts.twice.test") == 2
    assert txt(knot, f"_mta-sts.{zone}") == sorted(["google-site-verification=keep-me", "v=STSv1; id=new1"])


def test_knot_wrong_key_changes_nothing(knot, capsys, tmp_path) -> None:
    zone = "badkey.test"
    before = snapshot(knot, zone)
    wrong = knot.tsig.rsplit(":", 1)[0] + ":" + "QUJD" * 11
    code, out, err = publish(capsys, tmp_path, *knot_args(knot, zone, "--id", "bad1", "--tsig", wrong, "--yes"))
    assert code == 3
    assert err.count("\n") == 1 and "BADSIG" in err and "nothing was changed" in err
    assert "Traceback" not in out + err
    assert snapshot(knot, zone) == before


def test_knot_dry_run_changes_nothing(knot, capsys, tmp_path) -> None:
    zone = "dry.test"
    before = snapshot(knot, zone)
    code, out, err = publish(
        capsys,
        tmp_path,
        *knot_args(knot, zone, "--id", "dry1", "--rua", "mailto:d@dry.test", "--tsig", knot.tsig, "--dry-run"),
    )
    assert (code, err) == (0, "")
    assert "add      _mta-sts.dry.test TXT v=STSv1; id=dry1" in out
    assert "dry run: nothing was changed" in out
    assert snapshot(knot, zone) == before


def test_knot_key_from_the_environment_and_the_saved_method(knot, capsys, tmp_path, monkeypatch) -> None:
    """The key comes from MTA_STS_WIZARD_TSIG (not argv); the method is saved without it and reused."""
    from wizard.state import DomainState, StateStore

    zone = "envkey.test"
    store = StateStore(tmp_path / "state")

    def saved(state: DomainState) -> None:
        state.policy_id = "env1"
        state.rua = ["mailto:e@envkey.test"]

    store.update(zone, saved)
    monkeypatch.setenv("MTA_STS_WIZARD_TSIG", knot.tsig)
    code, out, err = publish(capsys, tmp_path, *knot_args(knot, zone, "--yes"))
    assert (code, err) == (0, "")
    assert txt(knot, f"_smtp._tls.{zone}") == ["v=TLSRPTv1; rua=mailto:e@envkey.test"]
    saved_text = store.path_for(zone).read_text()
    assert knot.tsig.rsplit(":", 1)[1] not in saved_text  # the secret is never saved
    assert store.read(zone).state.publish_method == {"via": "rfc2136"}
    # No --via now: the saved method is used again.
    code, out, err = publish(capsys, tmp_path, zone, "--nameserver", knot.nameserver, "--yes")
    assert (code, err) == (0, "")
    assert "nothing to change" in out


# ---------------------------------------------------------------- PowerDNS through lexicon


@pytest.fixture
def pdns_env(pdns: du.Server, monkeypatch: pytest.MonkeyPatch) -> du.Server:
    monkeypatch.setenv("LEXICON_POWERDNS_AUTH_TOKEN", pdns.api_key)
    monkeypatch.setenv("LEXICON_POWERDNS_PDNS_SERVER", pdns.api_url)
    return pdns


def pdns_args(pdns: du.Server, zone: str, *extra: str) -> list[str]:
    return [zone, "--via", "lexicon:powerdns", "--nameserver", pdns.nameserver, *extra]


def test_pdns_publish_then_republish_replaces_and_keeps_the_rest(pdns_env, capsys, tmp_path) -> None:
    pdns, zone = pdns_env, "replace.test"
    before = snapshot(pdns, zone)
    code, out, err = publish(
        capsys, tmp_path, *pdns_args(pdns, zone, "--id", "p1", "--rua", "mailto:a@replace.test", "--yes")
    )
    assert (code, err) == (0, "")
    assert "lexicon's powerdns provider, zone replace.test" in out
    after = snapshot(pdns, zone)
    assert after["_mta-sts"] == sorted(["google-site-verification=keep-me", "v=STSv1; id=p1"])
    assert after["_smtp._tls"] == ["v=TLSRPTv1; rua=mailto:a@replace.test"]
    code, out, err = publish(
        capsys, tmp_path, *pdns_args(pdns, zone, "--id", "p1", "--rua", "mailto:b@replace.test", "--yes")
    )
    assert (code, err) == (0, "")
    assert "published and seen" in out
    again = snapshot(pdns, zone)
    assert again["_smtp._tls"] == ["v=TLSRPTv1; rua=mailto:b@replace.test"]
    assert again["_mta-sts"] == after["_mta-sts"]
    assert again["@"] == before["@"] == ["v=spf1 mx -all"] and again["MX"] == before["MX"]


def test_pdns_wrong_token_changes_nothing(pdns_env, capsys, tmp_path, monkeypatch) -> None:
    pdns, zone = pdns_env, "badtoken.test"
    monkeypatch.setenv("LEXICON_POWERDNS_AUTH_TOKEN", "not-the-key")
    before = snapshot(pdns, zone)
    code, _out, err = publish(capsys, tmp_path, *pdns_args(pdns, zone, "--id", "p2", "--yes"))
    assert code == 3
    assert err.count("\n") == 1 and "HTTP 401" in err and "LEXICON_POWERDNS_AUTH_TOKEN" in err
    assert snapshot(pdns, zone) == before


def test_pdns_dry_run_changes_nothing(pdns_env, capsys, tmp_path) -> None:
    pdns, zone = pdns_env, "dry.test"
    before = snapshot(pdns, zone)
    code, out, err = publish(
        capsys, tmp_path, *pdns_args(pdns, zone, "--id", "p3", "--rua", "mailto:d@dry.test", "--dry-run")
    )
    assert (code, err) == (0, "")
    assert "dry run: nothing was changed" in out
    assert snapshot(pdns, zone) == before
