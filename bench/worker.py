"""One measurement, in a fresh process: `python -m bench.worker TASK --out result.json ...`.

The parent (bench/run.py) starts one of these per run and reads the process's peak RSS
from wait4(), so each figure is the peak of a process that did that one thing (DuckDB and
Arrow allocate outside Python's heap, which only the OS sees). Times are taken here,
around the work only: interpreter start and imports are reported apart (`import_seconds`,
`rss_after_imports`).

Tasks:
  history   build the rollups of the given days (setup, not timed for the table)
  pandas-history  the pandas baseline's summaries of the 7 days before --date (setup)
  scan      read the rollup's raw columns from the day's files, nothing else (the floor)
  rollup    the report day's rollup: list the day's files + build its rollup
  queries   the nine insight queries over the stored rollups (the day's must exist)
  together  both, as a report runs them: pipeline.prepare + every run_insight
  baseline  the pandas baseline (bench/baseline_pandas.py)
  charts    the report's charts: first chart (browser start included), then warm passes
  profile   the rollup build under DuckDB's profiler (EXPLAIN ANALYZE's tree and JSON)
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402  (the clock starts before any import)
import datetime as dt  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def _status_kib(key: str) -> int:
    """A /proc/self/status figure (VmRSS, VmHWM) in KiB; 0 where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _engine(args: argparse.Namespace) -> Any:
    from flowdigest.engine.duckdb_engine import DuckDBEngine

    # every timed task builds what it times: never reuse the day's rollup from a previous task
    return DuckDBEngine(args.source, args.rollup_dir, reuse_rollups=False)


def _plan_from_rollups(engine: Any, day: dt.date) -> Any:
    """The day's plan, with nothing built: the `queries` task times the queries alone, over
    the day's and the history's rollups stored by earlier tasks."""
    from flowdigest import pipeline

    if day not in engine.rollup_days():
        raise SystemExit(f"no rollup for {day} in {engine.rollup_dir}: run the rollup task first")
    return pipeline.plan_day(engine, day)


def _run_insights(engine: Any, plan: Any) -> tuple[float, list[Any]]:
    """The insights as `flowdigest run` runs them (runner.QUERY_WORKERS at a time): wall seconds, results."""
    from flowdigest import pipeline
    from flowdigest.runner import QUERY_WORKERS

    t = time.perf_counter()
    results = pipeline.run_insights(engine, plan, workers=QUERY_WORKERS)
    seconds = time.perf_counter() - t
    return seconds, [*results, *(pipeline.run_insight(engine, plan, i) for i in plan.skipped)]


def _each_insight(engine: Any, plan: Any) -> dict[str, float]:
    """Seconds of each insight run alone, one after another (for the per-insight table)."""
    from flowdigest import pipeline

    seconds = {}
    for i in plan.insights:
        t = time.perf_counter()
        pipeline.run_insight(engine, plan, i)
        seconds[i] = time.perf_counter() - t
    return seconds


