"""Step 4: what must answer at an `https:` rua, as snippets to copy (pure functions, no I/O).

Senders POST each report to the URI (RFC 8460 §5.2), so a host must accept them there over HTTPS
with a certificate valid for its name. `mta-sts-wizard reports serve` is that receiver; these are
the ways to run it: behind nginx or Caddy (TLS and the certificate there, the receiver on
loopback), as a systemd service, or directly on the internet with `--cert/--key`.

The service writes into the state dir given (by default the one this wizard reads), so step 6
and `reports summary` see the reports it receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from wizard.receiver import DEFAULT_LISTEN, DEFAULT_MAX_BYTES

#: Where the distribution installs the program when nothing says otherwise (systemd wants a full path).
DEFAULT_EXECUTABLE = "/usr/local/bin/mta-sts-wizard"


_HOSTNAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")
#: A URI as written in the record: printable ASCII, no space, no quote, brace, backslash or ';'.
_SAFE = re.compile(r"[!#-:<-\[\]-z|~]+")
_UNSAFE = set('"{}\\;$')


@dataclass(frozen=True)
class ReceiverTarget:
    """The host, port and path an `https:` rua names (the path percent-decoded, as servers match it)."""

    uri: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Snippet:
    """One generated file or command: a title, a file name to save it under, the text."""

    title: str
    filename: str
    text: str


def receiver_target(uri: str) -> ReceiverTarget | None:
    """The target of an `https:` report URI, None for `mailto:` or anything unusable."""
    if not uri.lower().startswith("https://"):
        return None
    try:
        parts = urlsplit(uri)
        host, port = (parts.hostname or "").lower().rstrip("."), parts.port or 443
    except ValueError:
        return None
    path = unquote(parts.path) or "/"
    if not (_HOSTNAME.fullmatch(host) and _SAFE.fullmatch(uri) and path.isprintable()) or _UNSAFE & set(path):
        return None  # it would break (or inject into) the generated files; step 4 says what is wrong with it
    return ReceiverTarget(uri=uri, host=host, port=port, path=path)


def _quoted(text: str) -> str:
    """A double-quoted string as nginx and Caddy read one."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mb(max_bytes: int) -> int:
    return max(1, -(-max_bytes // (1024 * 1024)))


def nginx_proxy(target: ReceiverTarget, *, listen: str = DEFAULT_LISTEN, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """An nginx server block: TLS for the host, the rua path proxied to the receiver on loopback."""
    cert = f"/etc/letsencrypt/live/{target.host}/fullchain.pem"
    key = f"/etc/letsencrypt/live/{target.host}/privkey.pem"
    port = target.port
    return (
        f"# Receives TLS reports POSTed to {target.uri} (RFC 8460), made by mta-sts-wizard.\n"
        "# TLS ends here; the reports go to 'mta-sts-wizard reports serve' on loopback.\n"
        f"# Install as /etc/nginx/sites-available/{target.host}, link it from sites-enabled,\n"
        "# then nginx -t and reload.\n"
        "\n"
        "server {\n"
        f"    listen {port} ssl;\n"
        f"    listen [::]:{port} ssl;\n"
        f"    server_name {target.host};\n"
        "\n"
        f"    ssl_certificate     {_quoted(cert)};\n"
        f"    ssl_certificate_key {_quoted(key)};\n"
        "\n"
        f"    location = {_quoted(target.path)} {{\n"
        "        limit_except POST { deny all; }\n"
        f"        client_max_body_size {_mb(max_bytes)}m;\n"
        "        client_body_timeout 30s;\n"
        f"        proxy_pass http://{listen};\n"
        "        proxy_set_header Host $host;\n"
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "    }\n"
        "\n"
        "    location / {\n"
        "        return 404;\n"
        "    }\n"
        "}\n"
    )


def caddy_proxy(target: ReceiverTarget, *, listen: str = DEFAULT_LISTEN, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """A Caddyfile site: Caddy gets the certificate itself and proxies the rua path to the receiver."""
    site = target.host if target.port == 443 else f"{target.host}:{target.port}"
    return (
        f"# Receives TLS reports POSTed to {target.uri} (RFC 8460), made by mta-sts-wizard.\n"
        "# Caddy obtains the certificate; the reports go to 'mta-sts-wizard reports serve' on loopback.\n"
        "# Add to /etc/caddy/Caddyfile, then caddy validate and reload.\n"
        "\n"
        f"{site} {{\n"
        f"\thandle {_quoted(target.path)} {{\n"
        "\t\trequest_body {\n"
        f"\t\t\tmax_size {_mb(max_bytes)}MB\n"
        "\t\t}\n"
        f"\t\treverse_proxy {listen}\n"
        "\t}\n"
        "\thandle {\n"
        "\t\trespond 404\n"
        "\t}\n"
        "}\n"
    )


def _systemd_word(text: str) -> str:
    """One argument of ExecStart: quoted when it holds spaces, `%` doubled (systemd's specifiers)."""
    text = text.replace("%", "%%")
    if any(ch in text for ch in " \t\"'\\;"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def serve_command(
    *,
    executable: str = DEFAULT_EXECUTABLE,
    state_dir: str,
    listen: str = DEFAULT_LISTEN,
    cert: str | None = None,
    key: str | None = None,
) -> list[str]:
    """The receiver's command line as words."""
    words = [executable, "reports", "serve", "--listen", listen]
    if cert and key:
        words += ["--cert", cert, "--key", key]
    return [*words, "--state-dir", state_dir]


def systemd_unit(
    target: ReceiverTarget,
    *,
    executable: str = DEFAULT_EXECUTABLE,
    state_dir: str,
    user: str,
    direct: bool = False,
) -> str:
    """A systemd service running the receiver as `user`, writing into `state_dir`.

    `direct`: it serves HTTPS itself on the rua's port with the host's certificate (no proxy).
    """
    if direct:
        listen = f"[::]:{target.port}"
        cert = f"/etc/letsencrypt/live/{target.host}/fullchain.pem"
        key = f"/etc/letsencrypt/live/{target.host}/privkey.pem"
        command = serve_command(executable=executable, state_dir=state_dir, listen=listen, cert=cert, key=key)
        extra = (
            "# Ports below 1024 without root:\n"
            "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
            f"# {user} must be able to read {key} (e.g. a group with read access to it).\n"
        )
    else:
        command = serve_command(executable=executable, state_dir=state_dir)
        extra = ""
    return (
        "[Unit]\n"
        f"Description=mta-sts-wizard: receive TLS reports POSTed to {target.uri.replace('%', '%%')}\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        f"ExecStart={' '.join(_systemd_word(word) for word in command)}\n"
        f"User={user}\n"
        f"{extra}"
        "Restart=on-failure\n"
        "NoNewPrivileges=yes\n"
        "PrivateTmp=yes\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def receiver_snippets(
    uri: str, *, state_dir: str, user: str, executable: str = DEFAULT_EXECUTABLE
) -> tuple[str, list[Snippet]]:
    """What must serve an `https:` rua (one line), and the snippets that set it up; ("", []) for mailto:."""
    target = receiver_target(uri)
    if target is None:
        return "", []
    host = target.host
    where = host if target.port == 443 else f"{host}:{target.port}"
    what = (
        f"{uri}: senders POST their reports here, so {where} must accept HTTPS POSTs to {target.path} with a "
        f"certificate valid for {host}. 'mta-sts-wizard reports serve' receives them into the store step 6 "
        "reads: run it behind nginx or Caddy (TLS there), or directly with --cert/--key."
    )
    snippets = [
        Snippet("nginx reverse proxy (TLS in nginx)", f"{host}.nginx.conf", nginx_proxy(target)),
        Snippet("Caddy reverse proxy (Caddy gets the certificate)", f"{host}.Caddyfile", caddy_proxy(target)),
        Snippet(
            "systemd service behind the proxy",
            "mta-sts-wizard-reports.service",
            systemd_unit(target, executable=executable, state_dir=state_dir, user=user),
        ),
        Snippet(
            "Or no proxy: a systemd service serving HTTPS itself",
            "mta-sts-wizard-reports-direct.service",
            systemd_unit(target, executable=executable, state_dir=state_dir, user=user, direct=True),
        ),
    ]
    return what, snippets
