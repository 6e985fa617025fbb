"""One size's measurements (engine, pandas baseline, Athena estimate, whole run), and the
once-per-benchmark ones (charts, profile)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.children import Measurement, MeasurementFailed, log, measure, measure_alternating, run_child, worker
from bench.data import HISTORY_DAYS, day_files, ensure_data, ensure_history, ensure_pandas_history, link_rollups

# The pandas baseline's peak, measured: 6.3 GiB at 10M and 17 GiB at 30M records. It is
# skipped when the machine has not that much available (it would push others into swap/OOM).
BASELINE_BYTES_PER_RECORD = 650


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


def compare(engine: dict[str, list[dict[str, Any]]], baseline: dict[str, list[dict[str, Any]]],
            skipped: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every insight's rows, exactly. The one allowance: top_talkers' MAX_BY(interface_id,
    bytes) when two interfaces saw the pair's bytes exactly (SQL may return either); the
    engine's pick must be one of the tied interfaces, and the number of such rows is reported.
    Insights the engine skipped (`skipped`), and those outside the baseline's subset, are
    not compared (identical = None)."""
    from bench.baseline_pandas import COVERED

    out: dict[str, Any] = {}
    for insight in sorted(set(engine) | set(baseline)):
        if insight in skipped:
            out[insight] = {"identical": None, "detail": "skipped by the engine"}
            continue
        e, b = engine.get(insight), baseline.get(insight)
        if b is None and insight not in COVERED:
            out[insight] = {"identical": None, "detail": "not in the pandas baseline's subset"}
            continue
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


def bench_size(opts: Options, label: str, records: int, charts_note: str | None) -> dict[str, Any]:
    """Every measurement of one size; MeasurementFailed when the engine fails."""
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
    together = _engine(opts, label, common, rollup_dir, res)
    if opts.baseline:
        _baseline(opts, label, records, source, common, together, res)
    log(f"{label}: Athena scan estimate")
    from bench import athena_scan
    from flowdigest.pricing import Prices

    raw = {opts.day - dt.timedelta(days=k): day_files(source, opts.day - dt.timedelta(days=k))
           for k in range(HISTORY_DAYS + 1)}
    res["athena"] = athena_scan.estimate(raw, rollup_dir, opts.day).to_json(Prices())
    if opts.whole_run:
        _whole_run(opts, label, source, history, work / "out", charts_note, res)
    return res


def _engine(opts: Options, label: str, common: list[str], rollup_dir: Path, res: dict[str, Any]) -> Measurement:
    """The raw scan floor, the rollup build, the insight queries and both together, into res."""
    log(f"{label}: engine")
    scan = measure(f"{label} raw scan floor", worker("scan", *common), opts.runs, opts.budget)
    before_dir = rollup_dir.parent / "rollup_before"  # its own folder: the report reads rollup_dir
    before_args = [*common[:2], "--rollup-dir", str(before_dir), *common[4:]]
    # the growth compares these two: side by side, alternating run by run
    rollup, before = measure_alternating([(f"{label} rollup build", worker("rollup", *common)),
                                          (f"{label} rollup build, SQL before the findings",
                                           worker("rollup-before", *before_args))], opts.runs, opts.budget)
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
    res["rollup_before"] = {**before.summary(), "build_s": before.median("build_seconds")}
    res["rollup_growth_pct"] = (res["rollup"]["build_s"] / res["rollup_before"]["build_s"] - 1) * 100
    res["queries"] = {**queries.summary(), "per_insight_median_s": {
        i: statistics.median(c.result["per_insight"][i] for c in queries.runs)
        for i in queries.runs[0].result["per_insight"]}}
    res["together"] = {**together.summary(), "prepare_s": together.median("prepare_seconds"),
                       "queries_s": together.median("queries_seconds")}
    saved = opts.data / label / "together.json"  # the plan and rows the chart measurement draws
    saved.write_text(json.dumps({"plan": together.runs[-1].result["plan"],
                                 "results": together.runs[-1].result["results"]}))
    return together


def _baseline(opts: Options, label: str, records: int, source: Path, common: list[str], together: Measurement,
              res: dict[str, Any]) -> None:
    """The pandas baseline's time and memory, and whether its answers are the engine's, into res."""
    need, have = BASELINE_BYTES_PER_RECORD * records, mem_available()
    if have is not None and need > have:
        res["baseline_error"] = (f"skipped: pandas would need ~{need / 2**30:.0f} GiB "
                                 f"({BASELINE_BYTES_PER_RECORD} bytes a record), {have / 2**30:.0f} GiB available")
        log(f"{label}: pandas baseline {res['baseline_error']}")
        return
    log(f"{label}: pandas baseline")
    try:
        p_hist, res["pandas_history"] = ensure_pandas_history(opts.data / label, source, opts.day)
        base_m = measure(f"{label} pandas baseline", worker("baseline", *common, "--history-dir", str(p_hist)),
                         opts.runs, opts.budget)
    except MeasurementFailed as e:
        res["baseline_error"] = str(e)
        return
    b_med, t_med = base_m.median(), together.median()
    res["baseline"] = {**base_m.summary(), "phases_median_s": {
        k: statistics.median(c.result["phases"][k] for c in base_m.runs)
        for k in base_m.runs[0].result["phases"]},
        "speedup": (b_med / t_med) if b_med and t_med else None}
    status = together.runs[-1].result["status"]
    res["answers"] = compare(together.runs[-1].result["rows"], base_m.runs[-1].result["rows"],
                             skipped={i for i, st in status.items() if st != "ok"})


def _whole_run(opts: Options, label: str, source: Path, history: Path, out: Path, charts_note: str | None,
               res: dict[str, Any]) -> None:
    """`flowdigest run` end to end: the first run, warm runs, and warm runs with --rebuild, into res."""
    log(f"{label}: whole `flowdigest run`")
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
        return
    res["whole_run"] = {"first": first.summary("wall"), "warm": warm.summary("wall"),
                        "rebuild": rebuild.summary("wall"),
                        "charts": charts_note is None, "history_rollups": "pre-built (7 days)",
                        "note": charts_note}


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
