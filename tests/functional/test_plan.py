"""Plan, then build: plan_day only lists, build_rollups makes what the plan reads exist,
and the engines return rows that are plain JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from conftest import REPORT_DAY

from flowdigest import pipeline, queries, sample
from flowdigest.engine.duckdb_engine import DuckDBEngine


def test_plan_day_builds_nothing_and_build_rollups_builds_what_it_planned(sample_root: Path, tmp_path: Path) -> None:
    engine = DuckDBEngine(sample_root, tmp_path / "rollup")
    plan = pipeline.plan_day(engine, REPORT_DAY)
    assert not (tmp_path / "rollup").exists()
    history = [REPORT_DAY - dt.timedelta(days=k) for k in range(queries.HISTORY_DAYS, 0, -1)]
    assert plan.history_days == history and not plan.skipped

    lines: list[str] = []
    pipeline.build_rollups(engine, plan, progress=lines.append)
    assert engine.rollup_days() == {REPORT_DAY, *history}
    assert lines == [f"{REPORT_DAY}: building the daily rollup",
                     *(f"{d}: building the rollup for history (once)" for d in history)]
    assert pipeline.plan_day(engine, REPORT_DAY) == plan  # the plan does not depend on what was built

    lines.clear()
    pipeline.build_rollups(engine, plan, progress=lines.append)
    assert lines == [f"{REPORT_DAY}: the daily rollup is current (same files as when built), reusing it"]


def test_a_day_without_files_plans_no_rollup_and_skips_every_insight(tmp_path: Path) -> None:
    # flow logs, but none for the report day or the week before
    sample.generate_day(tmp_path / "logs", REPORT_DAY - dt.timedelta(days=9), records=300, seed=1)
    engine = DuckDBEngine(tmp_path / "logs", tmp_path / "rollup")
    plan = pipeline.plan_day(engine, REPORT_DAY)
    pipeline.build_rollups(engine, plan)
    assert engine.rollup_days() == set() and plan.history_days == [] and plan.insights == []
    assert set(plan.skipped.values()) == {f"no flow logs were delivered for {REPORT_DAY}"}


def test_duckdb_rows_are_plain_json(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path, tmp_path / "rollup")
    rows = engine.query("SELECT CAST(2.50 AS DECIMAL(6, 2)) AS share, CAST(3 AS DECIMAL(6, 1)) AS whole, "
                        "DATE '2026-11-20' AS day, CAST('NaN' AS DOUBLE) AS nothing")
    assert rows == [{"share": 2.5, "whole": 3, "day": "2026-11-20", "nothing": None}]
    assert isinstance(rows[0]["whole"], int)
    json.dumps(rows)  # no default= needed
