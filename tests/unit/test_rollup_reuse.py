"""Running a day again reuses its rollup only while the day's files are the ones it was built from."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import oracle
import pyarrow.parquet as pq
import pytest
from conftest import run_report

from flowdigest import sample

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    sample.generate_day(root, DAY, records=3_000, seed=5)
    return root


def run(logs: Path, out: Path, **kwargs: bool) -> tuple[dict, list[str]]:
    lines: list[str] = []
    report_dir = run_report(logs, DAY, out, charts=False, insights=["headline", "top_talkers"],
                            progress=lines.append, **kwargs)
    return json.loads((report_dir / "report.json").read_text()), lines


def rollup(out: Path) -> Path:
    return out / "rollup" / f"dt={DAY.isoformat()}" / "rollup_set=flows" / "rollup_0.parquet"


def test_a_second_run_reuses_the_rollup_and_gives_the_same_report(logs: Path, tmp_path: Path) -> None:
    first, lines = run(logs, tmp_path / "out")
    assert any("building the daily rollup" in line for line in lines)
    built = rollup(tmp_path / "out").stat().st_mtime_ns

    second, lines = run(logs, tmp_path / "out")
    assert any("reusing it" in line for line in lines)
    assert not any("building the daily rollup" in line for line in lines)
    assert rollup(tmp_path / "out").stat().st_mtime_ns == built
    assert second["totals"] == first["totals"] == oracle.totals(oracle.read_day(logs, DAY))


def test_a_late_file_makes_the_next_run_rebuild(logs: Path, tmp_path: Path) -> None:
    run(logs, tmp_path / "out")
    late_root = tmp_path / "late"
    sample.generate_day(late_root, DAY, records=500, seed=9)
    late = sorted(late_root.glob("**/hour=13/*.parquet"))[0]
    target = next(logs.glob("**/hour=13"))
    shutil.copy(late, target / ("late-" + late.name))

    report, lines = run(logs, tmp_path / "out")
    assert any("building the daily rollup" in line for line in lines)
    assert report["totals"] == oracle.totals(oracle.read_day(logs, DAY))


def test_a_rewritten_file_makes_the_next_run_rebuild(logs: Path, tmp_path: Path) -> None:
    run(logs, tmp_path / "out")
    victim = sorted(logs.glob("**/hour=02/*.parquet"))[0]
    other = sorted(logs.glob("**/hour=03/*.parquet"))[0]
    victim.write_bytes(other.read_bytes())  # same name, different records

    report, lines = run(logs, tmp_path / "out")
    assert any("building the daily rollup" in line for line in lines)
    assert report["totals"] == oracle.totals(oracle.read_day(logs, DAY))


def test_rebuild_builds_even_when_nothing_changed(logs: Path, tmp_path: Path) -> None:
    run(logs, tmp_path / "out")
    _, lines = run(logs, tmp_path / "out", reuse_rollups=False)
    assert any("building the daily rollup" in line for line in lines)


def test_rebuild_history_rebuilds_a_damaged_history_rollup(logs: Path, tmp_path: Path) -> None:
    before = DAY - dt.timedelta(days=1)
    sample.generate_day(logs, before, records=1_000, seed=6)
    first, _ = run(logs, tmp_path / "out")
    damaged = tmp_path / "out" / "rollup" / f"dt={before.isoformat()}" / "rollup_set=flows" / "rollup_0.parquet"
    damaged.write_bytes(b"not parquet")

    second, lines = run(logs, tmp_path / "out", rebuild_history=True)
    # a damaged rollup counts as missing, so it is built whether or not rebuild_history asks
    assert any(line.startswith(f"{before}: building the rollup for history") for line in lines)
    assert any("building the daily rollup" in line for line in lines)  # the day's too
    assert pq.read_table(damaged).num_rows > 0
    assert {k: v for k, v in second.items() if k != "generated_at"} == \
        {k: v for k, v in first.items() if k != "generated_at"}
