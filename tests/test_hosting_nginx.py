"""The nginx bundle, proven with a real nginx: `nginx -t`, then serving the policy as senders fetch it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hosting_servers import make_pki, nginx_configtest, require_binary, start_nginx, world_readable_tempdir
from hosting_servers.fetch import engine_fetch_findings, fetch

from wizard.hosting import POLICY_PATH, render_hosting, write_bundle

pytestmark = pytest.mark.realservers

DOMAIN = "example.test"
HOST = f"mta-sts.{DOMAIN}"
POLICY = "version: STSv1\nmode: enforce\nmx: mail.example.test\nmx: *.backup.example.test\nmax_age: 604800\n"


@pytest.fixture
def workdir():
    require_binary("nginx")
    with world_readable_tempdir() as path:
        yield path


def _write(workdir: Path, pki, address: str | None) -> Path:
    out = workdir / "bundle"
    bundle = render_hosting(
        "nginx",
        DOMAIN,
        POLICY,
        cert_path=str(pki.chain_pem),
        key_path=str(pki.key_pem),
        web_root=str(out / "webroot"),
        listen_address=address,
    )
    result = write_bundle(bundle, out, overwrite=True)
    assert result.ok
    return out / f"nginx/{HOST}.conf"


def test_generated_config_passes_nginx_t(workdir: Path) -> None:
    pki = make_pki(workdir / "pki", HOST)
    site = _write(workdir, pki, None)  # the default: all addresses, IPv4 and IPv6
    result = nginx_configtest(workdir, site)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_real_nginx_serves_the_policy_as_senders_fetch_it(workdir: Path) -> None:
    pki = make_pki(workdir / "pki", HOST)
    with start_nginx(workdir, lambda address: _write(workdir, pki, address)) as server:
        # The verification engine's own per-address fetch must find nothing wrong.
        assert engine_fetch_findings(server.address, HOST, str(pki.ca_pem), POLICY) == [], server.log()
        # The same answer seen raw: status, media type and body as deployed.
        got = fetch(server.address, HOST, POLICY_PATH, str(pki.ca_pem))
        assert (got.status, got.content_type.split(";")[0].strip(), got.body) == (200, "text/plain", POLICY.encode())

        other = fetch(server.address, HOST, "/index.html", str(pki.ca_pem))
        assert other.status == 404

        # Port 80: ACME challenges are answered, everything else goes to HTTPS.
        token = workdir / "bundle/webroot/.well-known/acme-challenge/tok123"
        token.parent.mkdir(parents=True)
        token.write_text("tok123.thumbprint")
        token.chmod(0o644)
        challenge = fetch(server.address, HOST, "/.well-known/acme-challenge/tok123", str(pki.ca_pem), "http")
        assert (challenge.status, challenge.body) == (200, b"tok123.thumbprint")
        plain = fetch(server.address, HOST, POLICY_PATH, str(pki.ca_pem), "http")
        assert plain.status == 301
        assert plain.location == f"https://{HOST}{POLICY_PATH}"


def test_the_engine_check_catches_a_certificate_for_another_name(workdir: Path) -> None:
    # Guard against a vacuous check: the same bundle with a certificate for the bare domain only
    # must be reported, exactly as a sender would refuse it (RFC 8461 §3.3).
    wrong = make_pki(workdir / "pki-wrong", DOMAIN)
    with start_nginx(workdir, lambda address: _write(workdir, wrong, address)) as server:
        problems = engine_fetch_findings(server.address, HOST, str(wrong.ca_pem), POLICY)
    assert [p.split(":")[0] for p in problems] == ["policy-tls-name-mismatch", "not served"]
