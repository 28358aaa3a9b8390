"""Pieces every command shares: exit codes, the one-line usage error, network options."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from wizard.nameserver import parse_nameserver

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_CANNOT_RUN = 3

PROG = "mta-sts-wizard"
#: --deadline: the most one domain's whole check may take (CONTRACT "Options every network command takes").
DEFAULT_DEADLINE = 60.0


class UsageError(Exception):
    """Bad arguments or input: printed as one line on stderr, exit code 2."""


class CannotRunError(Exception):
    """The checks themselves could not run (no resolver reachable): one line on stderr, exit code 3."""


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus an error; the contract wants a single line."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{PROG}: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def add_network_options(parser: argparse.ArgumentParser) -> None:
    """The options every network command takes (CONTRACT.md)."""
    parser.add_argument(
        "--nameserver",
        action="append",
        default=[],
        metavar="ADDR[:PORT]",
        help="resolve through this server instead of the system's (repeatable)",
    )
    parser.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="trust these roots instead of the system's (SSL_CERT_FILE is honoured too)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        metavar="SECONDS",
        help="deadline for each network operation (default 10; policy fetch 60 at most)",
    )
    parser.add_argument(
        "--deadline",
        type=positive_float,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help="the most one domain's whole check may take (default 60); what is not reached is a finding",
    )
    add_state_dir_option(parser)


def add_state_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="where saved progress and reports live (default: platform data dir, or MTA_STS_WIZARD_HOME)",
    )


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 3600, got {text}")
    return value


def state_dir(explicit: str | None) -> Path:
    """--state-dir, else $MTA_STS_WIZARD_HOME, else the platform's user data dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("MTA_STS_WIZARD_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("mta-sts-wizard", appauthor=False))


#: A CA bundle larger than this is refused before it is read (the system's is about 200 KiB).
MAX_CA_BUNDLE_BYTES = 64 << 20


def ca_bundle(explicit: str | None) -> str | None:
    """--ca-bundle, else SSL_CERT_FILE, else None (the system's roots).

    The file is loaded once here, so one that holds no PEM certificate is a usage error
    naming the file, not a "TLS handshake failed" finding on every host later.
    """
    path = explicit or os.environ.get("SSL_CERT_FILE") or None
    if not path:
        return None
    where = f"CA bundle {path}" + ("" if explicit else " (from SSL_CERT_FILE)")
    if not Path(path).is_file():
        raise UsageError(f"{where} is not a readable file; give a PEM file of root certificates")
    try:
        too_big = Path(path).stat().st_size > MAX_CA_BUNDLE_BYTES
    except OSError as exc:
        raise UsageError(f"{where} cannot be read ({exc.strerror}); give a PEM file of root certificates") from None
    if too_big:
        raise UsageError(f"{where} is over {MAX_CA_BUNDLE_BYTES >> 20} MiB; give a PEM file of root certificates")
    import ssl

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        raise UsageError(
            f"{where} is not a PEM bundle of certificates ({reason}); give a file of "
            "'-----BEGIN CERTIFICATE-----' blocks"
        ) from None
    except OSError as exc:
        raise UsageError(f"{where} cannot be read ({exc.strerror}); give a PEM file of root certificates") from None
    return path


@dataclass(frozen=True)
class NetworkSettings:
    """The parsed network options, in the form the engine takes."""

    nameservers: tuple[str, ...]
    ca_bundle: str | None
    timeout: float
    deadline: float = DEFAULT_DEADLINE


def network_settings(args: argparse.Namespace) -> NetworkSettings:
    servers = []
    for ns in args.nameserver:
        try:
            parse_nameserver(ns)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        servers.append(ns)
    deadline = getattr(args, "deadline", DEFAULT_DEADLINE)
    return NetworkSettings(tuple(servers), ca_bundle(args.ca_bundle), args.timeout, deadline)


#: The most domains one `check` or `monitor` run takes.
MAX_DOMAINS = 1000


def domains_from_args(texts: list[str], what: str) -> list[str]:
    """The domains given on the command line, normalised to A-labels, each once, in order; a bad
    one is a usage error that names it (escaped: it may have been pasted from anywhere)."""
    from wizard.domain import DomainError, normalise_domain
    from wizard.text import shown

    if len(texts) > MAX_DOMAINS:
        raise UsageError(f"{len(texts)} domains given; {what} at most {MAX_DOMAINS} at a time")
    domains: list[str] = []
    for text in texts:
        try:
            domains.append(normalise_domain(text).ascii)
        except DomainError as exc:
            raise UsageError(f"{shown(text)!r}: {exc}") from None
    return list(dict.fromkeys(domains))
