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
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results.json"
DAY = dt.date(2025, 6, 10)  # a Tuesday; the 7 days before it include a weekend
HISTORY_DAYS = 7
SEED = 0
# The pandas baseline's peak, measured: 6.3 GiB at 10M and 17 GiB at 30M records. It is
# skipped when the machine has not that much available (it would push others into swap/OOM).
BASELINE_BYTES_PER_RECORD = 650
MIB = 2**20
CHILD_TIMEOUT = 3600.0

# The targets (2 cores). Each: (figure key, size, limit, unit, how it compares).
TARGETS: list[tuple[str, str, str | None, float, str]] = [
    ("report queries (rollup + 9 insights), median", "together_s", "10M", 1.0, "s"),
    ("report queries, peak memory", "together_mib", "10M", 300.0, "MiB"),
    ("speed-up over the pandas baseline", "speedup", "10M", 6.0, "x"),
    ("  other reading: the 9 insight queries alone", "queries_s", "10M", 1.0, "s"),
    ("  other reading: the 9 insight queries alone, peak", "queries_mib", "10M", 300.0, "MiB"),
    ("report queries (rollup + 9 insights), median", "together_s", "30M", 3.5, "s"),
    ("report queries, peak memory", "together_mib", "30M", 500.0, "MiB"),
    ("  other reading: the 9 insight queries alone", "queries_s", "30M", 3.5, "s"),
    ("  other reading: the 9 insight queries alone, peak", "queries_mib", "30M", 500.0, "MiB"),
    ("all charts, browser up (warm pass, median)", "charts_s", None, 1.5, "s"),
    ("whole `flowdigest run`, after the first run", "run_s", "10M", 6.0, "s"),
]
ATHENA_TARGET_PCT = 100.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_size(text: str) -> tuple[str, int]:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 200k, 1M or 10M")
    n = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[m.group(2).lower()]
    label = m.group(1) + m.group(2).replace("m", "M").replace("K", "k")
    return label, int(n)


def mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# -- child processes -------------------------------------------------------------------

