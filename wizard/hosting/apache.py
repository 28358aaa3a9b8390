"""Apache httpd: a pair of virtual hosts for `mta-sts.<domain>` (443 serves, 80 redirects).

Like the nginx bundle, the policy is a file in a web root of its own, so a policy update is
a file copy. mod_ssl, mod_alias and mod_mime are all it needs (Debian enables the last two
by default; `a2enmod ssl` adds the first).
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

KIND = "apache"
TITLE = "Apache httpd"


def render(
    domain: str,
    policy_text: str,
    *,
    cert_path: str | None = None,
    key_path: str | None = None,
    web_root: str | None = None,
    listen_address: str | None = None,
) -> HostingBundle:
    """The site file (both virtual hosts) plus the web root holding the policy file."""
    setup = server_setup(domain, cert_path, key_path, web_root, listen_address)
    host, cert, key, root, address = setup.host, setup.cert, setup.key, setup.root, setup.address
    tls_addr = host_port(address, 443) if address else "*:443"
    plain_addr = host_port(address, 80) if address else "*:80"
    directory = (
        f'    <Directory "{root}">\n'
        "        Options None\n"
        "        AllowOverride None\n"
        "        Require all granted\n"
        "    </Directory>\n"
    )
    config = (
        f"# MTA-STS policy host for {domain}, made by mta-sts-wizard.\n"
        f"# Senders fetch https://{host}{POLICY_PATH} and accept only status 200, text/plain,\n"
        f"# a certificate valid for {host}, and never a redirect (RFC 8461 §3.3).\n"
        f"# Install as /etc/apache2/sites-available/{host}.conf, then a2enmod ssl, a2ensite {host},\n"
        "# apache2ctl configtest and systemctl reload apache2.\n"
        "\n"
        f"<VirtualHost {tls_addr}>\n"
        f"    ServerName {host}\n"
        f'    DocumentRoot "{root}"\n'
        "\n"
        "    SSLEngine on\n"
        f'    SSLCertificateFile "{cert}"\n'
        f'    SSLCertificateKeyFile "{key}"\n'
        "\n"
        f"{directory}"
        "\n"
        "    # Exactly the policy path, as text/plain whatever the MIME table says.\n"
        f'    <Location "{POLICY_PATH}">\n'
        "        ForceType text/plain\n"
        "    </Location>\n"
        "\n"
        "    # Nothing else lives on this host.\n"
        "    RedirectMatch 404 ^/(?!\\.well-known/mta-sts\\.txt$)\n"
        "</VirtualHost>\n"
        "\n"
        f"<VirtualHost {plain_addr}>\n"
        f"    ServerName {host}\n"
        f'    DocumentRoot "{root}"\n'
        "\n"
        f"{directory}"
        "\n"
        "    # Let's Encrypt HTTP-01 challenges (certbot --webroot) are answered over plain HTTP;\n"
        "    # everything else goes to HTTPS, the only scheme senders use.\n"
        f"    RedirectMatch 301 ^/(?!\\.well-known/acme-challenge/)(.*)$ https://{host}/$1\n"
        "</VirtualHost>\n"
    )
    conf_name = f"apache2/{host}.conf"
    if cert_path or key_path:
        cert_note = (
            f"Certificate: the virtual host uses {cert} and {key}; the chain file must hold the certificate "
            f"for {host} followed by its intermediates, from a public CA."
        )
    else:
        cert_note = (
            f"Certificate: Let's Encrypt with certbot. Apache refuses to start while {cert} is missing, so "
            f"enable the site with the 443 virtual host commented out, run 'certbot certonly --webroot -w {root} "
            f'-d {host} --deploy-hook "systemctl reload apache2"\', then enable it; certbot renews it by itself.'
        )
    notes = [
        f"Copy {conf_name} to /etc/apache2/sites-available/{host}.conf and the contents of webroot/ to {root} "
        f"(the policy lands at {root}/{POLICY_FILE}); then 'a2enmod ssl' and 'a2ensite {host}'.",
        cert_note,
        dns_note(host),
        f"Run 'apache2ctl configtest' and 'systemctl reload apache2', then 'mta-sts-wizard check {domain}'.",
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
