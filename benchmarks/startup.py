"""How fast the wizard paints its first screen, and how fast it answers keys during slow checks.

1. Time to first paint, in tmux: from launching `mta-sts-wizard DOMAIN` until its first
   step screen shows, against a minimal Textual app (one Static) launched the same way in
   the same run. Target: ratio <= 1.5.
2. Key-press latency while a slow check runs: the test world's DNS server delays every
   answer, step 3 polls continuously, and keys switch between the overview and the step;
   the time from a key press until the new screen is current. Target: < 100 ms.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _world  # noqa: F401  (puts the repository root on sys.path)

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("minimal app ready")

Minimal().run()
"""


_SOCKETS = itertools.count()


def first_paint(command: list[str], marker: str, cwd: Path, timeout: float = 20.0) -> float:
    """Seconds from launching `command` in a fresh tmux server until `marker` is on screen."""
    sock = f"mta-sts-bench-{os.getpid()}-{next(_SOCKETS)}"  # a fresh server each run: kill-server is not instant
    base = ["tmux", "-L", sock]
    env = dict(os.environ, TERM="xterm-256color")
    env.pop("TMUX", None)
    shell = " ".join("'" + c.replace("'", "'\\''") + "'" for c in command)
    started = time.perf_counter()
    subprocess.run([*base, "new-session", "-d", "-s", "b", "-x", "100", "-y", "30", "-c", str(cwd), shell], env=env)
    try:
        while time.perf_counter() - started < timeout:
            out = subprocess.run([*base, "capture-pane", "-p", "-t", "b"], capture_output=True, text=True).stdout
            if marker in out:
                return time.perf_counter() - started
            time.sleep(0.01)
        raise RuntimeError(f"{marker!r} did not appear within {timeout} s")
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True)


def startup(runs: int) -> None:
    if shutil.which("tmux") is None:
        print("startup: tmux not installed; skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        minimal = root / "minimal.py"
        minimal.write_text(MINIMAL_APP)
        script = Path(sys.executable).parent / "mta-sts-wizard"
        wizard_cmd = [str(script), "example.test", "--state-dir", str(root / "state")]
        wizard_cmd += ["--nameserver", "127.0.0.1:9", "--timeout", "1"]
        base_times, wizard_times = [], []
        for _ in range(runs):  # interleaved, so both see the same machine load
            base_times.append(first_paint([sys.executable, str(minimal)], "minimal app ready", root))
            wizard_times.append(first_paint(wizard_cmd, "Step 1 of 6", root))
        base, wiz = statistics.median(base_times), statistics.median(wizard_times)
        print(
            f"startup: first paint median {wiz * 1000:.0f} ms (wizard) vs {base * 1000:.0f} ms (minimal Textual app), "
            f"ratio {wiz / base:.2f} (target <= 1.5), {runs} runs each"
        )


async def key_latency(presses: int) -> None:
    from _world import ServedWorld

    from screens.overview import OverviewScreen
    from tests.screens_support import make_app

    # The world runs in its own process, so its servers do not compete with the UI for the GIL.
    world = ServedWorld(domains=1, mx=2, delay=0.5, prefix="keys")
    try:
        name = world.domains[0]
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(Path(tmp), name, poll_seconds=0.05)
            app.settings = type(app.settings)((world.nameserver,), world.ca_bundle, 5.0)

            async def measure(pilot) -> list[float]:  # type: ignore[no-untyped-def]
                samples = []
                for i in range(presses):
                    key, want_overview = ("o", True) if i % 2 == 0 else ("n", False)
                    t0 = time.perf_counter()
                    await pilot.press(key)
                    deadline = t0 + 5
                    while isinstance(app.screen, OverviewScreen) != want_overview and time.perf_counter() < deadline:
                        await asyncio.sleep(0.001)
                    samples.append(time.perf_counter() - t0)
                return sorted(samples)

            async with app.run_test(size=(100, 30)) as pilot:
                await app.workers.wait_for_complete()
                await pilot.press("n", "n")  # step 3
                idle = await measure(pilot)
                # The served id is not the one the wizard generated, so the poll never ends.
                await pilot.press("p")
                await pilot.pause(0.3)
                busy = await measure(pilot)
                checks = len(app.attempts.get(3, []))
                app.stop_poll(3)
        for label, samples in (("idle", idle), ("during a slow check", busy)):
            p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
            print(
                f"key latency {label} (DNS answers delayed 500 ms): median {statistics.median(samples) * 1000:.1f} ms, "
                f"p95 {p95 * 1000:.1f} ms, max {samples[-1] * 1000:.1f} ms over {presses} presses"
                + (f", {checks} checks ran meanwhile (target < 100 ms)" if label != "idle" else "")
            )
    finally:
        world.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (CI)")
    args = parser.parse_args()
    startup(3 if args.quick else 7)
    asyncio.run(key_latency(10 if args.quick else 40))


if __name__ == "__main__":
    main()
