"""The command line: `mta-sts-wizard [DOMAIN]` opens the wizard, subcommands automate it.

Every command lives in `wizard.commands.<name>` and registers itself here. Errors in
arguments or input print one line on stderr and exit 2 (CONTRACT.md); nothing the
user typed ends in a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from wizard import __version__
from wizard.commands.common import (
    EXIT_CANNOT_RUN,
    EXIT_USAGE,
    PROG,
    CannotRunError,
    OneLineParser,
    UsageError,
    add_network_options,
)

COMMANDS = ("check", "generate", "lint", "monitor", "publish", "reports", "status")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Set up MTA-STS (RFC 8461) and TLS reporting (RFC 8460) for a domain, safely.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        module = importlib.import_module(f"wizard.commands.{name}")
        module.register(sub)
    return parser


def build_ui_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description=(
            "Open the interactive wizard for DOMAIN, or list the saved domains. "
            f"Commands: {', '.join(COMMANDS)} (see '{PROG} COMMAND --help')."
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("domain", nargs="?", help="the domain to set up or resume")
    add_network_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] in COMMANDS:
            args = build_parser().parse_args(args_list)
            return int(args.func(args))
        if args_list and args_list[0] in ("-h", "--help") and len(args_list) == 1:
            build_ui_parser().print_help()
            return 0
        first = args_list[0] if args_list else ""
        if first and not first.startswith("-") and "." not in first and first.isascii() and first.isalpha():
            raise UsageError(
                f"'{first}' is neither a command ({', '.join(COMMANDS)}) nor a full domain name; see '{PROG} --help'"
            )
        args = build_ui_parser().parse_args(args_list)
        from wizard.commands import interactive

        return interactive.run(args)
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return EXIT_USAGE
    except CannotRunError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
