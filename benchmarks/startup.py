"""How fast the wizard paints its first screen, and how fast it answers keys during slow checks.

Both are measured on the real `mta-sts-wizard` console script in a real pseudo-terminal
(benchmarks/_pty.py): a thread reads what the program writes as it writes it, so the
times are what a terminal would show, with no Pilot and no polling in between.

1. First paint: from launching the process until the first frame containing the start
   screen's prompt ("Domain to set up:", fresh --state-dir, no domain), against a minimal
   Textual app (one Static) launched the same way. Runs are interleaved so both see the
   same machine load; best and median of N are printed. Floor: ratio <= 2.0 (best-of-N,
   the figure least disturbed by other load on the machine). The time until the start
   screen's Footer is drawn ("complete": a screen painted in parts would show the prompt
   first) is printed too, as is the time to step 1 when a domain is given on the command line
   (its header: step 1's first frame; "complete": its max_age box and its Footer drawn too).
   Bytecode: Textual's modules load from the .pyc files pip wrote when it installed them. The
   wizard's are compiled first (compileall, as pip does on install), so that an editable
   checkout with PYTHONDONTWRITEBYTECODE set, as on this machine, does not compile them from
   source on every start (~7 ms) where an installed program would not.
2. Key latency while a slow check runs: the test world (its own process) delays every DNS
   answer by several seconds; step 3's live check is started and, while it is still
   awaiting the server, keys are pressed. Latency is from writing the key to the terminal
   until the text it brings up is written: `?` opens the help (its text) and `?` closes it
   (the step header again); `o` switches to the overview and `n` back to a step.
   Only presses made while the check was running are counted. Target: < 100 ms.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _pty import PtyProgram
from _world import ServedWorld

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("minimal app ready")

Minimal().run()
"""

WIZARD = str(Path(sys.executable).parent / "mta-sts-wizard")
START_MARKER = "Domain to set up:"
HELP_MARKER = "which MX hosts receive your mail"


FOOTER_MARKER = "palette"
#: The title of step 1's max_age choices, among its last widgets: shows when the whole screen is drawn
#: (a screen painted in parts would show its header first).
STEP1_LAST_MARKER = "max_age: how long"


def paint_times(argv: list[str], markers: list[str], cwd: Path) -> list[float]:
    """Seconds from launching `argv` in a pty until each of `markers` is written to it."""
    program = PtyProgram(argv, cwd)
    try:
        return [program.wait_for(marker) - program.started for marker in markers]
    finally:
        program.close()


def first_paint(argv: list[str], marker: str, cwd: Path) -> float:
    """Seconds from launching `argv` in a pty until `marker` is written to it."""
    return paint_times(argv, [marker], cwd)[0]


def _figures(samples: list[float]) -> str:
    return f"best {min(samples) * 1000:.0f} ms, median {statistics.median(samples) * 1000:.0f} ms"


