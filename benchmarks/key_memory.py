"""Memory while keys are pressed: does the wizard's heap stop growing when the user moves around?

Drives the real App (headless, Pilot) on step 1 of a saved domain and switches between the
overview and step 1 (`o` / `n`) in rounds, counting the objects the cycle collector tracks after a
full collection. Textual keeps bounded render caches (LRU/FIFO), so some growth is expected until
they are full; a leak would keep growing after that. Prints the growth after each round and the
growth over the last half of the run (a leak shows there; target: 0).

    python3 benchmarks/key_memory.py            # 1,400 presses
    python3 benchmarks/key_memory.py --quick    # 400 presses

Why screens/footer.py's KeyBar and not Textual's Footer: with Footer on the same screens (Textual
8.2.8, measured 2026-12-05) this run grew by +1,140,650 objects over the last 700 presses, about
1,630 per press and never levelling off (each rebuilt key stays reachable); with KeyBar, +0.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.screens_support import make_app


async def measure(rounds: int, presses_per_round: int) -> list[int]:
    """Tracked-object growth after each round of `presses_per_round` key presses."""
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), "example.com", offline=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("a", *"mx.example.com", "enter", "escape")
            for _ in range(20):  # warm up: every screen built once
                await pilot.press("o", "n")
                await pilot.pause()
            gc.collect()
            base = len(gc.get_objects())
            growth = []
            for _ in range(rounds):
                for _ in range(presses_per_round // 2):
                    await pilot.press("o")
                    await pilot.pause()
                    await pilot.press("n")
                    await pilot.pause()
                gc.collect()
                growth.append(len(gc.get_objects()) - base)
            return growth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer presses")
    args = parser.parse_args()
    rounds, per_round = (4, 100) if args.quick else (14, 100)
    growth = asyncio.run(measure(rounds, per_round))
    for i, objects in enumerate(growth, 1):
        print(f"key memory: after {i * per_round} presses (o/n): {objects:+d} tracked objects")
    half = len(growth) // 2
    print(
        f"key memory: growth over the last {(len(growth) - half) * per_round} presses: "
        f"{growth[-1] - growth[half - 1]:+d} objects (a leak grows here; Textual's render caches are bounded)"
    )


if __name__ == "__main__":
    main()
