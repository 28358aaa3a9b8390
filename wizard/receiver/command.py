"""`reports serve [--listen ADDR:PORT] [--cert FILE --key FILE] [--max-bytes N]`: the CLI of the receiver.

Options beyond CONTRACT.md's line: `--timeout SECONDS` (the network option every command has; here
the time a client gets for a request's headers, and again for its body) and `--state-dir`.
Exit codes: 0 after SIGINT/SIGTERM, 2 bad usage (a bad address, certificate or key), 3 the
address cannot be bound or the store cannot be opened.
"""

from __future__ import annotations

import argparse
import re
import sys

from wizard.commands.common import EXIT_CANNOT_RUN, EXIT_OK, UsageError, add_state_dir_option, state_dir
from wizard.receiver import DEFAULT_LISTEN, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT
from wizard.reports.parse import MAX_REPORT_BYTES
from wizard.reports.store import StoreError, store_path

_SIZE = re.compile(r"(\d+)\s*([kKmM]?)(?:i?[bB])?")
#: The smallest --max-bytes: a gzip'd report is rarely under a few hundred bytes.
MIN_MAX_BYTES = 1024


def max_bytes(text: str) -> int:
    """`N`, `NK` or `NM` (binary units) between 1 KiB and the parser's own cap (20 MiB)."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"expected a size in bytes such as 10485760 or 10M, got {text!r}")
    value = int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]
    if not MIN_MAX_BYTES <= value <= MAX_REPORT_BYTES:
        raise argparse.ArgumentTypeError(f"expected between 1K and {MAX_REPORT_BYTES // (1024 * 1024)}M, got {text}")
    return value


def register(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from wizard.commands.common import positive_float

    p = actions.add_parser(
        "serve",
        help="receive reports POSTed to an rua=https: endpoint (RFC 8460) into the store",
        description=(
            "Receive TLSRPT reports that senders POST to your rua=https:// URI, into the same store "
            "'reports import' fills (the same checks and deduplication). Any path is accepted. Runs in the "
            "foreground, one log line per request, until Ctrl-C or SIGTERM. Put it behind nginx or Caddy "
            "(TLS there), or give --cert and --key to serve HTTPS itself."
        ),
    )
    p.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="ADDR:PORT",
        help=f"address and port to listen on (default {DEFAULT_LISTEN}; [::]:443 for every address)",
    )
    p.add_argument("--cert", metavar="FILE", help="serve HTTPS with this PEM certificate chain (with --key)")
    p.add_argument("--key", metavar="FILE", help="the certificate's unencrypted PEM private key (with --cert)")
    p.add_argument(
        "--max-bytes",
        type=max_bytes,
        default=DEFAULT_MAX_BYTES,
        metavar="N",
        help="largest report accepted, as sent (compressed); 10M by default, 20M at most",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time a client has for a request's headers, and again for its body (default {DEFAULT_TIMEOUT:g})",
    )
    add_state_dir_option(p)
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from wizard.receiver.server import ServeSettings, parse_listen, serve, write_line

    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if bool(args.cert) != bool(args.key):
        raise UsageError("--cert and --key go together: give both to serve HTTPS, or neither for plain HTTP")
    settings = ServeSettings(
        host=host,
        port=port,
        store_path=store_path(state_dir(args.state_dir)),
        cert=args.cert,
        key=args.key,
        max_bytes=args.max_bytes,
        timeout=args.timeout,
    )

    def ready(url: str) -> None:
        write_line(
            f"receiving TLS reports at {url} (any path) into {settings.store_path}; "
            f"at most {settings.max_bytes} bytes a report; Ctrl-C stops"
        )

    try:
        tally = serve(settings, write_line, ready=ready)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        hint = "; ports below 1024 need root or CAP_NET_BIND_SERVICE" if isinstance(exc, PermissionError) else ""
        sys.stderr.write(f"mta-sts-wizard: cannot listen on {args.listen}: {exc.strerror or exc}{hint}\n")
        return EXIT_CANNOT_RUN
    except StoreError as exc:
        sys.stderr.write(f"mta-sts-wizard: {exc}\n")
        return EXIT_CANNOT_RUN
    write_line(f"stopped: {tally.render()}")
    return EXIT_OK