def compile_wizard() -> None:
    """Write the .pyc files of the wizard's packages where the console script imports them from."""
    code = (
        "import compileall, importlib.util, sys\n"
        "for name in ('wizard', 'screens'):\n"
        "    for where in importlib.util.find_spec(name).submodule_search_locations:\n"
        "        compileall.compile_dir(where, quiet=1)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def startup(runs: int) -> None:
    compile_wizard()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        minimal = root / "minimal.py"
        minimal.write_text(MINIMAL_APP)
        base, start, complete, step1, step1_complete = [], [], [], [], []
        for i in range(runs):  # interleaved, so all see the same machine load
            base.append(first_paint([sys.executable, str(minimal)], "minimal app ready", root))
            start_cmd = [WIZARD, "--state-dir", str(root / f"start{i}")]
            prompt, footer = paint_times(start_cmd, [START_MARKER, FOOTER_MARKER], root)
            start.append(prompt)
            complete.append(footer)
            domain_cmd = [WIZARD, "example.test", "--state-dir", str(root / f"step{i}"), "--nameserver", "127.0.0.1:9"]
            header, controls, keys = paint_times(
                [*domain_cmd, "--timeout", "1"], ["Step 1 of 6", STEP1_LAST_MARKER, FOOTER_MARKER], root
            )
            step1.append(header)
            step1_complete.append(max(controls, keys))
        print(f"startup: minimal Textual app {_figures(base)}; {runs} interleaved runs each in a pty")
        print(
            f"startup: wizard start screen {_figures(start)}; ratio best {min(start) / min(base):.2f}, "
            f"median {statistics.median(start) / statistics.median(base):.2f} (floor <= 2.0)"
        )
        print(
            f"startup: wizard start screen complete (Footer drawn) {_figures(complete)}; "
            f"ratio best {min(complete) / min(base):.2f}, "
            f"median {statistics.median(complete) / statistics.median(base):.2f}"
        )
        print(
            f"startup: wizard with a domain, step 1 {_figures(step1)}; "
            f"ratio best {min(step1) / min(base):.2f}, median {statistics.median(step1) / statistics.median(base):.2f}"
        )
        print(
            "startup: wizard with a domain, step 1 complete (max_age box and Footer drawn) "
            f"{_figures(step1_complete)}; "
            f"ratio best {min(step1_complete) / min(base):.2f}, "
            f"median {statistics.median(step1_complete) / statistics.median(base):.2f}"
        )


def key_latency(presses: int, delay: float) -> None:
    """Keys on step 3 while its live check awaits a DNS server that answers `delay` s late."""
    world = ServedWorld(domains=1, mx=2, delay=delay, prefix="keys", bare=True)
    try:
        name = world.domains[0]
        with tempfile.TemporaryDirectory() as tmp:
            argv = [WIZARD, name, "--state-dir", tmp, *world.cli_args(), "--timeout", str(delay * 4)]
            program = PtyProgram(argv, Path(tmp))
            try:
                _keys_on_step3(program, name, presses, delay)
            finally:
                program.close()
    finally:
        world.close()


def _press(program: PtyProgram, key: bytes, marker: str) -> tuple[float, float]:
    """(when the key was typed, seconds until `marker` was written after it)."""
    since = program.position()
    sent = program.send(key)
    return sent, program.wait_for(marker, since, timeout=10) - sent


def _keys_on_step3(program: PtyProgram, name: str, presses: int, delay: float) -> None:
    program.wait_for("Step 1 of 6")
    program.wait_for(f"covers mx1.{name}", timeout=delay * 6)  # the MX lookup (slow too) prefilled step 1
    time.sleep(0.3)
    first_visits = []
    for step in (2, 3):  # each step screen is built on its first visit: the slowest switch there is
        first_visits.append(_press(program, b"n", f"Step {step} of 6")[1])
        time.sleep(0.2)
    print(
        "key latency first visit (n builds the step's screen): "
        + ", ".join(f"step {step} {latency * 1000:.1f} ms" for step, latency in zip((2, 3), first_visits, strict=True))
        + " (target < 100 ms)"
    )
    since = program.position()
    _press(program, b"p", "Checking now (attempt 1)")
    time.sleep(0.2)
    rounds = {
        "help open/close (?)": [(b"?", HELP_MARKER), (b"?", "Step 3 of 6")],
        "screen switch (o/n)": [(b"o", "Overview ·"), (b"n", " of 6 · ")],
    }
    results: dict[str, list[float]] = {}
    for label, cycle in rounds.items():
        sent_samples = []
        for i in range(presses):
            key, marker = cycle[i % 2]
            sent, latency = _press(program, key, marker)
            sent_samples.append((key, sent, latency))
            time.sleep(0.05)  # a quick typist, not a flood
        kept = [(key, latency) for key, sent, latency in sent_samples if _check_running_at(program, since, sent)]
        results[label] = [latency for _, latency in kept]
        if label.startswith("screen switch"):  # o (to the kept overview) and n (to a step) apart
            for key in (b"o", b"n"):
                results[f"screen switch, {key.decode()} only"] = [lat for k, lat in kept if k == key]
    for label, samples in results.items():
        if not samples:
            print(f"key latency {label}: the check finished before any press; raise the delay")
            continue
        samples.sort()
        p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
        print(
            f"key latency {label}, step 3 live check awaiting DNS ({delay:.0f} s late answers): "
            f"median {statistics.median(samples) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {samples[-1] * 1000:.1f} ms over {len(samples)} presses (target < 100 ms)"
        )


def _check_running_at(program: PtyProgram, since: int, when: float) -> bool:
    """Whether the first check's result ("Not seen yet", or a verdict) had not been shown by `when`."""
    done = program.seen_at("Not seen yet", since)
    return done is None or done > when


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (CI)")
    parser.add_argument("--keys-only", action="store_true", help="only the key-latency part")
    args = parser.parse_args()
    if not args.keys_only:
        startup(5 if args.quick else 11)
    key_latency(10 if args.quick else 30, delay=3.0)


if __name__ == "__main__":
    main()
