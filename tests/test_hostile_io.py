"""Closed or failing standard streams (issue 14, items 9 and 14): one line and a clear exit, never a
traceback, never a hang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(args: list[str], tmp_path: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MTA_STS_WIZARD_HOME": str(tmp_path / "state")}
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        [sys.executable, "-m", "wizard", *args], env=env, text=True, stderr=subprocess.PIPE, timeout=60, **kw
    )


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_lint_of_a_closed_stdin_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli(["lint", "-"], tmp_path, stdout=subprocess.PIPE, pass_fds=(), preexec_fn=lambda: os.close(0))
    assert result.returncode == 2
    assert "standard input is closed" in one_line(result.stderr)


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone, as after `| head -c1`
    try:
        result = run_cli(["generate", "example.com", "--mx", "mail.example.com"], tmp_path, stdout=write_end)
    finally:
        os.close(write_end)
    assert result.returncode == 141  # 128 + SIGPIPE, what a shell reports for a command the pipe ended
    assert result.stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_to_a_full_disk_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        result = run_cli(["generate", "example.com", "--mx", "mail.example.com"], tmp_path, stdout=full)
    assert result.returncode == 2
    assert "cannot write the output: No space left on device" in one_line(result.stderr)


def test_a_closed_stdout_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli(["lint", "--txt", "v=STSv1; id=1"], tmp_path, preexec_fn=lambda: os.close(1))
    assert result.returncode == 2
    assert "standard output is closed" in one_line(result.stderr)


def test_the_wizard_without_a_terminal_exits_2_at_once(tmp_path: Path) -> None:
    result = run_cli(
        ["example.com", "--nameserver", "127.0.0.1:9"], tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
    )
    assert result.returncode == 2
    assert "the wizard needs a terminal" in one_line(result.stderr)
    assert result.stdout == ""  # no escape sequence written into a file or pipe
