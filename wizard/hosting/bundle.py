"""The shape every hosting kind produces, and the one safe way to put it on disk.

Step 2 of the guide hands the user files to deploy (a server block, a Worker, a folder
to commit). Each hosting module renders a `HostingBundle`; `write_bundle` writes it
without ever replacing a different file the user already has, because a silently
overwritten web server config or policy file is exactly the kind of surprise that
breaks mail delivery in enforce mode.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: RFC 8461 §3.3: the one path senders fetch.
POLICY_PATH = "/.well-known/mta-sts.txt"
#: The same path as a relative file name inside a web root or a bundle.
POLICY_FILE = ".well-known/mta-sts.txt"

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class HostingError(ValueError):
    """The hosting files cannot be made from these inputs; str(error) says what to change."""


@dataclass(frozen=True)
class HostingBundle:
    """What the user deploys for one hosting kind.

    `files` maps a relative path (always `/`-separated) to its text; `notes` are the short
    instructions shown next to the files (certificate, DNS, where to copy things);
    `dns_hint` is the one DNS record that makes `mta-sts.<domain>` reach this host.
    """

    kind: str
    title: str
    files: dict[str, str]
    notes: list[str] = field(default_factory=list)
    dns_hint: str = ""
    #: The host name the bundle serves: `mta-sts.<domain>`.
    policy_host: str = ""

    @property
    def policy_url(self) -> str:
        """The URL senders fetch (RFC 8461 §3.3)."""
        return f"https://{self.policy_host}{POLICY_PATH}"


@dataclass
class WriteResult:
    """What `write_bundle` did, file by file, so the caller can tell the user exactly that."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file of the bundle is now on disk as rendered."""
        return not self.conflicts


def check_domain(domain: str) -> str:
    """Return the domain lowercased, or raise HostingError.

    Callers pass A-labels (wizard.domain has already normalised what the user typed); this
    check only guarantees nothing but LDH labels reaches a config file, where a stray quote,
    brace or semicolon would change its meaning.
    """
    name = domain.strip().lower().removesuffix(".")
    labels = name.split(".")
    if len(labels) < 2 or len(name) > 253 - len("mta-sts.") or not all(_LABEL.match(label) for label in labels):
        raise HostingError(f"{domain!r} is not a domain in A-label form; type a name like example.com")
    return name


def check_path_option(value: str, what: str) -> str:
    """An absolute path for a config file, or HostingError.

    Paths land inside quoted config strings, so quotes, newlines and the like are refused
    rather than escaped differently for every server.
    """
    if not value.startswith("/"):
        raise HostingError(f"the {what} {value!r} must be an absolute path (starting with /)")
    if any(ch in value for ch in "\"'`\\;{}$#") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise HostingError(f"the {what} {value!r} contains a character config files cannot hold; use a plain path")
    return value


def _safe_relative(rel: str) -> PurePosixPath:
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise HostingError(f"bundle path {rel!r} must stay inside the output folder")
    return path


def write_bundle(bundle: HostingBundle, out_dir: Path, overwrite: bool = False) -> WriteResult:
    """Write the bundle's files under `out_dir`.

    A file that already holds exactly the rendered text is left alone (`unchanged`). A file
    that holds something else is a conflict: unless `overwrite` is true, nothing at all is
    written then, so the user never ends up with half a bundle next to their old files.
    Each file is written to a temporary name and renamed, so a crash leaves old or new
    content, never a truncated policy.
    """
    out_dir = Path(out_dir)
    plan: list[tuple[Path, bytes]] = []
    result = WriteResult()
    for rel, text in bundle.files.items():
        target = out_dir.joinpath(*_safe_relative(rel).parts)
        data = text.encode("utf-8")
        if target.is_dir():
            result.conflicts.append(target)
            continue
        if target.exists():
            try:
                same = target.read_bytes() == data
            except OSError:
                same = False
            if same:
                result.unchanged.append(target)
                continue
            if not overwrite:
                result.conflicts.append(target)
                continue
        plan.append((target, data))
    if result.conflicts:
        return result
    for target, data in plan:
        _atomic_write(target, data)
        result.written.append(target)
    return result


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # Web servers often run as another user: make the file world-readable like a normal upload.
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def policy_host_of(domain: str) -> str:
    """`mta-sts.<domain>`, after checking the domain is safe to put in a config file."""
    return f"mta-sts.{check_domain(domain)}"


def letsencrypt_paths(host: str) -> tuple[str, str]:
    """Where certbot puts the chain and key for `host` (its default live/ layout)."""
    return f"/etc/letsencrypt/live/{host}/fullchain.pem", f"/etc/letsencrypt/live/{host}/privkey.pem"


def default_web_root(host: str) -> str:
    """A web root of its own for the policy host, in the distribution's usual place."""
    return f"/var/www/{host}"


def server_dns_hint(host: str) -> str:
    """The record that points the policy host at a server the user runs."""
    return f"{host}. 3600 IN A <your web server's IPv4 address>  (and AAAA <its IPv6 address> if it has one)"


def dns_note(host: str) -> str:
    return (
        f"DNS: {host} must resolve to this server (A/AAAA, or a CNAME to its name); every address it "
        "resolves to must serve the same policy, because senders may pick any of them."
    )


def policy_update_note() -> str:
    return (
        "When the policy changes later, replace the policy file first and only then publish a new id "
        "in the _mta-sts TXT record (RFC 8461 §8.1)."
    )


@dataclass(frozen=True)
class ServerSetup:
    """The names and paths a server config for the policy host needs, checked and defaulted."""

    host: str
    cert: str
    key: str
    root: str
    address: str | None


def server_setup(
    domain: str, cert_path: str | None, key_path: str | None, web_root: str | None, listen_address: str | None
) -> ServerSetup:
    """nginx and Apache alike: certbot's certificate paths and /var/www/mta-sts.<domain> unless given."""
    host = policy_host_of(domain)
    le_cert, le_key = letsencrypt_paths(host)
    return ServerSetup(
        host=host,
        cert=check_path_option(cert_path or le_cert, "certificate path"),
        key=check_path_option(key_path or le_key, "key path"),
        root=check_path_option(web_root or default_web_root(host), "web root"),
        address=split_listen(listen_address),
    )


def split_listen(listen_address: str | None) -> str | None:
    """Validate an IP address to bind to; returns it unchanged (None means all addresses)."""
    if listen_address is None:
        return None
    import ipaddress

    try:
        ipaddress.ip_address(listen_address)
    except ValueError:
        raise HostingError(f"listen address {listen_address!r} is not an IP address; give e.g. 192.0.2.10") from None
    return listen_address


def host_port(address: str, port: int) -> str:
    """`addr:port`, with brackets around IPv6 addresses as every server's syntax wants."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
