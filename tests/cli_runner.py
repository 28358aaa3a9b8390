"""Run the command line in the test process: `run_cli("check", name, "--json")`.

`wizard.cli.main(argv)` with its own standard input, output, error and environment, returning
what `subprocess.run(..., capture_output=True, text=True)` would: exit code, stdout, stderr.
Tests whose subject is a command's behaviour use it and save a Python start-up (~0.3 s) per
run; tests of the process itself (entry points, closed or broken pipes, signals, several
processes at once, a terminal) keep a real subprocess.

An exception the command does not handle is not turned into exit code 1 and a traceback on
stderr, as a subprocess would show it: it fails the test at once, with its traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from wizard.cli import main


@dataclass
class CliResult:
    """What a finished command left: the fields of a `subprocess.CompletedProcess[str]`."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


_LOCK = threading.Lock()  # sys.std* and os.environ are process-wide: one command at a time


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    """os.environ replaced by `env` (as subprocess's env=), restored afterwards."""
    if env is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run(argv: list[str], stdin: str | bytes | None, env: Mapping[str, str] | None) -> CliResult:
    data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
    # A text stream over bytes, like a real stdin: `lint -` reads sys.stdin.buffer.
    fake_in = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    saved_in = sys.stdin
    with _LOCK, _environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.stdin = fake_in
        try:
            code: int | str | None = main(argv)
        except SystemExit as exc:  # argparse's --help and --version
            code = exc.code
        finally:
            sys.stdin = saved_in
    if isinstance(code, str):  # SystemExit("message"): printed on stderr, exit 1
        err.write(code + "\n")
        code = 1
    return CliResult(argv, int(code or 0), out.getvalue(), err.getvalue())


def run_cli(*args: str, stdin: str | bytes | None = None, env: Mapping[str, str] | None = None) -> CliResult:
    """`mta-sts-wizard ARGS...` in this process; `stdin` is the whole input (none: empty, as
    /dev/null), `env` the whole environment (none: this process's). For sync tests only: main()
    runs its own event loop with asyncio.run, which cannot start inside an async test's loop."""
    return _run(list(args), stdin, env)
