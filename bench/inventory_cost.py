"""What the inventory costs a run: `python -m bench.inventory_cost --size 1M --rounds 5`.

The same generated days as `make bench` (bench/data/<size>/, made once), and the sample
network's inventory written for them. Then `flowdigest run --no-charts` alternately without
and with `--inventory`, each round both warm (the day's rollup reused) and `--rebuild`, each
run a fresh process; medians per case. And what Athena would scan (bench/athena_scan.py):
the report's queries over the rollup, with and without the inventory step's one query
(interface_bytes), and how many of the report's scans read the raw flow logs (the rollup
build's one, either way). Results go to `inventory_cost` in bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.children import ROOT, log
from bench.data import HISTORY_DAYS, SEED, day_files, ensure_data, ensure_history, link_rollups
from bench.run import DATA, DAY, RESULTS, save
from bench.sizes import parse_size

CASES = ("without", "with")


def write_inventory(source: Path, folder: Path) -> Path:
    """The describe outputs of the generator's network for the report day's files."""
    from flowdigest import sample
    from flowdigest.inventory.sample_inventory import write_inventory as write

    if not folder.exists():
        files = day_files(source, DAY)
        staging = folder.with_name(folder.name + ".day")
        for f in files:  # the report day alone (write_inventory reads a folder)
            target = staging / f.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.link(f, target)
        write(sample.network(SEED), staging, folder)
    return folder


def one_run(source: Path, out: Path, inventory: Path | None, rebuild: bool) -> float:
    cmd = [sys.executable, "-m", "flowdigest.cli", "run", "--source", str(source), "--date", DAY.isoformat(),
           "--out", str(out), "--no-charts", "--quiet", *(["--rebuild"] if rebuild else []),
           *(["--inventory", str(inventory)] if inventory else [])]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"flowdigest run failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return seconds


def athena(source: Path, rollup_dir: Path) -> dict[str, Any]:
    import datetime as dt

    from bench import athena_scan

    raw = {DAY - dt.timedelta(days=k): day_files(source, DAY - dt.timedelta(days=k)) for k in range(HISTORY_DAYS + 1)}
    est = athena_scan.estimate(raw, rollup_dir, DAY)
    inventory = next(q for q in est.insights if q.name == "interface_bytes")
    queries = [est.rollup_build, *est.insights]
    return {
        "day_bytes": est.day_bytes,
        "raw_log_scans": {"with": sum(1 for q in queries if q.table == athena_scan.FLOW_LOGS),
                          "without": sum(1 for q in queries if q.table == athena_scan.FLOW_LOGS
                                         and q.name != "interface_bytes")},
        "with": {"bytes": est.rollup_total, "billed_bytes": est.rollup_billed},
        "without": {"bytes": est.rollup_total - inventory.bytes,
                    "billed_bytes": est.rollup_billed - inventory.billed_bytes},
        "interface_bytes": {"bytes": inventory.bytes, "billed_bytes": inventory.billed_bytes,
                            "scans": inventory.scans, "columns": inventory.columns},
    }


def measure(label: str, records: int, rounds: int) -> dict[str, Any]:
    base = DATA / label
    source, _ = ensure_data(base, records, DAY)
    history, _ = ensure_history(base, source, DAY)
    inventory = write_inventory(source, base / "inventory")
    outs = {case: base / f"inventory-cost-{case}" for case in CASES}
    for out in outs.values():
        link_rollups(history, out / "rollup")
        one_run(source, out, inventory if out == outs["with"] else None, rebuild=True)  # first run: not counted
    times: dict[str, dict[str, list[float]]] = {c: {"warm": [], "rebuild": []} for c in CASES}
    for r in range(rounds):
        for case in (CASES if r % 2 == 0 else CASES[::-1]):  # alternate which goes first
            for kind in ("warm", "rebuild"):
                times[case][kind].append(one_run(source, outs[case], inventory if case == "with" else None,
                                                 rebuild=kind == "rebuild"))
        log(f"{label} round {r + 1}: " + ", ".join(f"{c} {k} {times[c][k][-1]:.2f} s" for c in CASES
                                                  for k in ("warm", "rebuild")))
    return {"records": records, "rounds": rounds, "load_end": os.getloadavg()[0],
            "seconds": {c: {k: {"median": statistics.median(v), "all": [round(x, 3) for x in v]}
                            for k, v in times[c].items()} for c in CASES},
            "athena": athena(source, outs["with"] / "rollup")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1M", help="records on the report day (default 1M)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--results", type=Path, default=RESULTS)
    a = p.parse_args(argv)
    label, records = parse_size(a.size)
    res = measure(label, records, max(1, a.rounds))
    s, at = res["seconds"], res["athena"]
    for kind in ("warm", "rebuild"):
        print(f"{label} {kind}: without --inventory {s['without'][kind]['median']:.2f} s, "
              f"with {s['with'][kind]['median']:.2f} s")
    print(f"Athena: without {at['without']['bytes'] / 2**20:.2f} MiB ({at['without']['billed_bytes'] / 2**20:.0f} "
          f"billed), with {at['with']['bytes'] / 2**20:.2f} MiB ({at['with']['billed_bytes'] / 2**20:.0f} billed); "
          f"interface_bytes {at['interface_bytes']['bytes'] / 2**10:.1f} KiB in {at['interface_bytes']['scans']} "
          f"rollup scans; raw-log scans {at['raw_log_scans']['without']} / {at['raw_log_scans']['with']}")
    results = json.loads(a.results.read_text()) if a.results.exists() else {}
    results.setdefault("inventory_cost", {})[label] = res
    save(results, a.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
