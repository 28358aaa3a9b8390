"""Step 6 with a year of reports: how soon the screen paints, how soon the reports show, and how
long the UI loop is ever busy meanwhile (the 100 ms key-response floor).

Builds a state dir with 365 days of TLSRPT reports (from several organisations, failures on
some days, from several sending IPs), imported through `reports import`'s entry point, and a
domain in testing whose steps 1-4 are verified. The real App (headless, Pilot, 160x50) opens
it at step 5; then `goto_step(6)` is timed to the first paint (the store is read in a thread,
so this frame says "loading reports…"), then to the dashboard with the reading, while a task
samples the event loop every 5 ms for its longest stall. Then the overview and step 6 again:
the revisit of the screen that now exists (kept by the App, it shows the last reading at once
and re-reads the store in a thread), timed to its first paint.

    python3 benchmarks/step6_paint.py            # 365 days x 3 organisations
    python3 benchmarks/step6_paint.py --quick    # 365 days x 1 organisation

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.screens_support import make_app
from tests.step6_support import import_folder, policy_for, saved_domain, write_reports
from wizard.state import StateStore, set_step

DOMAIN = "example.com"
DAYS = 365


def build(root: Path, orgs: int) -> int:
    saved_domain(root, DOMAIN, policy_for(DOMAIN), DAYS + 5)
    with StateStore(root).open(DOMAIN) as session:
        set_step(session.state, 5, "waiting")  # opens at step 5; the benchmark moves to step 6
        session.save()
    failing = {i for i in range(DAYS) if i % 9 == 0 or i > DAYS - 3}
    return import_folder(root, write_reports(root / "in", DOMAIN, DAYS, failing=failing, orgs=orgs))


async def painted(app: Any, go: Callable[[], object]) -> float:
    """ms from `go()` until the screen it shows has painted (Textual runs the callback then)."""
    done = asyncio.Event()
    start = time.perf_counter()
    go()
    app.call_after_refresh(done.set)
    await asyncio.wait_for(done.wait(), 30)
    return (time.perf_counter() - start) * 1000


async def measure(root: Path) -> tuple[float, float, float, float]:
    """(ms to the first paint of step 6, ms until the reports are on screen, longest loop stall in
    ms, ms to the first paint of a revisit of step 6)."""
    import importlib

    from screens.app import WARM_UP_MODULES

    for name in WARM_UP_MODULES:  # what the App imports in a thread after its first paint (offline skips it)
        importlib.import_module(name)
    app = make_app(root, DOMAIN, offline=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await pilot.pause()
        stalls: list[float] = []
        stop = asyncio.Event()

        async def sample() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                stalls.append((now - last - 0.005) * 1000)
                last = now

        sampler = asyncio.create_task(sample())
        await asyncio.sleep(0.02)
        start = time.perf_counter()
        first = await painted(app, lambda: app.goto_step(6))
        deadline = time.perf_counter() + 60
        screen = app.screen
        while getattr(screen, "_shown_reading", None) is None and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)
        shown = asyncio.Event()
        app.call_after_refresh(shown.set)
        await asyncio.wait_for(shown.wait(), 30)
        full = (time.perf_counter() - start) * 1000
        stop.set()
        await sampler
        await painted(app, app.show_overview)
        await asyncio.sleep(0.2)  # the overview's own work done
        again = await painted(app, lambda: app.goto_step(6))
        if app.screen is not screen:
            raise RuntimeError("the revisit did not show the kept step 6 screen")
        return first, full, max(stalls, default=0.0), again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one organisation instead of three")
    args = parser.parse_args()
    orgs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        reports = build(root, orgs)
        first, full, stall, again = asyncio.run(measure(root))
    print(
        f"step 6 paint ({DAYS} days, {reports} reports): first paint {first:.0f} ms, "
        f"reports on screen {full:.0f} ms, longest UI-loop stall meanwhile {stall:.0f} ms; "
        f"revisit (screen kept) first paint {again:.0f} ms (floor: 100 ms)"
    )


if __name__ == "__main__":
    main()
