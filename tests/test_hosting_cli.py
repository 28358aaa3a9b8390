"""`generate DOMAIN --hosting KIND --out DIR`: the step 2 files from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.cli import main

BASE = ["generate", "example.com", "--mx", "mail.example.com", "--mode", "testing", "--max-age", "86400"]
POLICY = "version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 86400\n"
HOST = "mta-sts.example.com"


def test_hosting_nginx_writes_the_bundle_and_prints_the_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main([*BASE, "--hosting", "nginx", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    conf = tmp_path / "nginx" / f"{HOST}.conf"
    assert (tmp_path / "webroot/.well-known/mta-sts.txt").read_text() == POLICY
    assert f"server_name {HOST};" in conf.read_text()
    assert f"wrote      {conf}" in out
    assert "certbot certonly --webroot" in out
    assert f"# DNS record for {HOST}" in out


def test_running_it_again_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--hosting", "apache", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main([*BASE, "--hosting", "apache", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "wrote " not in out
    assert out.count("unchanged  ") == 2


def test_a_different_file_in_the_way_stops_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / ".well-known" / "mta-sts.txt"
    existing.parent.mkdir()
    existing.write_text("version: STSv1\nmode: enforce\nmx: old.example.com\nmax_age: 604800\n")
    assert main([*BASE, "--hosting", "netlify", "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "--force" in captured.err and str(existing) in captured.err
    assert "old.example.com" in existing.read_text()
    assert not (tmp_path / "_headers").exists()

    assert main([*BASE, "--hosting", "netlify", "--out", str(tmp_path), "--force"]) == 0
    assert existing.read_text() == POLICY
    assert (tmp_path / "_headers").exists()


def test_out_alone_writes_the_policy_into_the_named_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--out", str(tmp_path / "site")]) == 0
    files = sorted(p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site").rglob("*") if p.is_file())
    assert files == [".well-known/mta-sts.txt"]
    assert "A folder (any web server)" in capsys.readouterr().out


def test_relative_certificate_paths_become_absolute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [*BASE, "--hosting", "caddy", "--cert", "tls/chain.pem", "--key", "tls/key.pem", "--out", "bundle"]
    assert main(args) == 0
    caddyfile = (tmp_path / "bundle" / "Caddyfile").read_text()
    assert f'tls "{tmp_path}/tls/chain.pem" "{tmp_path}/tls/key.pem"' in caddyfile


def test_without_out_the_files_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--hosting", "cloudflare-workers"]) == 0
    out = capsys.readouterr().out
    assert "# ---- worker.js" in out and "export default" in out
    assert f'pattern = "{HOST}/*"' in out


def test_json_carries_the_hosting_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--hosting", "github-pages", "--out", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["domain"] == "example.com"
    hosting = data["hosting"]
    assert hosting["kind"] == "github-pages"
    assert hosting["files"]["CNAME"] == f"{HOST}\n"
    assert sorted(hosting["written"]) == sorted(str(tmp_path / rel) for rel in hosting["files"])
    assert hosting["dns_hint"].startswith(f"{HOST}. ")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hosting", "netlify", "--cert", "/etc/ssl/c.pem"], "--cert applies only to --hosting nginx"),
        (["--cert", "/etc/ssl/c.pem"], "need --hosting KIND"),
        (["--hosting", "nginx", "--force"], "--force only matters with --out"),
        (["--hosting", "nginx", "--web-root", "/srv/a;b"], "cannot hold"),
        (["--hosting", "iis"], "invalid choice"),
    ],
)
def test_options_that_do_not_fit_get_one_line(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main([*BASE, *extra])
    except SystemExit as exc:  # argparse's own refusals exit from inside the parser
        code = exc.code
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.count("\n") == 1


def test_out_pointing_at_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    assert main([*BASE, "--hosting", "folder", "--out", str(target)]) == 2
    assert "give a directory" in capsys.readouterr().err
