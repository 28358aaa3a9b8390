"""Benchmark: import + summary of N realistic `.json.gz` TLSRPT reports, against parsedmarc's parser.

    python3 benchmarks/reports/bench.py            # 20,000 reports; installs parsedmarc in a venv if needed
    python3 benchmarks/reports/bench.py --quick    # 2,000 reports; parsedmarc only if already importable

Our figure is the whole job a user waits for: walk the folder, read and gunzip each file,
validate it, store it in a fresh SQLite store, then summarise every domain. parsedmarc's
figure is its SMTP TLS parser alone on the same files (read, `extract_report` to gunzip,
`parse_smtp_tls_report_json`), with nothing stored. Targets: >= 2,000 reports/s, and faster
than parsedmarc. parsedmarc is never a dependency of the package; it is found in this
interpreter, in $PARSEDMARC_PYTHON, or (full mode) installed from PyPI into a private venv.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

from wizard.reports import ReportStore, import_paths  # noqa: E402

TARGET_RATE = 2000.0
VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mta-sts-wizard-bench" / "parsedmarc-venv"

PARSEDMARC_TIMER = r"""
import sys, time
from pathlib import Path
import parsedmarc
paths = [Path(p) for p in Path(sys.argv[1]).read_text().splitlines()]
ok = bad = 0
t0 = time.perf_counter()
for p in paths:
    try:
        parsedmarc.parse_smtp_tls_report_json(parsedmarc.extract_report(p.read_bytes()))
        ok += 1
    except Exception:
        bad += 1
elapsed = time.perf_counter() - t0
t0 = time.perf_counter()
for p in paths:
    try:
        parsedmarc.parse_report_file(str(p), offline=True)
    except Exception:
        pass
per_file = time.perf_counter() - t0
print(f"{elapsed:.6f} {ok} {bad} {parsedmarc.__version__} {per_file:.6f}")
"""


def find_parsedmarc_python(quick: bool) -> tuple[str | None, str]:
    """An interpreter that can import parsedmarc, or None and why not."""
    candidates = [sys.executable]
    if os.environ.get("PARSEDMARC_PYTHON"):
        candidates.insert(0, os.environ["PARSEDMARC_PYTHON"])
    if (VENV / "bin" / "python").exists():
        candidates.append(str(VENV / "bin" / "python"))
    for python in candidates:
        probe = subprocess.run([python, "-c", "import parsedmarc"], capture_output=True, text=True)
        if probe.returncode == 0:
            return python, ""
    if quick:
        return None, "parsedmarc is not installed (quick mode does not install it; run the full benchmark)"
    print(f"installing parsedmarc from PyPI into {VENV} (benchmark only, not a package dependency)...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, text=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "parsedmarc"],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"could not install parsedmarc: {detail.strip().splitlines()[-1] if detail.strip() else exc}"
    probe = subprocess.run([str(VENV / "bin" / "python"), "-c", "import parsedmarc"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None, f"parsedmarc installed but cannot be imported: {probe.stderr.strip().splitlines()[-1]}"
    return str(VENV / "bin" / "python"), ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 reports; skip parsedmarc unless installed")
    parser.add_argument("--count", type=int, help="number of reports (default 20000, quick 2000)")
    args = parser.parse_args()
    count = args.count or (2000 if args.quick else 20000)

    with tempfile.TemporaryDirectory(prefix="tlsrpt-bench-") as tmp:
        corpus = Path(tmp) / "corpus"
        t0 = time.perf_counter()
        paths = generate(corpus, count)
        gen_s = time.perf_counter() - t0
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(f"reports benchmark: {count} generated .json.gz reports ({size_mb:.1f} MB) in {gen_s:.1f} s")

        store_file = Path(tmp) / "state" / "reports.sqlite3"
        t0 = time.perf_counter()
        with ReportStore(store_file) as store:
            outcome = import_paths(store, [corpus])
            t_import = time.perf_counter() - t0
            domains = store.domains()
            summaries = [store.summary(d, policy_patterns=["mx1." + d, "*.backup." + d]) for d in domains]
        total = time.perf_counter() - t0
        if outcome.rejected or outcome.imported != count:
            print(f"  FAILED: imported {outcome.imported}/{count}; first rejection: {outcome.rejected[:1]}")
            return 1
        sessions = sum(s.success + s.failure for s in summaries)
        ours = count / total
        print(
            f"  ours: import {t_import:.2f} s + summary of {len(domains)} domains {total - t_import:.2f} s"
            f" = {total:.2f} s -> {ours:,.0f} reports/s ({sessions:,} sessions;"
            f" target >= {TARGET_RATE:,.0f}/s: {'met' if ours >= TARGET_RATE else 'MISSED'})"
        )

        python, why = find_parsedmarc_python(args.quick)
        if python is None:
            print(f"  parsedmarc: skipped, {why}")
            return 0
        listing = Path(tmp) / "paths.txt"
        listing.write_text("\n".join(map(str, paths)))
        run = subprocess.run([python, "-c", PARSEDMARC_TIMER, str(listing)], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"  parsedmarc: skipped, its run failed: {run.stderr.strip().splitlines()[-1:]}")
            return 0
        elapsed, ok, bad, version, per_file = run.stdout.split()
        theirs = count / float(elapsed)
        print(
            f"  parsedmarc {version} parser alone (parse_smtp_tls_report_json on extract_report; no validation,"
            f" storage or summary): {float(elapsed):.2f} s -> {theirs:,.0f} reports/s ({ok} parsed, {bad} rejected);"
            f" ours is {ours / theirs:.2f}x ({'faster' if ours > theirs else 'SLOWER'})"
        )
        theirs_file = count / float(per_file)
        print(
            f"  parsedmarc {version} parse_report_file(offline=True), its per-file entry point: {float(per_file):.2f} s"
            f" -> {theirs_file:,.0f} reports/s; ours is {ours / theirs_file:.2f}x"
            f" ({'faster' if ours > theirs_file else 'SLOWER'})"
        )
        return 0  # figures are printed, not asserted: a loaded machine must not fail CI


if __name__ == "__main__":
    raise SystemExit(main())
