"""The insights run two at a time locally: same rows, same order as one after another."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPORT_DAY

from flowdigest import pipeline
from flowdigest.engine.duckdb_engine import DuckDBEngine


@pytest.mark.slow
def test_concurrent_insights_equal_sequential_ones_in_plan_order(sample_root: Path, tmp_path: Path) -> None:
    engine = DuckDBEngine(sample_root, tmp_path / "rollup")
    plan = pipeline.prepare(engine, REPORT_DAY)
    assert len(plan.insights) >= 5
    lines: list[str] = []
    together = pipeline.run_insights(engine, plan, workers=2, progress=lines.append)
    alone = pipeline.run_insights(engine, plan, workers=1)
    assert [r.id for r in together] == plan.insights == [r.id for r in alone]
    assert [r.rows for r in together] == [r.rows for r in alone]
    assert all(r.status == "ok" for r in together)
    assert lines == [f"insight {i}: ok" for i in plan.insights]
