"""The local run: the pipeline's steps in-process, in the Step Functions order."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from flowdigest import naming, pipeline
from flowdigest.engine.duckdb_engine import DuckDBEngine
from flowdigest.inventory import Snapshot
from flowdigest.models import RenderOutput
from flowdigest.pricing import Prices
from flowdigest.store import LocalStore

# Two insight queries at a time: measured on 2 cores (bench/), the nine small rollup
# queries take about 20 % less wall time than one after another.
QUERY_WORKERS = 2


def run_day(source: Path, report_date: dt.date, out: Path, *, charts: bool = True,
            skip_bad: bool = False, log_format: str | None = None, insights: list[str] | None = None,
            prices: Prices | None = None, reuse_rollups: bool = True, rebuild_history: bool = False,
            progress: pipeline.Progress = pipeline._quiet, inventory: Snapshot | None = None) -> RenderOutput:
    """Report on one day of flow logs under `source` into out/<date>/ (its keys, under `out`,
    are in what it returns). `reuse_rollups=False` builds the day's rollup again even if
    current; `rebuild_history` builds the day's and the history days' rollups again.
    `inventory`: the account's network inventory, for names (stored as out/<date>/inventory.json)."""
    pipeline.check_insights(insights)  # fail before any work on a typo
    engine = DuckDBEngine(source, out / "rollup", skip_bad=skip_bad, log_format=log_format,
                          reuse_rollups=reuse_rollups and not rebuild_history)
    engine.open_day(report_date)  # bad input stops the run here, before any browser starts
    early = _start_browser_early() if charts else None
    try:
        plan = pipeline.prepare(engine, report_date, insights, rebuild_history=rebuild_history, progress=progress)
        results = pipeline.run_insights(engine, plan, workers=QUERY_WORKERS, progress=progress)
        names = None
        if inventory is not None:
            store = LocalStore(out)
            names = naming.DayNames.load(pipeline.inventory_step(engine, plan, inventory, store), store)
    finally:
        if early is not None:
            early.join()  # started or failed: never left half-started at exit
    return render(plan, results, out, charts=charts, prices=prices, progress=progress, names=names)


def _start_browser_early() -> threading.Thread:
    """Start the charts' browser while the engine works. Its start (about 1 s) is mostly
    waiting on Chromium, which the queries leave time for. A failure is left to render(),
    which starts the browser itself and reports what went wrong."""

    def start() -> None:
        try:
            from flowdigest.charts.render import PngRenderer

            PngRenderer().start()
        except Exception:  # render() tries again and reports it
            logging.getLogger(__name__).debug("early browser start failed", exc_info=True)

    thread = threading.Thread(target=start, name="browser-start", daemon=True)
    thread.start()
    return thread


def render(plan, results, out: Path, *, charts: bool, prices: Prices | None,
           progress: pipeline.Progress, names: naming.DayNames | None = None) -> RenderOutput:
    if not charts:
        return pipeline.render_step(plan, results, LocalStore(out), None, prices, progress, names)
    from flowdigest.charts.render import PngRenderer

    with PngRenderer() as renderer:
        return pipeline.render_step(plan, results, LocalStore(out), renderer, prices, progress, names)
