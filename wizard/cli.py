"""The command line: `mta-sts-wizard [DOMAIN]` opens the wizard, subcommands automate it.

Every command lives in `wizard.commands.<name>` and registers itself here. Errors in
arguments or input print one line on stderr and exit 2 (CONTRACT.md); nothing the
user typed ends in a traceback. Output that cannot be written (a full disk, a closed
stdout) is one line and exit 2 too; output into a pipe whose reader has gone (`| head`)
ends quietly with 141, what a shell reports for a command SIGPIPE ended (an exit code
CONTRACT.md does not list yet, beside the 130 of Ctrl-C).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
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
from wizard.text import shown

COMMANDS = ("check", "generate", "lint", "monitor", "publish", "reports", "status")
#: The shell's code for a process ended by SIGPIPE (128 + 13), as for 130 on Ctrl-C.
EXIT_BROKEN_PIPE = 141


class OutputError(Exception):
    """Writing to standard output failed (a closed pipe, a full disk): not the command's fault."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.errno = error.errno


class _GuardedOutput:
    """Standard output whose write errors become OutputError, so main() can tell them apart from
    an OSError of the command's own work and answer with one line instead of a traceback."""

    def __init__(self, stream: object) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)  # type: ignore[attr-defined,no-any-return]
        except OSError as exc:
            raise OutputError(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()  # type: ignore[attr-defined]
        except OSError as exc:
            raise OutputError(exc) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


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
            return _command(args_list)
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
    except UsageError as exc:  # messages may quote what a peer or a file said: escaped, one line
        sys.stderr.write(f"{PROG}: {shown(str(exc))}\n")
        return EXIT_USAGE
    except CannotRunError as exc:
        sys.stderr.write(f"{PROG}: {shown(str(exc))}\n")
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except OutputError as exc:
        _drop_output()
        if exc.errno == errno.EPIPE:  # the reader went away (`| head`): nothing to say, as for SIGPIPE
            return EXIT_BROKEN_PIPE
        sys.stderr.write(f"{PROG}: cannot write the output: {exc}; check the disk or the file it goes to\n")
        return EXIT_USAGE


def _command(args_list: list[str]) -> int:
    """Run a subcommand with its standard output guarded, flushed before returning."""
    real = sys.stdout
    if real is None:
        raise UsageError("standard output is closed; run the command with its output to a terminal, file or pipe")
    sys.stdout = _GuardedOutput(real)  # type: ignore[assignment]
    try:
        args = build_parser().parse_args(args_list)
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    finally:
        sys.stdout = real


def _drop_output() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush at exit cannot fail
    again and print a traceback of its own ("Exception ignored ... BrokenPipeError")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests capture it)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
