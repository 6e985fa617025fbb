"""The organisation-sized benchmark: `python -m bench.org` (or `make bench-org`).

One report day spread over many account/region prefixes of one log-archive bucket
(default 60: 20 accounts x 3 regions), at two sizes, both written once into
bench/data/org-<size>/ as copies of one generated day (ensure_scaled says how).
Each size's whole `flowdigest run --no-charts --rebuild` runs in a fresh process whose
peak RSS comes from wait4() (bench/children.py), the sizes alternating, so both see the
same machine. Targets: at the large size the peak is at most 2 GiB, and the time is at most
12x the small size's time measured in the same run. Results go to bench/results-org.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.children import MIB, ROOT, Child, log, run_child
from bench.sizes import parse_size

DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results-org.json"
DAY = dt.date(2025, 6, 10)
PEAK_LIMIT = 2 * 2**30
RATIO_LIMIT = 12.0


def ensure_base(base: Path, records: int, accounts: int, regions: int, day: dt.date) -> Path:
    """The organisation's day of `records` records, from the sample generator, once."""
    source = base / "source"
    stamp = base / "generated.json"
    params = {"records": records, "accounts": accounts, "regions": regions, "date": day.isoformat(), "seed": 0}
    if stamp.exists() and {k: json.loads(stamp.read_text()).get(k) for k in params} == params:
        return source
    shutil.rmtree(source, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)
    log(f"generating {records:,} records over {accounts} accounts x {regions} regions into {source} (once)")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flowdigest.sample", "--out", str(source), "--date", day.isoformat(),
                    "--days", "1", "--records", str(records), "--seed", "0", "-q",
                    "--accounts", str(accounts), "--regions", str(regions)],
                   check=True, cwd=ROOT, stdout=sys.stderr)
    stamp.write_text(json.dumps({**params, "generate_seconds": time.perf_counter() - t}, indent=1))
    return source


def ensure_scaled(base_source: Path, dest: Path, copies: int) -> tuple[Path, float | None]:
    """The base day `copies` times over, prefix by prefix and hour by hour (AWS's Hive layout,
    one file per hour and prefix): copy k's interfaces are other interfaces (eni-<k in hex>…),
    so the rollup's groups grow with the records, which is harder than real traffic, whose
    pairs repeat. The sample generator writes ~25k records/s, too slow for 100M in a session;
    DuckDB writes these at about a million a second. Returns the folder and the seconds."""
    import duckdb

    source = dest / "source"
    stamp = dest / "scaled.json"
    params = {"base": str(base_source.resolve()), "copies": copies, "layout": "per prefix, PARTITION_BY hour"}
    if stamp.exists() and {k: json.loads(stamp.read_text()).get(k) for k in params} == params:
        return source, None
    shutil.rmtree(source, ignore_errors=True)
    days = sorted({f.parent.parent for f in base_source.rglob("hour=*/*.parquet")})  # .../day=DD
    log(f"writing {copies} copies of {len(days)} prefixes' days into {source} (once)")
    t = time.perf_counter()
    con = duckdb.connect()
    for day in days:
        out = source / day.relative_to(base_source)
        out.mkdir(parents=True, exist_ok=True)
        con.execute(
            "COPY (SELECT * EXCLUDE (k) REPLACE (CASE WHEN k = 0 OR interface_id IS NULL THEN interface_id "
            "ELSE 'eni-' || printf('%03x', k) || substr(interface_id, 8) END AS interface_id) "
            f"FROM read_parquet('{day}/hour=*/*.parquet', hive_partitioning = true, hive_types_autocast = false), "
            f"range({copies}) AS c(k)) "
            f"TO '{out}' (FORMAT parquet, COMPRESSION gzip, PARTITION_BY (hour), OVERWRITE_OR_IGNORE)")
    seconds = time.perf_counter() - t
    stamp.write_text(json.dumps({**params, "seconds": seconds}, indent=1))
    return source, seconds


def run_once(source: Path, out: Path, day: dt.date) -> Child:
    flowdigest = Path(sys.executable).with_name("flowdigest")
    shutil.rmtree(out, ignore_errors=True)
    return run_child([str(flowdigest), "run", "--source", str(source), "--date", day.isoformat(), "--out", str(out),
                      "--no-charts", "--rebuild", "-q"], want_result=False)


