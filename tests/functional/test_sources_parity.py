"""The same records delivered as text (.log.gz, AWS's text layout) and as Parquet (Hive layout)
give the same report: every total and every insight's rows."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import run_report

from flowdigest import sample
from flowdigest.sources.text import format_text

pytest.importorskip("flowdigest.runner")

DAY = dt.date(2024, 6, 12)


def text_copy(hive: Path, out: Path) -> int:
    """Write every Parquet file's records as AWS's text delivery would; returns files written.

    Hour 10's files go into one object as two gzip members (as `cat a.gz b.gz` makes), so the
    header line repeats mid-file.
    """
    written = 0
    concatenated: dict[Path, bytes] = {}
    for src in sorted(hive.rglob("*.log.parquet")):
        parts = dict(p.split("=", 1) for p in src.parts if "=" in p)
        folder = (out / "AWSLogs" / parts["aws-account-id"] / "vpcflowlogs" / parts["aws-region"]
                  / parts["year"] / parts["month"] / parts["day"])
        folder.mkdir(parents=True, exist_ok=True)
        member = gzip.compress(format_text(pq.read_table(src)), compresslevel=1)
        if parts["hour"] == "10":
            key = folder / (src.name.split("_")[0] + f"_vpcflowlogs_concat_{parts['year']}{parts['month']}"
                            f"{parts['day']}T1000Z_cat.log.gz")
            concatenated[key] = concatenated.get(key, b"") + member
            continue
        (folder / src.name.replace(".log.parquet", ".log.gz")).write_bytes(member)
        written += 1
    for key, data in concatenated.items():
        key.write_bytes(data)
        written += 1
    return written


def numbers(report_dir: Path) -> dict[str, Any]:
    rep = json.loads((report_dir / "report.json").read_text())
    return {
        "totals": rep["totals"],
        "hours": rep["data_health"]["hours_present"],
        "insights": {i: (e["status"], e.get("reason"), e["rows"]) for i, e in rep["insights"].items()},
    }


@pytest.mark.slow
def test_text_and_parquet_days_give_the_same_report(tmp_path: Path) -> None:
    hive, text = tmp_path / "parquet", tmp_path / "text"
    sample.generate_days(hive, DAY, days=3, records=6000, seed=11,
                         profile=sample.DayProfile(missing_hours=(4,)))
    assert text_copy(hive, text) > 0

    from_parquet = numbers(run_report(hive, DAY, tmp_path / "out-parquet", charts=False))
    from_text = numbers(run_report(text, DAY, tmp_path / "out-text", charts=False))

    assert from_parquet["totals"]["flows"] > 0
    assert from_text["totals"] == from_parquet["totals"]
    assert from_text["hours"] == from_parquet["hours"] == [h for h in range(24) if h != 4]
    assert from_text["insights"].keys() == from_parquet["insights"].keys()
    for insight, expected in from_parquet["insights"].items():
        assert from_text["insights"][insight] == expected, insight
