"""Saved-progress latency: how long a durable save (temp file, fsync, rename, fsync dir, backup
link) and a load take for a realistic domain state. Run by hand or via benchmarks/run_quick.

    python benchmarks/state_save.py [--quick] [--dir DIR]

Prints figures; asserts nothing (timings vary by disk). The wizard saves after each accepted
step, so a save must stay well under the ~100 ms a person notices.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wizard.findings import finding
from wizard.policy import PolicyFile
from wizard.state import StateStore, record_check, record_policy, record_served, set_step
from wizard.state.store import encode_state

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def realistic(store: StateStore, domain: str) -> None:
    """A domain after months: a few policy changes, daily sightings, a check with findings."""
    with store.open(domain) as session:
        state = session.state
        for week, (mode, max_age) in enumerate([("testing", 86400), ("enforce", 604800), ("enforce", 2592000)]):
            record_policy(
                state, PolicyFile(mode, max_age, ("mx1.example.com", "mx2.example.com")), T0 + timedelta(weeks=week)
            )
            for day in range(7):
                record_served(state, mode, max_age, state.policy_id or "", T0 + timedelta(weeks=week, days=day))
        for n in range(1, 6):
            set_step(state, n, "verified", T0)
        found = [finding("mx-tls-expiring", "expires soon", subject=f"mx{i}.example.com") for i in range(10)]
        record_check(state, found, T0)
        state.notes = "notes " * 200
        session.save()


def measure(root: Path, rounds: int) -> None:
    store = StateStore(root)
    domain = "example.com"
    realistic(store, domain)
    saves: list[float] = []
    loads: list[float] = []
    with store.open(domain) as session:
        size = len(encode_state(session.state))
        for i in range(rounds):
            set_step(session.state, 6, "waiting" if i % 2 else "verified", T0 + timedelta(seconds=i))
            start = time.perf_counter()
            session.save()
            saves.append(time.perf_counter() - start)
    for _ in range(rounds):
        start = time.perf_counter()
        store.read(domain)
        loads.append(time.perf_counter() - start)

    def ms(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000

    print(
        f"state_save: file {size} bytes, {rounds} rounds in {root}: "
        f"save median {statistics.median(saves) * 1000:.2f} ms, p95 {ms(saves, 0.95):.2f} ms, "
        f"max {max(saves) * 1000:.2f} ms; "
        f"load median {statistics.median(loads) * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 rounds instead of 200")
    parser.add_argument("--dir", help="measure on this folder's file system (default: a temp dir)")
    args = parser.parse_args()
    rounds = 20 if args.quick else 200
    if args.dir:
        measure(Path(args.dir), rounds)
    else:
        with tempfile.TemporaryDirectory(prefix="state-bench-") as tmp:
            measure(Path(tmp), rounds)


if __name__ == "__main__":
    main()
