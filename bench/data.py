"""The generated days of a size and the rollups of its history days, made once and reused."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.children import ROOT, MeasurementFailed, log, run_child, worker

HISTORY_DAYS = 7
SEED = 0


def day_files(source: Path, day: dt.date) -> list[Path]:
    from flowdigest import s3layout

    return sorted(source.glob(f"{s3layout.hive_day_glob(day)}/hour=*/*.parquet"))


def ensure_data(base: Path, records: int, day: dt.date) -> tuple[Path, dict[str, Any]]:
    """The report day and the HISTORY_DAYS before it, generated once and reused."""
    source = base / "source"
    stamp = base / "generated.json"
    params = {"records": records, "days": HISTORY_DAYS + 1, "date": day.isoformat(), "seed": SEED,
              "files_per_hour": "2-6 by volume (the generator's default)", "compression": "gzip"}
    if stamp.exists():
        saved = json.loads(stamp.read_text())
        if {k: saved.get(k) for k in params} == params:
            return source, saved
    shutil.rmtree(source, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)
    log(f"generating {HISTORY_DAYS + 1} days of {records:,} records into {source} (once)")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flowdigest.sample", "--out", str(source), "--date", day.isoformat(),
                    "--days", str(HISTORY_DAYS + 1), "--records", str(records), "--seed", str(SEED)],
                   check=True, cwd=ROOT, stdout=sys.stderr)
    saved = {**params, "generate_seconds": time.perf_counter() - t}
    stamp.write_text(json.dumps(saved, indent=1))
    return source, saved


def engine_fingerprint() -> str:
    """What the stored rollups depend on: the rollup SQL, the engine, the sources, DuckDB."""
    import duckdb

    import flowdigest

    pkg = Path(flowdigest.__file__).parent
    files = [pkg / "sql" / "daily_rollup.sql", pkg / "queries.py", pkg / "fields.py",
             *sorted((pkg / "engine").glob("*.py")), *sorted((pkg / "sources").glob("*.py"))]
    h = hashlib.sha256(duckdb.__version__.encode())
    for f in files:
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def ensure_history(base: Path, source: Path, day: dt.date) -> tuple[Path, dict[str, Any]]:
    """The history days' rollups, built by the engine once per engine version."""
    hist = base / "history"
    stamp = hist / "built.json"
    fp = engine_fingerprint()
    days = [(day - dt.timedelta(days=k)).isoformat() for k in range(HISTORY_DAYS, 0, -1)]
    if stamp.exists():
        saved = json.loads(stamp.read_text())
        if saved.get("fingerprint") == fp and saved.get("days") == days:
            return hist / "rollup", saved
    shutil.rmtree(hist, ignore_errors=True)
    hist.mkdir(parents=True)
    log(f"building the {len(days)} history rollups for {base.name} (once per engine version)")
    c = run_child(worker("history", "--source", str(source), "--rollup-dir", str(hist / "rollup"), "--days", *days))
    if c.rc != 0:
        raise SystemExit(f"building history rollups failed:\n{c.stderr[-3000:]}")
    saved = {"fingerprint": fp, "days": days, "seconds": c.result["seconds"], "per_day": c.result["per_day"],
             "peak_rss_bytes": c.maxrss}
    stamp.write_text(json.dumps(saved, indent=1))
    return hist / "rollup", saved


def ensure_pandas_history(base: Path, source: Path, day: dt.date) -> tuple[Path, dict[str, Any]]:
    """The pandas baseline's own history summaries, made once per baseline version."""
    dest = base / "pandas-history"
    stamp = dest / "built.json"
    fp = hashlib.sha256((ROOT / "bench" / "baseline_pandas.py").read_bytes()).hexdigest()[:16]
    if stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") == fp:
        return dest, json.loads(stamp.read_text())
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    log(f"summarising the {HISTORY_DAYS} history days for the pandas baseline of {base.name} (once)")
    c = run_child(worker("pandas-history", "--source", str(source), "--history-dir", str(dest),
                         "--date", day.isoformat()))
    if c.rc != 0:
        raise MeasurementFailed(f"pandas history summaries failed: {c.stderr.strip()[-1500:]}")
    saved = {"fingerprint": fp, "days": c.result["days"], "seconds": c.result["seconds"], "peak_rss_bytes": c.maxrss}
    stamp.write_text(json.dumps(saved, indent=1))
    return dest, saved


def link_rollups(history: Path, dest: Path) -> None:
    """dest/dt=*/rollup_set=*/*.parquet as hard links to the stored history (a copy across devices)."""
    for f in sorted(history.glob("dt=*/rollup_set=*/*.parquet")):
        target = dest / f.relative_to(history)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(f, target)
        except OSError:
            shutil.copy2(f, target)
