"""Shared by the benchmarks: the test world, served from its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class ServedWorld:
    """`python -m tests.world.serve` in a child process; closed by closing its stdin."""

    def __init__(
        self,
        *,
        domains: int,
        mx: int = 2,
        delay: float = 0.0,
        prefix: str = "bulk",
        knot: bool = False,
        bare: bool = False,
    ) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.world.serve",
                "--domains",
                str(domains),
                "--mx",
                str(mx),
                "--delay",
                str(delay),
                "--prefix",
                prefix,
                *(["--knot"] if knot else []),
                *(["--bare"] if bare else []),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        info: dict[str, Any] = json.loads(self.proc.stdout.readline())
        self.nameserver: str = info["nameserver"]
        self.ca_bundle: str = info["ca_bundle"]
        self.domains: list[str] = info["domains"]

    def options(self, **kw: Any) -> Any:
        from wizard.engine import CheckOptions

        return CheckOptions(nameservers=(self.nameserver,), ca_bundle=self.ca_bundle, **kw)

    def cli_args(self) -> list[str]:
        return ["--nameserver", self.nameserver, "--ca-bundle", self.ca_bundle]

    def stats(self) -> dict[str, float]:
        """The served world's counters (DNS queries, HTTPS requests, SMTP sessions, CPU seconds)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
