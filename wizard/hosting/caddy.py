"""Caddy: one site block; Caddy obtains and renews the certificate itself.

Caddy's automatic HTTPS also answers the ACME challenges and redirects port 80 to 443, so
the block only has to say what the policy host serves: the policy file as text/plain at
its one path, and 404 for everything else.
"""

from __future__ import annotations

from wizard.hosting.bundle import (
    POLICY_FILE,
    POLICY_PATH,
    HostingBundle,
    HostingError,
    check_path_option,
    default_web_root,
    dns_note,
    policy_host_of,
    policy_update_note,
    server_dns_hint,
    split_listen,
)

KIND = "caddy"
TITLE = "Caddy"


def render(
    domain: str,
    policy_text: str,
    *,
    cert_path: str | None = None,
    key_path: str | None = None,
    web_root: str | None = None,
    listen_address: str | None = None,
) -> HostingBundle:
    """The Caddyfile site block plus the web root holding the policy file.

    With `cert_path` and `key_path` the block uses that certificate (`tls cert key`) instead of
    asking a CA for one; both must be given together.
    """
    host = policy_host_of(domain)
    root = check_path_option(web_root or default_web_root(host), "web root")
    address = split_listen(listen_address)
    lines = [
        f"# MTA-STS policy host for {domain}, made by mta-sts-wizard.",
        f"# Senders fetch https://{host}{POLICY_PATH} and accept only status 200, text/plain,",
        f"# a certificate valid for {host}, and never a redirect (RFC 8461 §3.3).",
        f"{host} {{",
    ]
    if address:
        lines.append(f"\tbind {address}")
    if cert_path or key_path:
        if not (cert_path and key_path):
            raise HostingError("Caddy needs both --cert and --key, or neither (then Caddy gets a certificate itself)")
        cert = check_path_option(cert_path, "certificate path")
        key = check_path_option(key_path, "key path")
        lines.append(f'\ttls "{cert}" "{key}"')
    if len(lines) > 4:
        lines.append("")
    lines += [
        f"\t@policy path {POLICY_PATH}",
        "\thandle @policy {",
        f'\t\troot * "{root}"',
        '\t\theader Content-Type "text/plain; charset=utf-8"',
        "\t\tfile_server",
        "\t}",
        "",
        "\t# Nothing else lives on this host.",
        "\thandle {",
        "\t\trespond 404",
        "\t}",
        "}",
    ]
    if cert_path:
        cert_note = (
            f"Certificate: the block uses {cert_path} and {key_path}; Caddy will not renew them, so replace "
            "them before they expire (or drop the tls line and let Caddy manage the certificate)."
        )
    else:
        cert_note = (
            f"Certificate: Caddy gets one for {host} from Let's Encrypt or ZeroSSL and renews it by itself; "
            "ports 80 and 443 must reach Caddy from the internet and the DNS record must be in place first."
        )
    notes = [
        f"Add the block in Caddyfile to /etc/caddy/Caddyfile (or import it from there) and copy the contents "
        f"of webroot/ to {root} (the policy lands at {root}/{POLICY_FILE}).",
        cert_note,
        dns_note(host),
        f"Run 'caddy validate --config /etc/caddy/Caddyfile' and 'systemctl reload caddy', "
        f"then 'mta-sts-wizard check {domain}'.",
        policy_update_note(),
    ]
    return HostingBundle(
        kind=KIND,
        title=TITLE,
        files={"Caddyfile": "\n".join(lines) + "\n", f"webroot/{POLICY_FILE}": policy_text},
        notes=notes,
        dns_hint=server_dns_hint(host),
        policy_host=host,
    )
