"""nginx: a server block of its own for `mta-sts.<domain>`.

The policy is served from a small web root as a file, not embedded in the config, so a later
policy change (the mode switch of step 6) is a file copy, not a config edit and reload; and
nothing in the policy text can be misread as nginx syntax (a `$` would be a variable there).
"""

from __future__ import annotations

from wizard.hosting.bundle import (
    POLICY_FILE,
    POLICY_PATH,
    HostingBundle,
    dns_note,
    host_port,
    policy_update_note,
    server_dns_hint,
    server_setup,
)

KIND = "nginx"
TITLE = "nginx"


def render(
    domain: str,
    policy_text: str,
    *,
    cert_path: str | None = None,
    key_path: str | None = None,
    web_root: str | None = None,
    listen_address: str | None = None,
) -> HostingBundle:
    """The server block plus the web root holding the policy file."""
    setup = server_setup(domain, cert_path, key_path, web_root, listen_address)
    host, cert, key, root, address = setup.host, setup.cert, setup.key, setup.root, setup.address
    if address is None:
        listen_tls = "    listen 443 ssl;\n    listen [::]:443 ssl;\n"
        listen_plain = "    listen 80;\n    listen [::]:80;\n"
    else:
        listen_tls = f"    listen {host_port(address, 443)} ssl;\n"
        listen_plain = f"    listen {host_port(address, 80)};\n"
    config = (
        f"# MTA-STS policy host for {domain}, made by mta-sts-wizard.\n"
        f"# Senders fetch https://{host}{POLICY_PATH} and accept only status 200, text/plain,\n"
        f"# a certificate valid for {host}, and never a redirect (RFC 8461 §3.3).\n"
        f"# Install as /etc/nginx/sites-available/{host}, link it from sites-enabled, then nginx -t and reload.\n"
        "\n"
        "server {\n"
        f"{listen_tls}"
        f"    server_name {host};\n"
        "\n"
        f'    ssl_certificate     "{cert}";\n'
        f'    ssl_certificate_key "{key}";\n'
        "\n"
        f'    root "{root}";\n'
        "\n"
        "    # Exactly the policy path: the file itself, as text/plain, whatever its extension maps to.\n"
        f"    location = {POLICY_PATH} {{\n"
        "        types { }\n"
        "        default_type text/plain;\n"
        "    }\n"
        "\n"
        "    # Nothing else lives on this host.\n"
        "    location / {\n"
        "        return 404;\n"
        "    }\n"
        "}\n"
        "\n"
        "server {\n"
        f"{listen_plain}"
        f"    server_name {host};\n"
        "\n"
        "    # Let's Encrypt HTTP-01 challenges (certbot --webroot) are answered over plain HTTP.\n"
        "    location ^~ /.well-known/acme-challenge/ {\n"
        f'        root "{root}";\n'
        "        default_type text/plain;\n"
        "    }\n"
        "\n"
        "    # Senders only ever use HTTPS; send browsers there.\n"
        "    location / {\n"
        f"        return 301 https://{host}$request_uri;\n"
        "    }\n"
        "}\n"
    )
    conf_name = f"nginx/{host}.conf"
    notes = [
        f"Copy {conf_name} to /etc/nginx/sites-available/{host}, link it into /etc/nginx/sites-enabled/, "
        f"and copy the contents of webroot/ to {root} (the policy lands at {root}/{POLICY_FILE}).",
        _certificate_note(host, root, cert_path, key_path, cert, key),
        dns_note(host),
        "Run 'nginx -t' and 'systemctl reload nginx', then 'mta-sts-wizard check " + domain + "'.",
        policy_update_note(),
    ]
    return HostingBundle(
        kind=KIND,
        title=TITLE,
        files={conf_name: config, f"webroot/{POLICY_FILE}": policy_text},
        notes=notes,
        dns_hint=server_dns_hint(host),
        policy_host=host,
    )


def _certificate_note(host: str, root: str, cert_path: str | None, key_path: str | None, cert: str, key: str) -> str:
    if cert_path or key_path:
        return (
            f"Certificate: the server block uses {cert} and {key}; the chain file must hold the certificate "
            f"for {host} followed by its intermediates, from a public CA."
        )
    return (
        f"Certificate: Let's Encrypt with certbot. nginx refuses to start while {cert} is missing, so enable "
        f"the port-80 server first (comment out the 443 one), run 'certbot certonly --webroot -w {root} -d {host} "
        '--deploy-hook "systemctl reload nginx"\', then enable the 443 server; certbot renews it by itself.'
    )
