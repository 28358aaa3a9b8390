"""What each hosting kind puts in front of the user, and how the bundle reaches the disk."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from wizard.hosting import (
    HOSTING_KINDS,
    POLICY_FILE,
    POLICY_PATH,
    SERVER_KINDS,
    HostingError,
    render_hosting,
    write_bundle,
)

DOMAIN = "example.com"
HOST = "mta-sts.example.com"
POLICY = "version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 86400\n"


def test_kinds_are_offered_in_the_documented_order_with_titles() -> None:
    assert list(HOSTING_KINDS) == [
        "nginx",
        "apache",
        "caddy",
        "github-pages",
        "netlify",
        "cloudflare-workers",
        "folder",
    ]
    assert HOSTING_KINDS["apache"] == "Apache httpd"
    assert HOSTING_KINDS["github-pages"] == "GitHub Pages"
    assert all(title.strip() for title in HOSTING_KINDS.values())
    assert set(SERVER_KINDS) == {"nginx", "apache", "caddy"}


@pytest.mark.parametrize("kind", list(HOSTING_KINDS))
def test_every_kind_says_how_to_get_a_certificate_and_the_dns_record(kind: str) -> None:
    bundle = render_hosting(kind, DOMAIN, POLICY)
    assert (bundle.kind, bundle.title) == (kind, HOSTING_KINDS[kind])
    assert bundle.policy_host == HOST
    assert bundle.policy_url == f"https://{HOST}{POLICY_PATH}"
    assert bundle.dns_hint.startswith(f"{HOST}. ")
    assert any(note.startswith("Certificate:") and HOST in note for note in bundle.notes)
    assert any("DNS" in note and HOST in note for note in bundle.notes)
    assert bundle.files, "a bundle without files gives the user nothing to deploy"


@pytest.mark.parametrize("kind", ["nginx", "apache", "caddy", "github-pages", "netlify", "folder"])
def test_the_policy_file_is_the_exact_text(kind: str) -> None:
    bundle = render_hosting(kind, DOMAIN, POLICY)
    [path] = [p for p in bundle.files if p.endswith(POLICY_FILE)]
    assert bundle.files[path] == POLICY


def test_nginx_defaults_to_certbot_paths_and_all_addresses() -> None:
    conf = render_hosting("nginx", DOMAIN, POLICY).files[f"nginx/{HOST}.conf"]
    tls, plain = conf.split("\nserver {", 2)[1:]
    assert "listen 443 ssl;" in tls and "listen [::]:443 ssl;" in tls
    assert f"server_name {HOST};" in tls
    assert f'ssl_certificate     "/etc/letsencrypt/live/{HOST}/fullchain.pem";' in tls
    assert f'ssl_certificate_key "/etc/letsencrypt/live/{HOST}/privkey.pem";' in tls
    assert f"location = {POLICY_PATH} {{" in tls
    assert "default_type text/plain;" in tls
    assert "return 3" not in tls, "the HTTPS side must never redirect"
    assert "listen 80;" in plain and "/.well-known/acme-challenge/" in plain
    assert f"return 301 https://{HOST}$request_uri;" in plain


def test_nginx_uses_the_certificate_and_address_given() -> None:
    bundle = render_hosting(
        "nginx", DOMAIN, POLICY, cert_path="/etc/ssl/m.pem", key_path="/etc/ssl/m.key", listen_address="2001:db8::5"
    )
    conf = bundle.files[f"nginx/{HOST}.conf"]
    assert '"/etc/ssl/m.pem"' in conf and '"/etc/ssl/m.key"' in conf
    assert "listen [2001:db8::5]:443 ssl;" in conf and "listen [2001:db8::5]:80;" in conf
    assert "letsencrypt" not in conf
    assert any("/etc/ssl/m.pem" in note for note in bundle.notes)


def test_apache_vhost_forces_text_plain_and_redirects_only_on_port_80() -> None:
    conf = render_hosting("apache", DOMAIN, POLICY).files[f"apache2/{HOST}.conf"]
    tls, plain = conf.split("<VirtualHost ")[1:]
    assert tls.startswith("*:443>") and plain.startswith("*:80>")
    assert "SSLEngine on" in tls and f"/etc/letsencrypt/live/{HOST}/fullchain.pem" in tls
    assert f'<Location "{POLICY_PATH}">' in tls and "ForceType text/plain" in tls
    assert "RedirectMatch 3" not in tls and "Redirect 3" not in tls
    assert f"RedirectMatch 301 ^/(?!\\.well-known/acme-challenge/)(.*)$ https://{HOST}/$1" in plain


def test_caddy_leaves_the_certificate_to_caddy_unless_one_is_given() -> None:
    own = render_hosting("caddy", DOMAIN, POLICY).files["Caddyfile"]
    assert f"{HOST} {{" in own and "tls " not in own and "bind " not in own
    given = render_hosting("caddy", DOMAIN, POLICY, cert_path="/c.pem", key_path="/k.pem").files["Caddyfile"]
    assert '\ttls "/c.pem" "/k.pem"' in given
    with pytest.raises(HostingError, match="both"):
        render_hosting("caddy", DOMAIN, POLICY, cert_path="/c.pem")


def test_github_pages_folder_file_by_file(tmp_path: Path) -> None:
    bundle = render_hosting("github-pages", DOMAIN, POLICY)
    assert sorted(bundle.files) == [".nojekyll", ".well-known/mta-sts.txt", "CNAME", "_config.yml"]
    result = write_bundle(bundle, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in result.written) == sorted(bundle.files)
    assert (tmp_path / ".well-known" / "mta-sts.txt").read_text() == POLICY
    assert (tmp_path / "CNAME").read_text() == f"{HOST}\n"
    assert (tmp_path / ".nojekyll").read_bytes() == b""
    assert (tmp_path / "_config.yml").read_text() == 'include: [".well-known"]\n'
    assert bundle.dns_hint == f"{HOST}. 3600 IN CNAME <your-github-user>.github.io."
    assert any("Enforce HTTPS" in note for note in bundle.notes)


def test_netlify_folder_file_by_file(tmp_path: Path) -> None:
    bundle = render_hosting("netlify", DOMAIN, POLICY)
    assert sorted(bundle.files) == [".well-known/mta-sts.txt", "_headers"]
    write_bundle(bundle, tmp_path)
    assert (tmp_path / ".well-known" / "mta-sts.txt").read_text() == POLICY
    # Netlify's _headers format: a path line, then indented "Name: value" lines for it.
    path_line, *header_lines = (tmp_path / "_headers").read_text().splitlines()
    assert path_line == POLICY_PATH
    headers = dict(line.strip().split(": ", 1) for line in header_lines)
    assert headers == {"Content-Type": "text/plain; charset=utf-8"}
    assert all(line.startswith("  ") for line in header_lines)
    assert any("primary" in note for note in bundle.notes), "alias domains redirect on Netlify"


def test_cloudflare_wrangler_config_is_valid_toml() -> None:
    wrangler = tomllib.loads(render_hosting("cloudflare-workers", DOMAIN, POLICY).files["wrangler.toml"])
    assert wrangler["main"] == "worker.js"
    assert wrangler["routes"] == [{"pattern": f"{HOST}/*", "zone_name": DOMAIN}]
    assert wrangler["name"] == "mta-sts-example-com"


def test_folder_writes_only_the_policy_file_into_the_named_directory(tmp_path: Path) -> None:
    target = tmp_path / "site-root"
    result = write_bundle(render_hosting("folder", DOMAIN, POLICY), target)
    assert result.written == [target / ".well-known" / "mta-sts.txt"]
    assert [p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()] == [POLICY_FILE]
    assert stat.S_IMODE((target / POLICY_FILE).stat().st_mode) == 0o644


def test_rewriting_the_same_bundle_changes_nothing(tmp_path: Path) -> None:
    bundle = render_hosting("nginx", DOMAIN, POLICY)
    first = write_bundle(bundle, tmp_path)
    assert len(first.written) == 2 and not first.conflicts
    again = write_bundle(bundle, tmp_path)
    assert (again.written, again.conflicts) == ([], [])
    assert sorted(again.unchanged) == sorted(first.written)


def test_a_different_existing_file_is_never_replaced_without_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / POLICY_FILE
    existing.parent.mkdir(parents=True)
    existing.write_text("version: STSv1\nmode: enforce\nmx: old.example.com\nmax_age: 604800\n")
    before = existing.read_bytes()
    bundle = render_hosting("github-pages", DOMAIN, POLICY)
    result = write_bundle(bundle, tmp_path)
    assert result.conflicts == [existing] and not result.ok
    assert result.written == []
    assert existing.read_bytes() == before
    assert not (tmp_path / "CNAME").exists(), "no half-written bundle next to a conflict"

    forced = write_bundle(bundle, tmp_path, overwrite=True)
    assert forced.ok and existing.read_text() == POLICY and (tmp_path / "CNAME").exists()


def test_a_directory_in_the_way_is_a_conflict_even_with_overwrite(tmp_path: Path) -> None:
    (tmp_path / POLICY_FILE).mkdir(parents=True)
    result = write_bundle(render_hosting("folder", DOMAIN, POLICY), tmp_path, overwrite=True)
    assert result.conflicts == [tmp_path / POLICY_FILE]


def test_crlf_policy_text_is_written_byte_for_byte(tmp_path: Path) -> None:
    crlf = POLICY.replace("\n", "\r\n")
    write_bundle(render_hosting("folder", DOMAIN, crlf), tmp_path)
    assert (tmp_path / POLICY_FILE).read_bytes() == crlf.encode()


@pytest.mark.parametrize(
    "domain",
    ["localhost", "exa mple.com", "example.com;", "bücher.example", 'x"y.com', "-bad.example", "a..b"],
)
def test_names_that_could_break_a_config_file_are_refused(domain: str) -> None:
    with pytest.raises(HostingError, match="A-label"):
        render_hosting("nginx", domain, POLICY)


def test_an_idn_in_a_label_form_is_accepted() -> None:
    bundle = render_hosting("caddy", "xn--bcher-kva.example", POLICY)
    assert bundle.policy_host == "mta-sts.xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("cert_path", "certs/fullchain.pem", "absolute path"),
        ("key_path", '/etc/ssl/"evil".key', "cannot hold"),
        ("web_root", "/srv/www;root /", "cannot hold"),
        ("listen_address", "eth0", "not an IP address"),
    ],
)
def test_unsafe_server_options_are_refused_with_advice(option: str, value: str, message: str) -> None:
    with pytest.raises(HostingError, match=message):
        render_hosting("nginx", DOMAIN, POLICY, **{option: value})


def test_unknown_kind_lists_the_choices() -> None:
    with pytest.raises(HostingError, match="nginx, apache, caddy, github-pages, netlify, cloudflare-workers, folder"):
        render_hosting("iis", DOMAIN, POLICY)
