"""A missing string value in Parquet, written as NULL or as '-' (AWS does not pin down
which): the report is the same either way, in both engines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlglot
from conftest import run_report
from sqlglot import exp

from flowdigest import fields, queries, sample

DAY = dt.date(2026, 3, 2)
STRING_SOURCES = [c for c in queries.ROLLUP_SOURCE_COLUMNS if fields.BY_COLUMN[c].sql_type == "VARCHAR"]


def _dashed(table: pa.Table) -> pa.Table:
    """Every missing string as '-', in AWS's schema."""
    cols = [pc.fill_null(table[f.name].cast(pa.string()), "-") if pa.types.is_string(f.type) else table[f.name]
            for f in table.schema]
    return pa.Table.from_arrays(cols, schema=fields.schema(table.column_names))


def _report(root: Path, out: Path) -> dict[str, Any]:
    report = json.loads((run_report(root, DAY, out, charts=False) / "report.json").read_text())
    report.pop("generated_at")
    report["source"].pop("bytes")  # the files' sizes: '-' takes more room than a NULL
    return report


def test_a_parquet_day_with_dashes_gives_the_same_report_as_with_nulls(tmp_path: Path) -> None:
    nulls, dashes = tmp_path / "nulls", tmp_path / "dashes"
    paths = sample.generate_day(nulls, DAY, records=3000, seed=5, profile=sample.DayProfile(files_per_hour=1))
    written = 0
    for path in paths:
        table = pq.read_table(path)
        dashed = _dashed(table)
        written += sum(pc.sum(pc.equal(dashed[c], "-")).as_py() or 0 for c in STRING_SOURCES)
        target = dashes / path.relative_to(nulls)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(dashed, target, compression="gzip", store_schema=False)
    assert written > 0  # NODATA records, the NAT gateway's instance-id, services: all '-'
    with_nulls, with_dashes = _report(nulls, tmp_path / "out1"), _report(dashes, tmp_path / "out2")
    assert with_nulls["totals"]["nodata_records"] > 0
    assert with_nulls["insights"]["nat_gateway"]["rows"][0]["bytes"] > 0
    assert with_dashes == with_nulls


def test_the_athena_rollup_reads_every_string_column_through_nullif() -> None:
    # Athena runs this same SQL text: each string column it reads is NULLIF(column, '-')
    # wherever its value is kept or compared with another column.
    sql = queries.render("daily_rollup", DAY)
    raw = next(t for t in sqlglot.parse_one(sql, read="trino").find_all(exp.Table) if t.name == "flow_logs")
    inner = raw.find_ancestor(exp.Select)
    assert inner is not None
    for column in STRING_SOURCES:
        assert f"NULLIF({column}, '-')" in sql.replace('"', ""), column
    for ref in inner.find_all(exp.Column):
        if ref.name not in STRING_SOURCES or isinstance(ref.parent, exp.Nullif):
            continue
        # only a test against a literal that is not '-' may read the raw value
        assert isinstance(ref.parent, exp.EQ) and ref.parent.expression.is_string, ref.parent.sql()
        assert ref.parent.expression.this != "-"
