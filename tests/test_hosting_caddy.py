"""The Caddy bundle, proven with Debian's caddy: `caddy validate`, then serving with a test certificate."""

from __future__ import annotations

from pathlib import Path

import pytest
from hosting_servers import caddy_validate, make_pki, require_binary, start_caddy, world_readable_tempdir
from hosting_servers.fetch import engine_fetch_findings, fetch

from wizard.hosting import POLICY_PATH, render_hosting, write_bundle

pytestmark = pytest.mark.realservers

DOMAIN = "xn--bcher-kva.example"
HOST = f"mta-sts.{DOMAIN}"
POLICY = "version: STSv1\nmode: testing\nmx: mail.xn--bcher-kva.example\nmax_age: 86400\n"


@pytest.fixture
def workdir():
    require_binary("caddy")
    with world_readable_tempdir() as path:
        yield path


def _write(workdir: Path, *, cert: Path | None = None, key: Path | None = None, address: str | None = None) -> Path:
    out = workdir / "bundle"
    bundle = render_hosting(
        "caddy",
        DOMAIN,
        POLICY,
        cert_path=str(cert) if cert else None,
        key_path=str(key) if key else None,
        web_root=str(out / "webroot"),
        listen_address=address,
    )
    assert write_bundle(bundle, out, overwrite=True).ok
    return out / "Caddyfile"


def test_generated_caddyfile_validates_as_deployed(workdir: Path) -> None:
    # As users deploy it: no tls line, Caddy manages the certificate itself.
    result = caddy_validate(workdir, _write(workdir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_caddyfile_with_own_certificate_validates(workdir: Path) -> None:
    pki = make_pki(workdir / "pki", HOST)
    result = caddy_validate(workdir, _write(workdir, cert=pki.chain_pem, key=pki.key_pem))
    assert result.returncode == 0, result.stdout + result.stderr


def test_real_caddy_serves_the_policy_as_senders_fetch_it(workdir: Path) -> None:
    pki = make_pki(workdir / "pki", HOST)
    site_for = lambda address: _write(workdir, cert=pki.chain_pem, key=pki.key_pem, address=address)  # noqa: E731
    with start_caddy(workdir, site_for) as server:
        # The verification engine's own per-address fetch must find nothing wrong.
        assert engine_fetch_findings(server.address, HOST, str(pki.ca_pem), POLICY) == [], server.log()
        # The same answer seen raw: status, media type and body as deployed.
        got = fetch(server.address, HOST, POLICY_PATH, str(pki.ca_pem))
        assert (got.status, got.content_type.split(";")[0].strip(), got.body) == (200, "text/plain", POLICY.encode())
        other = fetch(server.address, HOST, "/", str(pki.ca_pem))
        assert other.status == 404