def check(report: Path) -> dict[str, Any]:
    """What the run reported: a benchmark of a run that read nothing would mean nothing."""
    data = json.loads(report.read_text())
    return {"flows": data["totals"]["flows"], "bytes": data["totals"]["bytes"],
            "accounts": len(data.get("breakdown", {}).get("accounts", []))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.org", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--small", default="10M", help="the small size (default 10M)")
    p.add_argument("--large", default="100M", help="the large size (default 100M)")
    p.add_argument("--base", type=int, default=1_000_000,
                   help="records of the generated day both sizes are copies of (default 1M)")
    p.add_argument("--accounts", type=int, default=20, help="accounts (default 20)")
    p.add_argument("--regions", type=int, default=3, help="regions per account (default 3)")
    p.add_argument("--runs", type=int, default=2, help="runs of each size, alternating (default 2)")
    p.add_argument("--data", type=Path, default=DATA, help="where generated days live (default bench/data)")
    p.add_argument("--results", type=Path, default=RESULTS, help=f"results JSON (default {RESULTS.relative_to(ROOT)})")
    p.add_argument("--memory-limit", default="1.5GB",
                   help="FLOWDIGEST_MEMORY_LIMIT for the runs: DuckDB spills past it (default 1.5GB)")
    a = p.parse_args(argv)
    os.environ["FLOWDIGEST_MEMORY_LIMIT"] = a.memory_limit
    try:
        sizes = [parse_size(a.small), parse_size(a.large)]
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    if a.runs < 1 or a.accounts < 1 or a.regions < 1:
        p.error("--runs, --accounts and --regions must be at least 1")
    prefixes = a.accounts * a.regions
    results: dict[str, Any] = {"day": DAY.isoformat(), "prefixes": prefixes, "memory_limit": a.memory_limit,
                               "sizes": {}}
    base = ensure_base(a.data / "org-base", a.base, a.accounts, a.regions, DAY)
    sources = {}
    for label, records in sizes:
        copies = max(1, round(records / a.base))
        source, seconds = ensure_scaled(base, a.data / f"org-{label}", copies)
        sources[label] = source
        results["sizes"][label] = {"records": records, "copies": copies, "write_seconds": seconds, "runs": []}
    for i in range(a.runs):
        for label, _ in sizes:
            out = a.data / f"org-{label}" / "out"
            c = run_once(sources[label], out, DAY)
            log(f"{label} run {i + 1}: {c.wall:.1f} s, peak {c.maxrss / MIB:.0f} MiB, load {c.load:.2f}"
                + ("" if c.rc == 0 else f" FAILED (exit {c.rc}): {c.stderr.strip()[-800:]}"))
            if c.rc != 0:
                return 1
            results["sizes"][label]["runs"].append({"seconds": c.wall, "peak_rss_bytes": c.maxrss, "load": c.load})
            results["sizes"][label]["report"] = check(out / DAY.isoformat() / "report.json")
    small, large = (results["sizes"][label] for label, _ in sizes)
    t_small = statistics.median(r["seconds"] for r in small["runs"])
    t_large = statistics.median(r["seconds"] for r in large["runs"])
    peak = max(r["peak_rss_bytes"] for r in large["runs"])
    results["targets"] = {
        "peak_rss_large_bytes": peak, "peak_ok": peak <= PEAK_LIMIT,
        "seconds_small": t_small, "seconds_large": t_large, "ratio": t_large / t_small,
        "ratio_ok": t_large / t_small <= RATIO_LIMIT,
    }
    a.results.parent.mkdir(parents=True, exist_ok=True)
    a.results.write_text(json.dumps(results, indent=1))
    tg = results["targets"]
    print(f"{prefixes} prefixes: {sizes[0][0]} {t_small:.1f} s, {sizes[1][0]} {t_large:.1f} s "
          f"(x{tg['ratio']:.1f}, target <= {RATIO_LIMIT:g}: {'PASS' if tg['ratio_ok'] else 'MISS'}); "
          f"peak {peak / MIB:.0f} MiB (target <= 2048: {'PASS' if tg['peak_ok'] else 'MISS'})")
    print(f"results: {a.results}")
    return 0 if tg["peak_ok"] and tg["ratio_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