@dataclass
class Child:
    argv: list[str]
    rc: int
    wall: float
    maxrss: int  # bytes: the process's peak RSS (and its waited-for children's), from wait4
    result: dict[str, Any]
    stderr: str
    load: float  # 1-minute load average when it started


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for k in list(env):  # never post to Slack from a benchmark
        if k.startswith("SLACK_"):
            del env[k]
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_child(argv: list[str], *, timeout: float = CHILD_TIMEOUT, want_result: bool = True) -> Child:
    """Run argv to completion; `--out FILE` is appended when it returns a JSON result."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "result.json"
        full = [*argv, "--out", str(out)] if want_result else argv
        with open(Path(tmp) / "stderr", "w+b") as err:
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            proc = subprocess.Popen(full, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
            timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
            timer.start()
            try:
                # wait4, not Popen.wait: its rusage is this child's alone (RUSAGE_CHILDREN
                # would be the maximum over every child so far).
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            stderr = err.read().decode(errors="replace")
        result = json.loads(out.read_text()) if want_result and out.exists() else {}
    return Child(full, proc.returncode, wall, usage.ru_maxrss * 1024, result, stderr, load)


def worker(task: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "bench.worker", task, *args]


@dataclass
class Measurement:
    name: str
    runs: list[Child] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(c.rc == 0 for c in self.runs)

    def seconds(self, key: str = "seconds") -> list[float]:
        return [float(c.result[key]) if key != "wall" else c.wall for c in self.runs if c.rc == 0]

    def median(self, key: str = "seconds") -> float | None:
        values = self.seconds(key)
        return statistics.median(values) if values else None

    @property
    def peak(self) -> int | None:
        return max((c.maxrss for c in self.runs), default=None)

    def summary(self, key: str = "seconds") -> dict[str, Any]:
        return {
            "ok": self.ok, "runs": len(self.runs), "median_s": self.median(key), "all_s": self.seconds(key),
            "peak_rss_bytes": self.peak,
            "rss_after_imports_bytes": max((c.result.get("rss_after_imports", 0) for c in self.runs), default=0),
            "load_at_start": [c.load for c in self.runs],
            "error": next((c.stderr[-2000:] for c in self.runs if c.rc != 0), None),
        }


class MeasurementFailed(RuntimeError):
    pass


def measure(name: str, argv: list[str], runs: int, budget: float, *, want_result: bool = True) -> Measurement:
    """Up to `runs` runs, fewer once `budget` seconds have gone (at least one).
    MeasurementFailed (with the child's stderr tail) when a run fails."""
    m = Measurement(name)
    spent = 0.0
    for i in range(runs):
        c = run_child(argv, want_result=want_result)
        m.runs.append(c)
        spent += c.wall
        log(f"  {name} run {i + 1}: {c.wall:.2f} s wall, peak {c.maxrss / MIB:.0f} MiB, load {c.load:.2f}"
            + ("" if c.rc == 0 else f" FAILED (exit {c.rc})"))
        if c.rc != 0:
            raise MeasurementFailed(f"{name} failed (exit {c.rc}): {c.stderr.strip()[-1500:]}")
        if spent >= budget:
            break
    return m


# -- data ----------------------------------------------------------------------------------

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


# -- answers ---------------------------------------------------------------------------------

def compare(engine: dict[str, list[dict[str, Any]]], baseline: dict[str, list[dict[str, Any]]],
            skipped: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every insight's rows, exactly. The one allowance: top_talkers' MAX_BY(interface_id,
    bytes) when two interfaces saw the pair's bytes exactly (SQL may return either); the
    engine's pick must be one of the tied interfaces, and the number of such rows is reported.
    Insights the engine skipped (`skipped`) are not compared (identical = None)."""
    out: dict[str, Any] = {}
    for insight in sorted(set(engine) | set(baseline)):
        if insight in skipped:
            out[insight] = {"identical": None, "detail": "skipped by the engine"}
            continue
        e, b = engine.get(insight), baseline.get(insight)
        if e is None or b is None:
            out[insight] = {"identical": False, "detail": "missing from " + ("engine" if e is None else "baseline")}
            continue
        ties = 0
        diff = None
        if len(e) != len(b):
            diff = f"{len(e)} rows from the engine, {len(b)} from the baseline"
        for i, (er, br) in enumerate(zip(e, b, strict=False)):
            plain = {k: v for k, v in br.items() if not k.startswith("_")}
            if er == plain:
                continue
            tied = br.get("_tied")
            if tied and [er.get("interface_id"), er.get("instance_id")] in tied and \
                    {**plain, "interface_id": er["interface_id"], "instance_id": er["instance_id"]} == er:
                ties += 1
                continue
            diff = diff or f"row {i}: engine {er} != baseline {plain}"
        out[insight] = {"identical": diff is None, "rows": len(e), "max_by_ties": ties, "detail": diff}
    return out


# -- the benchmark ---------------------------------------------------------------------------

@dataclass
class Options:
    sizes: list[tuple[str, int]]
    runs: int
    budget: float
    day: dt.date
    data: Path
    results: Path
    charts: bool
    baseline: bool
    whole_run: bool
    profile: bool
    chart_passes: int


def chromium_available() -> str | None:
    try:
        from flowdigest.charts.browser import ChromiumNotFound, find_chromium
    except ImportError as e:  # the charting extras are not installed
        return f"charts unavailable: {e}"
    try:
        find_chromium()
    except ChromiumNotFound as e:
        return f"no Chromium ({e}); run `make chromium`"
    return None


def flowdigest_cmd() -> list[str]:
    script = Path(sys.executable).parent / "flowdigest"
    return [str(script)] if script.exists() else [sys.executable, "-m", "flowdigest.cli"]


def bench_size(opts: Options, label: str, records: int, charts_note: str | None) -> dict[str, Any]:
    base = opts.data / label
    source, gen = ensure_data(base, records, opts.day)
    history, hist = ensure_history(base, source, opts.day)
    work = base / "work"
    shutil.rmtree(work, ignore_errors=True)
    rollup_dir = work / "rollup"
    link_rollups(history, rollup_dir)
    files = day_files(source, opts.day)
    res: dict[str, Any] = {
        "records": records, "label": label, "data": gen, "history_rollups": hist,
        "day_files": len(files), "day_bytes": sum(f.stat().st_size for f in files),
    }
    common = ["--source", str(source), "--rollup-dir", str(rollup_dir), "--date", opts.day.isoformat()]
    log(f"{label}: engine")
    scan = measure(f"{label} raw scan floor", worker("scan", *common), opts.runs, opts.budget)
    rollup = measure(f"{label} rollup build", worker("rollup", *common), opts.runs, opts.budget)
    queries = measure(f"{label} insight queries", worker("queries", *common), opts.runs, opts.budget)
    together = measure(f"{label} rollup + queries", worker("together", *common), opts.runs, opts.budget)
    rollup_files = sorted((rollup_dir / f"dt={opts.day.isoformat()}").glob("rollup_set=*/*.parquet"))
    import pyarrow.parquet as pq

    rows_per_set = {f.parent.name.split("=", 1)[1]: pq.read_metadata(f).num_rows for f in rollup_files}
    res["rollup_file"] = {"rows": sum(rows_per_set.values()), "bytes": sum(f.stat().st_size for f in rollup_files),
                          "rows_per_set": rows_per_set}
    res["scan"] = scan.summary()
    res["rollup"] = {**rollup.summary(), "open_s": rollup.median("open_seconds"),
                     "build_s": rollup.median("build_seconds")}
    res["queries"] = {**queries.summary(), "per_insight_median_s": {
        i: statistics.median(c.result["per_insight"][i] for c in queries.runs)
        for i in queries.runs[0].result["per_insight"]}}
    res["together"] = {**together.summary(), "prepare_s": together.median("prepare_seconds"),
                       "queries_s": together.median("queries_seconds")}
    engine_rows = together.runs[-1].result["rows"]
    saved = base / "together.json"  # the plan and rows the chart measurement draws
    saved.write_text(json.dumps({"plan": together.runs[-1].result["plan"],
                                 "results": together.runs[-1].result["results"]}))

    if opts.baseline:
        need, have = BASELINE_BYTES_PER_RECORD * records, mem_available()
        if have is not None and need > have:
            res["baseline_error"] = (f"skipped: pandas would need ~{need / 2**30:.0f} GiB "
                                     f"({BASELINE_BYTES_PER_RECORD} bytes a record), {have / 2**30:.0f} GiB available")
            log(f"{label}: pandas baseline {res['baseline_error']}")
        else:
            log(f"{label}: pandas baseline")
            try:
                p_hist, res["pandas_history"] = ensure_pandas_history(base, source, opts.day)
                base_m = measure(f"{label} pandas baseline", worker("baseline", *common, "--history-dir", str(p_hist)),
                                 opts.runs, opts.budget)
            except MeasurementFailed as e:
                res["baseline_error"] = str(e)
            else:
                b_med, t_med = base_m.median(), together.median()
                res["baseline"] = {**base_m.summary(), "phases_median_s": {
                    k: statistics.median(c.result["phases"][k] for c in base_m.runs)
                    for k in base_m.runs[0].result["phases"]},
                    "speedup": (b_med / t_med) if b_med and t_med else None}
                status = together.runs[-1].result["status"]
                res["answers"] = compare(engine_rows, base_m.runs[-1].result["rows"],
                                         skipped={i for i, st in status.items() if st != "ok"})

    log(f"{label}: Athena scan estimate")
    from bench import athena_scan
    from flowdigest.pricing import Prices

    raw = {opts.day - dt.timedelta(days=k): day_files(source, opts.day - dt.timedelta(days=k))
           for k in range(HISTORY_DAYS + 1)}
    res["athena"] = athena_scan.estimate(raw, rollup_dir, opts.day).to_json(Prices())

    if opts.whole_run:
        log(f"{label}: whole `flowdigest run`")
        out = work / "out"
        link_rollups(history, out / "rollup")
        argv = [*flowdigest_cmd(), "run", "--source", str(source), "--date", opts.day.isoformat(), "--out", str(out),
                "--quiet"]
        if charts_note:
            argv.append("--no-charts")
        try:
            first = measure(f"{label} flowdigest run (first)", argv, 1, 0, want_result=False)
            # warm: the same day again, its files unchanged, so its rollup is reused;
            # rebuild: what a run costs when the day's files changed since (late delivery)
            warm = measure(f"{label} flowdigest run (warm)", argv, opts.runs, opts.budget, want_result=False)
            rebuild = measure(f"{label} flowdigest run (warm, --rebuild)", [*argv, "--rebuild"], opts.runs,
                              opts.budget, want_result=False)
        except MeasurementFailed as e:
            res["whole_run_error"] = str(e)
        else:
            res["whole_run"] = {"first": first.summary("wall"), "warm": warm.summary("wall"),
                                "rebuild": rebuild.summary("wall"),
                                "charts": charts_note is None, "history_rollups": "pre-built (7 days)",
                                "note": charts_note}
    return res


def bench_charts(opts: Options, label: str) -> dict[str, Any]:
    log(f"charts (on the {label} report)")
    saved = opts.data / label / "together.json"
    m = measure("charts", worker("charts", "--input", str(saved), "--passes", str(opts.chart_passes)),
                opts.runs, opts.budget)
    r = [c.result for c in m.runs]
    cold = measure("render cold start", worker("render-cold", "--input", str(saved)), min(opts.runs, 3), opts.budget)
    c = [x.result for x in cold.runs]
    return {
        "cold_start": {"runs": len(c), "unpack_s": statistics.median(x["unpack_seconds"] for x in c),
                       "browser_start_s": statistics.median(x["browser_start_seconds"] for x in c),
                       "first_chart_s": statistics.median(x["first_chart_seconds"] for x in c),
                       "total_s": statistics.median(x["seconds"] for x in c), "peak_rss_bytes": cold.peak},
        "on": label, "runs": len(r), "charts": r[0]["charts"],
        "first_chart_s": statistics.median(x["first_chart_seconds"] for x in r),
        "browser_start_s": statistics.median(x["browser_start_seconds"] + x["find_seconds"] for x in r),
        "first_pass_s": statistics.median(x["first_pass_seconds"] for x in r),
        "warm_pass_s": statistics.median(p for x in r for p in x["pass_seconds"][1:] or x["pass_seconds"]),
        "per_chart_s": r[-1]["per_chart_seconds"], "peak_rss_bytes": m.peak,
    }


def profile(opts: Options, label: str) -> dict[str, Any]:
    base = opts.data / label
    rollup_dir = base / "work" / "rollup"
    out = base / f"profile-{label}"
    c = run_child(worker("profile", "--source", str(base / "source"), "--rollup-dir", str(rollup_dir),
                         "--date", opts.day.isoformat(), "--profile-out", str(out)))
    if c.rc != 0:
        return {"error": c.stderr[-2000:]}
    tree = json.loads(Path(c.result["json"]).read_text())
    ops: list[tuple[str, float, int]] = []

    def walk(node: dict[str, Any]) -> None:
        # DuckDB 1.x names these operator_name/operator_timing/operator_cardinality; 2.x name/timing/…
        name = str(node.get("operator_name") or node.get("name") or node.get("operator_type") or "?").strip()
        timing = node.get("operator_timing", node.get("timing"))
        if timing is not None and name != "RESULT_COLLECTOR":
            rows = node.get("operator_cardinality", node.get("intermediate_rows")) or 0
            ops.append((name, float(timing), int(rows)))
        for ch in node.get("children", []):
            walk(ch)

    for root in tree.get("operator", [tree]):
        walk(root)
    query = tree.get("query", tree)
    total = sum(t for _, t, _ in ops) or 1.0
    top = sorted(ops, key=lambda o: -o[1])[:8]
    return {"seconds": c.result["seconds"], "total_time_s": query.get("total_time", query.get("latency")),
            "cpu_time_s": query.get("cpu_time"), "peak_buffer_bytes": tree.get("system", {}).get("peak_buffer_memory"),
            "text": c.result["text"], "json": c.result["json"],
            "operators": [{"operator": n, "seconds": t, "share": t / total, "rows": rows} for n, t, rows in top]}


# -- output ----------------------------------------------------------------------------------

def _f(v: float | None, fmt: str = ".2f", unit: str = "") -> str:
    return "—" if v is None else f"{v:{fmt}}{unit}"


def _mib(b: int | None) -> str:
    return "—" if not b else f"{b / MIB:.0f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:  # first column left-aligned, figures right-aligned
        cells = [str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        return "  ".join(cells)

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def measured_sizes(results: dict[str, Any]) -> dict[str, Any]:
    return {label: s for label, s in results["sizes"].items() if "error" not in s}


def figures(results: dict[str, Any]) -> dict[tuple[str, str | None], float | None]:
    """The figures the targets are checked against, by (key, size label)."""
    out: dict[tuple[str, str | None], float | None] = {}
    for label, s in measured_sizes(results).items():
        out[("together_s", label)] = s["together"]["median_s"]
        out[("together_mib", label)] = (s["together"]["peak_rss_bytes"] or 0) / MIB or None
        out[("queries_s", label)] = s["queries"]["median_s"]
        out[("queries_mib", label)] = (s["queries"]["peak_rss_bytes"] or 0) / MIB or None
        out[("speedup", label)] = s.get("baseline", {}).get("speedup")
        wr = s.get("whole_run")
        out[("run_s", label)] = wr["warm"]["median_s"] if wr and wr["charts"] else None
    ch = results.get("charts")
    out[("charts_s", None)] = ch["warm_pass_s"] if ch else None
    return out


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    figs = figures(results)
    out = []
    for what, key, size, limit, unit in TARGETS:
        value = figs.get((key, size))
        higher_is_better = key == "speedup"
        status = "not measured" if value is None else \
            ("PASS" if (value >= limit if higher_is_better else value <= limit) else "MISS")
        out.append({"target": what, "size": size, "value": value, "limit": limit, "unit": unit,
                    "comparison": "≥" if higher_is_better else "≤", "status": status})
    for label, s in measured_sizes(results).items():
        a = s["athena"]
        pct = a["rollup_total_bytes"] / a["day_bytes"] * 100 if a["day_bytes"] else None
        out.append({"target": "Athena: whole report's scan, % of the day's bytes", "size": label, "value": pct,
                    "limit": ATHENA_TARGET_PCT, "unit": "%", "comparison": "≤",
                    "status": "not measured" if pct is None else ("PASS" if pct <= ATHENA_TARGET_PCT else "MISS")})
    return out


def render_text(results: dict[str, Any]) -> str:
    env = results["environment"]
    parts = [
        f"flowdigest benchmark, {results['started']} → {results['finished']} UTC",
        f"machine: {env['cpus']} CPUs, {env['python']}, duckdb {env['duckdb']}, pandas {env['pandas']}, "
        f"pyarrow {env['pyarrow']}; load average (1/5/15 min) at start {env['load_start']}, "
        f"at end {env['load_end']} — other work shares these cores, so times are noisy",
        f"code: commit {env['git']['commit']}" + (f" + {len(env['git']['modified'])} modified package files"
                                                  if env["git"]["modified"] else "")
        + f", engine fingerprint {results['engine_fingerprint']}",
        f"report day {results['day']} + {HISTORY_DAYS} history days per size (gzip Parquet, AWS layout); "
        f"each figure: median over the runs shown, peak = a fresh process's peak RSS (wait4)",
    ]
    if results.get("warning"):
        parts.append(f"WARNING: {results['warning']}")
    parts += [f"note: {n}" for n in results.get("notes", [])]
    for label, s in results["sizes"].items():
        for key in ("error", "baseline_error", "whole_run_error"):
            if s.get(key):
                parts.append(f"{label} {key.replace('_', ' ')}: {s[key]}")
    sizes = measured_sizes(results)
    if not sizes:
        return "\n".join(parts)
    rows = []
    for label, s in sizes.items():
        rows.append([label, f"{s['records']:,}", str(s["day_files"]), f"{s['day_bytes'] / MIB:.1f}",
                     f"{s['rollup_file']['rows']:,}", f"{s['rollup_file']['bytes'] / MIB:.1f}",
                     f"{s['data'].get('generate_seconds', 0):.0f}", f"{s['history_rollups']['seconds']:.0f}"])
    parts += ["", "DATA (report day)", table(rows, ["size", "records", "files", "MiB", "rollup rows", "rollup MiB",
                                                     "gen s (8 days)", "history rollups s"])]
    rows = []
    for label, s in sizes.items():
        sc, r, q, t = s["scan"], s["rollup"], s["queries"], s["together"]
        rows.append([label, f"{_f(sc['median_s'])} ({sc['runs']})", f"{_f(r['median_s'])} ({r['runs']})",
                     _mib(r["peak_rss_bytes"]),
                     f"{_f(q['median_s'])} ({q['runs']})", _mib(q["peak_rss_bytes"]),
                     f"{_f(t['median_s'])} ({t['runs']})", _mib(t["peak_rss_bytes"]),
                     _mib(t["rss_after_imports_bytes"])])
    parts += ["", "ENGINE (DuckDB): seconds, median (runs); peak MiB",
              table(rows, ["size", "raw scan floor s", "rollup build s", "peak", "9 insight queries s", "peak",
                           "together s", "peak", "RSS after imports"])]
    insights = list(next(iter(sizes.values()))["queries"]["per_insight_median_s"])
    rows = [[i, *(_f(s["queries"]["per_insight_median_s"].get(i), ".3f") for s in sizes.values())] for i in insights]
    parts += ["", "INSIGHT QUERIES, seconds each (median)", table(rows, ["insight", *sizes])]
    if any("baseline" in s for s in sizes.values()):
        rows = []
        for label, s in sizes.items():
            b = s.get("baseline")
            if not b:
                continue
            ans = s["answers"]
            same = sum(1 for a in ans.values() if a["identical"])
            compared = sum(1 for a in ans.values() if a["identical"] is not None)
            ties = sum(a.get("max_by_ties", 0) for a in ans.values())
            rows.append([label, f"{_f(b['median_s'])} ({b['runs']})", _mib(b["peak_rss_bytes"]),
                         f"{_f(b['phases_median_s'].get('read'))}", f"{_f(s['together']['median_s'])}",
                         _f(b["speedup"], ".1f", "x"),
                         f"{same}/{compared} identical" + (f" ({ties} MAX_BY ties)" if ties else "")])
        parts += ["", "PANDAS BASELINE (read needed columns + groupby) vs the engine (rollup + queries)",
                  table(rows, ["size", "pandas s", "peak", "of which read s", "engine s", "engine faster",
                               "answers"])]
        for label, s in sizes.items():
            for i, a in s.get("answers", {}).items():
                if a["identical"] is False:
                    parts.append(f"  {label} {i} DIFFERS: {a['detail']}")
    ch = results.get("charts")
    if ch:
        parts += ["", f"CHARTS ({ch['charts']} charts of the {ch['on']} report; median of {ch['runs']} runs)",
                  f"  first chart, browser start included: {ch['first_chart_s']:.2f} s "
                  f"(locating + starting the browser {ch['browser_start_s']:.2f} s)",
                  f"  all charts, first pass after the start: {ch['first_pass_s']:.2f} s; warm pass: "
                  f"{ch['warm_pass_s']:.2f} s"]
        if cs := ch.get("cold_start"):
            parts.append(f"  render function cold start (unpack Chromium into a fresh folder, as into /tmp, then "
                         f"the first chart): {cs['total_s']:.2f} s = unpack {cs['unpack_s']:.2f} s + first chart "
                         f"{cs['first_chart_s']:.2f} s (of which browser start {cs['browser_start_s']:.2f} s); "
                         f"median of {cs['runs']}")
    elif results.get("charts_note"):
        parts += ["", f"CHARTS: not measured — {results['charts_note']}"]
    if any("whole_run" in s for s in sizes.values()):
        rows = []
        for label, s in sizes.items():
            w = s.get("whole_run")
            if w:
                rb = w.get("rebuild") or {}
                rows.append([label, _f(w["first"]["median_s"]), f"{_f(w['warm']['median_s'])} ({w['warm']['runs']})",
                             _mib(w["warm"]["peak_rss_bytes"]), _f(rb.get("median_s")), _mib(rb.get("peak_rss_bytes")),
                             "yes" if w["charts"] else "no"])
        parts += ["", "WHOLE `flowdigest run` (wall, process start to exit; history rollups pre-built; warm: the "
                      "day's rollup reused, its files unchanged; --rebuild: built again)",
                  table(rows, ["size", "first run s", "warm run s (runs)", "peak MiB", "--rebuild s", "peak MiB",
                               "charts"])]
    for label, s in sizes.items():
        a = s["athena"]
        day_b = a["day_bytes"]
        rows = []
        for q in [a["rollup_build"], *a["insights"]]:
            name = "daily_rollup (raw)" if q is a["rollup_build"] else q["name"]
            rows.append([name, str(q["scans"]), str(q["days"]), str(len(q["columns"])), f"{q['bytes'] / MIB:.2f}",
                         f"{q['bytes'] / day_b * 100:.1f}", f"{q['billed_bytes'] / MIB:.0f}", f"{q['dollars']:.6f}"])
        parts += ["", f"ATHENA SCAN, {label} (day: {day_b / MIB:.1f} MiB in {a['day_files']} files; rollup file "
                      f"{a['rollup_bytes'] / MIB:.1f} MiB/day)",
                  table(rows, ["query", "scans", "days", "cols", "scanned MiB", "% of day", "billed MiB", "USD"])]
        floor, naive, rolled = a["floor_bytes"], a["naive_total_bytes"], a["rollup_total_bytes"]
        parts += [
            f"  floor (the report's {len(a['columns_floor'])} raw columns, read once): {floor / MIB:.2f} MiB "
            f"= {floor / day_b * 100:.1f} % of the day",
            f"  naive (each insight on raw logs, 8 raw days for headline/new_talkers): {naive / MIB:.2f} MiB "
            f"= {naive / day_b * 100:.1f} %; billed {a['naive_billed_bytes'] / MIB:.0f} MiB, "
            f"${a['naive_dollars']:.6f}/day",
            f"  rollup (flowdigest): {rolled / MIB:.2f} MiB = {rolled / day_b * 100:.1f} %; "
            f"billed {a['rollup_billed_bytes'] / MIB:.0f} MiB (10 MB minimum per query), "
            f"${a['rollup_dollars']:.6f}/day"]
    ls = results.get("lambda_sizes")
    if ls:
        rows = [[f["function"], f"{f['bytes'] / MIB:.1f}", f"{f['bytes'] / f['quota'] * 100:.0f} %",
                 ", ".join(f"{p['name']} {(p['bytes'] or 0) / MIB:.1f}" for p in f["parts"])] for f in ls]
        parts += ["", "LAMBDA SIZES (unzipped, function + layers, from .aws-sam/build; quota 250 MB)",
                  table(rows, ["function", "MiB", "of quota", "parts (MiB)"])]
    else:
        parts += ["", "LAMBDA SIZES: no .aws-sam/build — run `make sam-build`"]
    for label, p in results.get("profiles", {}).items():
        if "operators" not in p:
            parts += ["", f"PROFILE {label}: failed: {p.get('error')}"]
            continue
        rows = [[o["operator"], f"{o['seconds']:.2f}", f"{o['share'] * 100:.0f} %", f"{o['rows']:,}"]
                for o in p["operators"]]
        parts += ["", f"PROFILE of the rollup build, {label} ({p['seconds']:.2f} s; tree in {p['text']})",
                  table(rows, ["operator", "s (summed over threads)", "share", "rows out"])]
    rows = []
    for t in results["targets"]:
        v = t["value"]
        shown = "—" if v is None else (f"{v:.1f}{t['unit']}" if t["unit"] in ("x", "%") else f"{v:.2f} {t['unit']}")
        rows.append([t["target"], t["size"] or "", shown, f"{t['comparison']} {t['limit']:g} {t['unit']}",
                     t["status"]])
    parts += ["", "TARGETS (2 cores)", table(rows, ["target", "size", "measured", "target", ""])]
    return "\n".join(parts)


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