def task_history(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine(args)
    seconds = {}
    for d in args.days:
        t = time.perf_counter()
        engine.build_rollup(dt.date.fromisoformat(d))
        seconds[d] = time.perf_counter() - t
    return {"seconds": sum(seconds.values()), "per_day": seconds}


def task_rollup(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine(args)
    t = time.perf_counter()
    engine.open_day(args.date)
    t_open = time.perf_counter()
    engine.build_rollup(args.date)
    t_end = time.perf_counter()
    return {"seconds": t_end - t, "open_seconds": t_open - t, "build_seconds": t_end - t_open}


BEFORE_SQL = Path(__file__).with_name("daily_rollup_before.sql")  # the rollup before the findings (issue 14)


def task_rollup_before(args: argparse.Namespace) -> dict[str, Any]:
    """The rollup build with the SQL it had before the findings' columns, into its own folder:
    `make bench` times the two builds side by side (the findings may grow it by 25 % at most)."""
    from flowdigest import queries
    from flowdigest.engine.duckdb_engine import DuckDBEngine

    day = args.date
    sql = queries.to_duckdb(BEFORE_SQL.read_text().format(
        flow_logs="flow_logs", date=day.isoformat(), year=f"{day:%Y}", month=f"{day:%m}", day=f"{day:%d}"))

    class Before(DuckDBEngine):
        def _rollup_sql(self, day: dt.date) -> str:
            return sql

    engine = Before(args.source, args.rollup_dir, reuse_rollups=False)
    t = time.perf_counter()
    engine.open_day(day)
    t_open = time.perf_counter()
    engine.build_rollup(day)
    t_end = time.perf_counter()
    return {"seconds": t_end - t, "open_seconds": t_open - t, "build_seconds": t_end - t_open}


def task_pandas_history(args: argparse.Namespace) -> dict[str, Any]:
    from bench import baseline_pandas

    t = time.perf_counter()
    days = baseline_pandas.build_history(args.source, args.history_dir, args.date)
    return {"seconds": time.perf_counter() - t, "days": days}


def task_scan(args: argparse.Namespace) -> dict[str, Any]:
    """The floor under any rollup build with DuckDB: read (decompress, decode) every raw
    column the rollup needs from the day's files, with no grouping at all."""
    import duckdb

    from flowdigest import queries
    from flowdigest.sources import load_day

    files = load_day(args.source, args.date).parquet_files
    listing = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    touch = ", ".join(f'min("{c}")' for c in queries.ROLLUP_SOURCE_COLUMNS)
    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(f"SELECT count(*), {touch} FROM read_parquet({listing})").fetchall()
    return {"seconds": time.perf_counter() - t, "columns": len(queries.ROLLUP_SOURCE_COLUMNS), "files": len(files)}


def task_queries(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine(args)
    plan = _plan_from_rollups(engine, args.date)
    seconds, results = _run_insights(engine, plan)
    per = _each_insight(engine, plan)  # after the timed run: not in `seconds`
    return {"seconds": seconds, "per_insight": per,
            "rows": {r.id: r.rows for r in results}, "status": {r.id: r.status for r in results}}


def task_together(args: argparse.Namespace) -> dict[str, Any]:
    from flowdigest import pipeline

    engine = _engine(args)
    t = time.perf_counter()
    plan = pipeline.prepare(engine, args.date)
    t_prep = time.perf_counter()
    _, results = _run_insights(engine, plan)
    t_end = time.perf_counter()
    return {"seconds": t_end - t, "prepare_seconds": t_prep - t, "queries_seconds": t_end - t_prep,
            "rows": {r.id: r.rows for r in results},
            "status": {r.id: r.status for r in results},
            "plan": json.loads(plan.model_dump_json()),
            "results": [json.loads(r.model_dump_json()) for r in results]}


def task_baseline(args: argparse.Namespace) -> dict[str, Any]:
    from bench import baseline_pandas

    phases: dict[str, float] = {}
    t = time.perf_counter()
    rows = baseline_pandas.run(args.source, args.history_dir, args.date, phases)
    return {"seconds": time.perf_counter() - t, "phases": phases, "rows": rows}


def _load_together(path: str) -> tuple[Any, list[Any]]:
    """The plan and insight results a `together` task saved."""
    from flowdigest.models import DayPlan, InsightResult

    saved = json.loads(Path(path).read_text())
    return DayPlan.model_validate(saved["plan"]), [InsightResult.model_validate(r) for r in saved["results"]]


def _figures(plan: Any, results: list[Any]) -> list[Any]:
    """The report's chart figures, as the render step builds them."""
    from flowdigest import report
    from flowdigest.pricing import Prices

    prices = Prices()
    return [fig for _, fig in report.figures(report.build(plan, results, prices), plan, prices)]


def task_charts(args: argparse.Namespace) -> dict[str, Any]:
    from flowdigest import report
    from flowdigest.charts.render import PngRenderer, stop_server

    plan, results = _load_together(args.input)
    t = time.perf_counter()
    figs = _figures(plan, results)
    t_figs = time.perf_counter()
    renderer = PngRenderer()
    w, h = report.CHART_WIDTH, report.CHART_HEIGHT
    t0 = time.perf_counter()
    renderer.render(figs[0], w, h)
    first = time.perf_counter() - t0
    passes = []
    for _ in range(args.passes):
        t0 = time.perf_counter()
        for fig in figs:
            renderer.render(fig, w, h)
        passes.append(time.perf_counter() - t0)
    stop_server()
    return {"charts": len(figs), "figures_seconds": t_figs - t, "first_chart_seconds": first,
            "find_seconds": renderer.find_seconds, "browser_start_seconds": renderer.browser_start_seconds,
            "first_pass_seconds": passes[0], "pass_seconds": passes,
            "per_chart_seconds": renderer.chart_seconds[1:1 + len(figs)]}


def task_render_cold(args: argparse.Namespace) -> dict[str, Any]:
    """The render function's cold start, as in Lambda: unpack the charts layer's Chromium
    (the npm package's *.br files, which the layer ships) into a fresh folder, as into /tmp,
    start the browser from it and render the report's first chart."""
    import tempfile

    from flowdigest import report
    from flowdigest.charts import browser
    from flowdigest.charts.render import PngRenderer, stop_server

    first_fig = _figures(*_load_together(args.input))[0]
    src = browser._default_src(browser.find_chromium().parent)
    with tempfile.TemporaryDirectory(prefix="cold-chromium-") as tmp:
        t = time.perf_counter()
        wrapper = browser.unpack(src, Path(tmp) / "chromium")
        unpacked = time.perf_counter() - t
        renderer = PngRenderer(wrapper)
        t = time.perf_counter()
        renderer.render(first_fig, report.CHART_WIDTH, report.CHART_HEIGHT)
        first = time.perf_counter() - t
        stop_server()
    return {"unpack_seconds": unpacked, "browser_start_seconds": renderer.browser_start_seconds,
            "first_chart_seconds": first, "seconds": unpacked + first}


def task_profile(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine(args)
    out = Path(args.profile_out)
    engine.open_day(args.date)
    # The last statement build_rollup runs is the COPY: its profile is what stays in the file.
    engine.con.execute("SET enable_profiling = 'json'")
    engine.con.execute("SET profiling_mode = 'detailed'")
    engine.con.execute(f"SET profiling_output = '{out.with_suffix('.json')}'")
    t = time.perf_counter()
    engine.build_rollup(args.date)
    seconds = time.perf_counter() - t
    engine.con.execute(f"SET profiling_output = '{out.with_suffix('.txt')}'")  # .txt suits either format
    engine.con.execute("SET enable_profiling = 'query_tree'")
    engine.build_rollup(args.date)
    engine.con.execute("RESET enable_profiling")
    return {"seconds": seconds, "json": str(out.with_suffix(".json")), "text": str(out.with_suffix(".txt"))}


ENGINE_MODULES = ("flowdigest.engine.duckdb_engine", "flowdigest.pipeline")
PRELOAD = {
    "baseline": ("bench.baseline_pandas",),
    "pandas-history": ("bench.baseline_pandas",),
    "charts": ("flowdigest.charts.render", "flowdigest.report"),
    "render-cold": ("flowdigest.charts.render", "flowdigest.report"),
}
TASKS = {
    "history": task_history, "pandas-history": task_pandas_history, "scan": task_scan, "rollup": task_rollup,
    "rollup-before": task_rollup_before,
    "queries": task_queries, "together": task_together, "baseline": task_baseline, "charts": task_charts,
    "render-cold": task_render_cold, "profile": task_profile,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.worker")
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("--out", type=Path, required=True, help="where to write the result (JSON)")
    p.add_argument("--source", type=Path)
    p.add_argument("--rollup-dir", type=Path)
    p.add_argument("--history-dir", type=Path, help="baseline: the pandas history summaries")
    p.add_argument("--date", type=dt.date.fromisoformat)
    p.add_argument("--days", nargs="*", default=[], help="history: the days to build")
    p.add_argument("--input", help="charts: a together result (plan and results)")
    p.add_argument("--passes", type=int, default=3, help="charts: warm passes over every chart")
    p.add_argument("--profile-out", help="profile: output path without suffix")
    args = p.parse_args(argv)
    fn = TASKS[args.task]
    # Import what the task needs before the clock starts, so `seconds` is the work alone.
    for module in PRELOAD.get(args.task, ENGINE_MODULES):
        importlib.import_module(module)
    imported = time.perf_counter()
    rss = _status_kib("VmRSS")
    result = fn(args)
    result.update(import_seconds=imported - _T0, rss_after_imports=rss * 1024, hwm=_status_kib("VmHWM") * 1024)
    args.out.write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
