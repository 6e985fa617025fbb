"""The benchmark: `python -m bench.run --sizes 1M,10M,30M` (or `make bench`).

For each size it generates (once, into bench/data/<size>/) the report day and the 7 days
before it with the sample-day generator, as AWS writes them (gzip Parquet, several files
per hour), builds the history days' rollups (once per engine version), then measures, each
run in a fresh process (bench/worker.py) whose peak RSS is read with wait4():

- the report's queries on DuckDB: the rollup build, the nine insight queries, and both
  together as a report runs them; median time over the runs and peak memory;
- the pandas baseline (bench/baseline_pandas.py): time, memory, ratio, and a check that
  every insight's rows are identical;
- the whole `flowdigest run` (first run, then warm runs; history rollups pre-built);
- the bytes Athena would scan per query and the report's cost (bench/athena_scan.py);
and once: chart rendering (first chart with the browser start, then warm passes) and each
Lambda's unzipped size. It prints tables with every target and PASS/MISS, and writes
bench/results.json.

This module runs the sizes in turn and saves the results; the rest is in bench/children.py
(a measured run in a fresh process), bench/data.py (the generated days and history rollups),
bench/sizes.py (one size's measurements, the charts, the profile) and bench/report.py (the
printout and the targets).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.children import ROOT, MeasurementFailed, log
from bench.data import engine_fingerprint
from bench.report import render_text, targets
from bench.sizes import Options, bench_charts, bench_size, chromium_available, parse_size, profile

DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results.json"
DAY = dt.date(2025, 6, 10)  # a Tuesday; the 7 days before it include a weekend


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def git_state() -> dict[str, Any]:
    """The commit measured and the package files changed on top of it (read-only git)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "modified": git("status", "--porcelain", "--", "layers/flowdigest/src").splitlines()}


def environment() -> dict[str, Any]:
    import duckdb
    import pandas
    import pyarrow

    return {"git": git_state(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandas": pandas.__version__, "pyarrow": pyarrow.__version__,
            "load_start": load_text(), "platform": platform.platform()}


def save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str))


def run(opts: Options) -> dict[str, Any]:
    started = dt.datetime.now(dt.UTC)
    fingerprint = engine_fingerprint()
    results: dict[str, Any] = {"started": started.strftime("%Y-%m-%d %H:%M"), "day": opts.day.isoformat(),
                               "environment": environment(), "sizes": {}, "engine_fingerprint": fingerprint,
                               "options": {"runs": opts.runs, "budget_s": opts.budget,
                                           "sizes": [s for s, _ in opts.sizes]}}
    charts_note = chromium_available() if opts.charts else "--no-charts"
    results["charts_note"] = charts_note
    for label, records in opts.sizes:
        try:
            results["sizes"][label] = bench_size(opts, label, records, charts_note)
        except MeasurementFailed as e:  # the engine failed: nothing else of this size means much
            log(str(e))
            results["sizes"][label] = {"label": label, "records": records, "error": str(e)}
            continue
        finally:
            save(results, opts.results)  # what is done so far survives a crash later on
        if opts.profile:
            log(f"{label}: profiling the rollup build")
            results.setdefault("profiles", {})[label] = profile(opts, label)
    measured = [label for label, s in results["sizes"].items() if "error" not in s]
    if charts_note is None and measured:
        try:
            results["charts"] = bench_charts(opts, measured[0])
        except MeasurementFailed as e:
            results["charts_note"] = str(e)
    from bench import lambda_size

    results["lambda_sizes"] = lambda_size.sizes(ROOT / ".aws-sam" / "build")
    results["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    results["environment"]["load_end"] = load_text()
    if engine_fingerprint() != fingerprint:
        results["warning"] = ("the engine or its SQL changed while the benchmark ran: sizes measured before "
                              "and after the change are not comparable; run it again")
    results["targets"] = targets(results)
    return results


def main(argv: list[str] | None = None, *, echo: Callable[[str], None] = print) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--sizes", default="1M,10M,30M", help="records on the report day, e.g. 1M,10M,30M (default)")
    p.add_argument("--runs", type=int, default=5, help="runs per measurement, at most (default 5)")
    p.add_argument("--budget", type=float, default=30.0,
                   help="stop repeating a measurement once its runs took this many seconds (default 30)")
    p.add_argument("--date", type=dt.date.fromisoformat, default=DAY, help=f"the report day (default {DAY})")
    p.add_argument("--data", type=Path, default=DATA, help="where generated days live (default bench/data)")
    p.add_argument("--results", type=Path, default=RESULTS, help="results JSON (default bench/results.json)")
    p.add_argument("--no-charts", action="store_true", help="skip chart rendering (and run flowdigest without)")
    p.add_argument("--no-baseline", action="store_true", help="skip the pandas baseline")
    p.add_argument("--no-whole-run", action="store_true", help="skip the whole `flowdigest run`")
    p.add_argument("--profile", action="store_true", help="also profile the rollup build (DuckDB EXPLAIN ANALYZE)")
    p.add_argument("--chart-passes", type=int, default=3, help="warm passes over every chart per run (default 3)")
    a = p.parse_args(argv)
    try:
        sizes = [parse_size(s) for s in a.sizes.split(",") if s.strip()]
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    if a.runs < 1:
        p.error("--runs must be at least 1")
    opts = Options(sizes=sizes, runs=a.runs, budget=a.budget, day=a.date, data=a.data, results=a.results,
                   charts=not a.no_charts, baseline=not a.no_baseline, whole_run=not a.no_whole_run,
                   profile=a.profile, chart_passes=max(1, a.chart_passes))
    results = run(opts)
    results["text"] = render_text(results)
    save(results, opts.results)
    echo(results["text"])
    echo(f"\nresults: {opts.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
