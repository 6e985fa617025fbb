"""The Athena engine with Transit Gateway flow logs (FLOWDIGEST_TGW_SOURCE, the
tgw_flow_logs table): Athena cannot run here, so its halves are checked against the local
engine over the same files, as tests/integration/test_athena_text.py does for text:
- open_day over moto's S3 finds the VPC and the Transit Gateway files, columns and hours
  the local engine finds by reading them;
- build_rollup's one UNLOAD folds both into the rollup (the TGW sets beside the VPC ones),
  and its select, run on DuckDB over the same tables, gives the rollup the local engine builds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import test_athena_text
from test_athena_text import BUCKET, REGION

from flowdigest import queries
from flowdigest.aws.athena import AthenaEngine, rollup_union
from flowdigest.aws.settings import QuerySettings
from flowdigest.engine.duckdb_engine import DuckDBEngine
from flowdigest.sample import generate_day
from flowdigest.sample.tgw import PREFIX as TGW_PREFIX
from flowdigest.sample.tgw import TgwVpc, write_tgw_day

DAY = dt.date(2026, 11, 20)
PREFIX = "vpc/"
VPCS = [
    TgwVpc("123456789012", REGION, "vpc-0a1", ("subnet-0a1",), ("use1-az1",), 1),
    TgwVpc("210987654321", REGION, "vpc-0b2", ("subnet-0b1", "subnet-0b2"), ("use1-az2", "use1-az4"), 2),
    TgwVpc("210987654321", "eu-west-1", "vpc-0c3", ("subnet-0c1",), ("euw1-az1",), 3),
]


def settings(**extra: str) -> QuerySettings:
    return QuerySettings.from_env({
        "FLOWDIGEST_SOURCE": f"s3://{BUCKET}/{PREFIX}", "FLOWDIGEST_SOURCE_ACCOUNTS": "123456789012,210987654321",
        "AWS_REGION": REGION, "FLOWDIGEST_DATABASE": "flowdigest", "FLOWDIGEST_WORKGROUP": "wg",
        "FLOWDIGEST_REPORTS_BUCKET": "reports", "FLOWDIGEST_TGW_SOURCE": f"s3://{BUCKET}/{TGW_PREFIX}", **extra,
    })


@pytest.fixture(scope="module")
def day_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tgw_day")
    generate_day(root, DAY, records=2000, seed=5)
    write_tgw_day(root, VPCS, DAY)
    return root


s3 = test_athena_text.s3  # moto's S3 with its buckets (a fixture)


@pytest.fixture
def tgw_s3(s3: Any, day_root: Path) -> Any:
    """moto's S3 (test_athena_text's buckets) holding the day: the VPC files under PREFIX,
    the Transit Gateway's under their own."""
    for path in sorted(day_root.rglob("*.parquet")):
        rel = path.relative_to(day_root).as_posix()
        s3.upload_file(str(path), BUCKET, rel if rel.startswith(TGW_PREFIX) else PREFIX + rel)
    return s3


def test_open_day_finds_both_kinds_as_the_local_engine_does(tgw_s3: Any, day_root: Path, tmp_path: Path) -> None:
    local = DuckDBEngine(day_root, tmp_path / "rollup").open_day(DAY)
    remote = AthenaEngine(settings(), s3_client=tgw_s3).open_day(DAY)
    assert local.tgw_files == 24 and local.tgw_columns and local.columns
    assert (remote.files, remote.tgw_files, remote.source_bytes, remote.hours_present) == (
        local.files, local.tgw_files, local.source_bytes, local.hours_present)
    assert (remote.columns, remote.tgw_columns) == (local.columns, local.tgw_columns)
    # without FLOWDIGEST_TGW_SOURCE no Transit Gateway file is listed
    alone = AthenaEngine(settings(FLOWDIGEST_TGW_SOURCE=""), s3_client=tgw_s3).open_day(DAY)
    assert (alone.tgw_files, alone.tgw_columns, alone.files) == (0, set(), local.files - local.tgw_files)


def _rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    names = [c for c in queries.ROLLUP_SCHEMA if c != "dt"]
    return sorted((tuple(r.get(c) for c in names) for r in rows), key=repr)


def test_one_unload_folds_both_as_the_local_rollup(tgw_s3: Any, day_root: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr

    statements: list[str] = []
    monkeypatch.setattr(wr.athena, "start_query_execution", lambda sql, **kw: statements.append(sql) or "qid")
    monkeypatch.setattr(wr.athena, "wait_query", lambda qid, **kw: {"Status": {"State": "SUCCEEDED"}})
    AthenaEngine(settings(), s3_client=tgw_s3).build_rollup(DAY)
    assert len(statements) == 1 and statements[0].startswith("UNLOAD (SELECT")
    assert "FROM tgw_flow_logs" in statements[0] and "FROM flow_logs" in statements[0]

    local = DuckDBEngine(day_root, tmp_path / "rollup")
    local.build_rollup(DAY)
    # each set's files read alone: the VPC's and the Transit Gateway's sets have different columns
    stored = [{**r, "rollup_set": f.parent.name.split("=", 1)[1]}
              for f in sorted((tmp_path / "rollup" / f"dt={DAY.isoformat()}").glob("rollup_set=*/*.parquet"))
              for r in pq.read_table(f).to_pylist()]
    local._register_flow_logs(local._day(DAY))  # the same two tables, over the same files
    union = rollup_union([queries.render(q, DAY) for q in ("daily_rollup", "tgw_rollup")])
    cursor = local.con.execute(queries.to_duckdb(union))
    names = [d[0] for d in cursor.description]
    athena = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    assert {r["rollup_set"] for r in athena} >= {"tgw", "tgw_hours", "hours", "flows"}
    assert _rows(athena) == _rows(stored)
