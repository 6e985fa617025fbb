"""The local run: the pipeline's steps in-process, in the Step Functions order."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from flowdigest import naming, pipeline
from flowdigest.engine.duckdb_engine import DuckDBEngine
from flowdigest.findings.config import FindingsConfig
from flowdigest.inventory import Snapshot
from flowdigest.models import RenderOutput
from flowdigest.pricing import Prices
from flowdigest.scope import Scope
from flowdigest.sources.errors import FlowLogError, show
from flowdigest.store import LocalStore

if TYPE_CHECKING:  # plotly and kaleido are only in the charting layer
    from flowdigest.charts.render import PngRenderer

# Two insight queries at a time: measured on 2 cores (bench/), the nine small rollup
# queries take about 20 % less wall time than one after another.
QUERY_WORKERS = 2
# A second run on the same --out waits this long for the first (a run of a busy day takes
# tens of seconds), then gives up with EX_TEMPFAIL: nothing is half-written either way.
LOCK_WAIT_SECONDS = float(os.environ.get("FLOWDIGEST_LOCK_WAIT", "120"))
# DuckDB's memory cap (e.g. 1.5GB): past it, the rollup build spills to disk instead of
# growing; unset, DuckDB takes up to 80 % of the machine's memory
MEMORY_LIMIT_ENV = "FLOWDIGEST_MEMORY_LIMIT"
_MEMORY = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def memory_limit() -> str | None:
    value = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if value and not _MEMORY.fullmatch(value):
        raise FlowLogError(f"{MEMORY_LIMIT_ENV}={show(value)} is not a size (say 1.5GB or 900MiB)")
    return value or None
EXIT_BUSY = 75  # EX_TEMPFAIL: try again later
EXIT_USAGE = 2


class RunError(Exception):
    """The run could not start (its output folder is unusable or busy): one line, `code` to exit with."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@contextlib.contextmanager
def output_lock(out: Path, report_date: dt.date, wait: float | None = None,
                progress: pipeline.Progress = pipeline._quiet) -> Iterator[None]:
    """Hold OUT/.lock (flock) for the run: one run per output folder, as its rollups and
    report files are rewritten in place. Also checks --out is a folder it can write."""
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out}: a file, not a folder; choose a folder for the reports", EXIT_USAGE)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for sub in (out / "rollup", out / report_date.isoformat()):
            if sub.exists() and not sub.is_dir():
                raise RunError(f"--out {out}: {sub} is a file where the run writes a folder; "
                               "move it away or choose another --out", EXIT_USAGE)
        fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise RunError(f"--out {out}: cannot write there ({e.strerror or e})", EXIT_USAGE) from e
    try:
        deadline = time.monotonic() + wait
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said:
                    progress(f"--out {out}: another flowdigest run is using it; waiting up to {wait:.0f} s")
                    said = True
                if time.monotonic() >= deadline:
                    raise RunError(f"--out {out}: another flowdigest run is using it (waited {wait:.0f} s); "
                                   "run again when it has finished", EXIT_BUSY) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


def run_day(source: Path, report_date: dt.date, out: Path, *, charts: bool = True,
            skip_bad: bool = False, log_format: str | None = None, insights: list[str] | None = None,
            prices: Prices | None = None, reuse_rollups: bool = True, rebuild_history: bool = False,
            progress: pipeline.Progress = pipeline._quiet, findings_config: FindingsConfig | None = None,
            inventory: Snapshot | None = None, scope: Scope | None = None) -> RenderOutput:
    """Report on one day of flow logs under `source` into out/<date>/ (its keys, under `out`,
    are in what it returns). `reuse_rollups=False` builds the day's rollup again even if
    current; `rebuild_history` builds the day's and the history days' rollups again.
    `inventory`: the account's network inventory, for names (stored as out/<date>/inventory.json).
    `scope`: the accounts, Regions and VPCs to read (default: all under `source`)."""
    pipeline.check_insights(insights)  # fail before any work on a typo
    with output_lock(out, report_date, progress=progress):
        return _run_locked(source, report_date, out, charts=charts, skip_bad=skip_bad, log_format=log_format,
                           insights=insights, prices=prices, reuse_rollups=reuse_rollups,
                           rebuild_history=rebuild_history, progress=progress, findings_config=findings_config,
                           inventory=inventory, scope=scope or Scope())


def _run_locked(source: Path, report_date: dt.date, out: Path, *, charts: bool, skip_bad: bool,
                log_format: str | None, insights: list[str] | None, prices: Prices | None,
                reuse_rollups: bool, rebuild_history: bool, progress: pipeline.Progress,
                findings_config: FindingsConfig | None, inventory: Snapshot | None, scope: Scope) -> RenderOutput:
    # Never read the run's own output; the demo's source lives inside --out (OUT/sample)
    inside = source.resolve().is_relative_to(out.resolve())
    engine = DuckDBEngine(source, out / "rollup", skip_bad=skip_bad, log_format=log_format,
                          reuse_rollups=reuse_rollups and not rebuild_history, exclude=() if inside else (out,),
                          progress=progress, memory_limit=memory_limit())
    engine.set_scope(scope)
    engine.open_day(report_date)  # bad input stops the run here, before any browser starts
    early = _start_browser_early() if charts else None
    try:
        plan = pipeline.prepare(engine, report_date, insights, rebuild_history=rebuild_history, progress=progress)
        names = None
        if inventory is not None:
            store = LocalStore(out)
            names = naming.DayNames.load(pipeline.inventory_step(engine, plan, inventory, store), store)
        results = pipeline.run_insights(engine, plan, workers=QUERY_WORKERS, progress=progress,
                                        inventory=names.output if names else None)
    finally:
        if early is not None:
            early.join()  # started or failed: never left half-started at exit
    return render(plan, results, out, charts=charts, prices=prices, progress=progress,
                  findings_config=findings_config, names=names)


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
           progress: pipeline.Progress, findings_config: FindingsConfig | None = None,
           names: naming.DayNames | None = None) -> RenderOutput:
    browser: contextlib.AbstractContextManager[PngRenderer | None] = contextlib.nullcontext(None)
    if charts:
        from flowdigest.charts.render import PngRenderer

        browser = PngRenderer()
    with browser as renderer:
        return pipeline.render_step(plan, results, LocalStore(out), renderer, prices, progress=progress,
                                    findings_config=findings_config, inventory=names)
