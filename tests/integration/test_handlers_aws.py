"""The Athena engine and the S3 store over moto's S3 (split from tests/functional/test_handlers.py).

Athena cannot run here: its SQL calls are stubbed; listing and objects are moto's S3.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lambda_env import AWS_ENV

from flowdigest.aws.errors import TransientError
from flowdigest.aws.settings import QuerySettings

REPORT_DAY = dt.date(2026, 11, 20)  # conftest's sample days end on it


# -- the Athena engine and the S3 store over moto's S3 -------------------------------------------


@pytest.fixture
def s3_flowlogs(sample_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The sample days uploaded to s3://flowlogs/prefix/AWSLogs/... (the layout AWS writes)."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in ("flowlogs", "reports"):
            s3.create_bucket(Bucket=bucket)
        for path in sample_root.rglob(f"day={REPORT_DAY:%d}/hour=*/*.parquet"):
            if f"month={REPORT_DAY:%m}" in str(path):
                s3.upload_file(str(path), "flowlogs", "prefix/" + str(path.relative_to(sample_root)))
        yield s3


def athena_engine() -> Any:
    from flowdigest.aws.athena import AthenaEngine

    env = {k: v for k, v in AWS_ENV.items() if k.startswith(("FLOWDIGEST_", "AWS_"))}
    return AthenaEngine(QuerySettings.from_env(env))


def test_athena_engine_reads_the_day_like_the_local_engine(s3_flowlogs: Any, sample_root: Path,
                                                           tmp_path: Path) -> None:
    from flowdigest.engine.duckdb_engine import DuckDBEngine

    local = DuckDBEngine(sample_root, tmp_path).open_day(REPORT_DAY)
    remote = athena_engine().open_day(REPORT_DAY)
    assert (remote.files, remote.source_bytes, remote.hours_present) == (local.files, local.source_bytes,
                                                                        local.hours_present)
    assert remote.columns == local.columns
    assert athena_engine().open_day(REPORT_DAY - dt.timedelta(days=30)).files == 0


def test_athena_rollup_unloads_into_an_emptied_day_folder(s3_flowlogs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr

    s3_flowlogs.put_object(Bucket="reports", Key="rollup/dt=2026-11-20/stale.parquet", Body=b"old")
    s3_flowlogs.put_object(Bucket="reports", Key="rollup/dt=2026-11-19/one.parquet", Body=b"x")
    statements: list[str] = []
    monkeypatch.setattr(wr.athena, "start_query_execution", lambda sql, **kw: statements.append(sql) or "qid-1")
    monkeypatch.setattr(wr.athena, "wait_query", lambda qid, **kw: {"Status": {"State": "SUCCEEDED"}})
    engine = athena_engine()
    engine.build_rollup(REPORT_DAY)
    assert len(statements) == 1 and statements[0].startswith("UNLOAD (SELECT")
    assert "TO 's3://reports/rollup/dt=2026-11-20/'" in statements[0]
    assert "FROM flow_logs" in statements[0] and "\"year\" = '2026'" in statements[0]
    assert engine.rollup_days() == {dt.date(2026, 11, 19)}  # the stale file went before the UNLOAD


def test_athena_query_rows_are_plain_json(monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr
    import pandas as pd

    frame = pd.DataFrame({"srcaddr": ["10.0.0.1", None], "bytes": pd.array([5, None], dtype="Int64"),
                          "share": [0.5, float("nan")]})
    monkeypatch.setattr(wr.athena, "read_sql_query", lambda sql, **kw: frame)
    rows = athena_engine().query("SELECT 1")
    assert rows[1] == {"srcaddr": None, "bytes": None, "share": None}
    json.dumps([{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows])


def test_athena_engine_tallies_what_each_query_is_billed(monkeypatch: pytest.MonkeyPatch) -> None:
    """From each QueryExecution's Statistics (moto's Athena reports 0 scanned bytes, so the figures
    are given here): whole MB, 10 MB at least per query; unknown once a query's statistics are missing."""
    import awswrangler as wr
    import pandas as pd

    from flowdigest import pipeline
    from flowdigest.models import DayPlan

    mb = 2**20

    def execution(scanned: int | None) -> dict[str, Any]:
        stats = {} if scanned is None else {"DataScannedInBytes": scanned}
        return {"Status": {"State": "SUCCEEDED"}, "Statistics": stats}

    def frame(scanned: int | None) -> Any:
        df = pd.DataFrame({"hour": [1], "bytes": [5]})
        with warnings.catch_warnings():  # pandas warns of a new attribute; awswrangler silences it too
            warnings.simplefilter("ignore", UserWarning)
            df.query_metadata = execution(scanned)
        return df

    monkeypatch.setattr(wr.athena, "start_query_execution", lambda sql, **kw: "qid-1")
    monkeypatch.setattr(wr.athena, "wait_query", lambda qid, **kw: execution(25 * mb + 1))
    engine = athena_engine()
    engine.execute("UNLOAD (SELECT 1) TO 's3://reports/x/'")
    assert engine.athena_billed_bytes == 26 * mb
    plan = DayPlan(report_date=REPORT_DAY, columns=["hour", "bytes"], files=1, source_bytes=1, hours_present=[1],
                   insights=["traffic_by_hour"])
    monkeypatch.setattr(wr.athena, "read_sql_query", lambda sql, **kw: frame(3))
    result = pipeline.run_insight(engine, plan, "traffic_by_hour")
    assert result.athena_billed_bytes == 10 * mb and engine.athena_billed_bytes == 36 * mb
    monkeypatch.setattr(wr.athena, "read_sql_query", lambda sql, **kw: frame(None))
    assert pipeline.run_insight(engine, plan, "traffic_by_hour").athena_billed_bytes is None
    assert engine.athena_billed_bytes is None


def test_throttling_becomes_a_transient_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr
    from botocore.exceptions import ClientError

    def throttled(sql: str, **kw: Any) -> Any:
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}},
                          "StartQueryExecution")

    monkeypatch.setattr(wr.athena, "read_sql_query", throttled)
    with pytest.raises(TransientError, match="TooManyRequestsException"):
        athena_engine().query("SELECT 1")

    def bad_sql(sql: str, **kw: Any) -> Any:
        raise wr.exceptions.QueryFailed("COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved")

    monkeypatch.setattr(wr.athena, "read_sql_query", bad_sql)
    with pytest.raises(wr.exceptions.QueryFailed):
        athena_engine().query("SELECT nope")


def test_s3_store_round_trip(s3_flowlogs: Any) -> None:
    from flowdigest.aws.s3store import S3Store

    store = S3Store("reports", "reports/")
    assert store.write_bytes("2026-11-20/message.json", b"{}", "application/json") == \
        "s3://reports/reports/2026-11-20/message.json"
    assert store.exists("2026-11-20/message.json") and not store.exists("2026-11-20/nothing.json")
    assert store.read_bytes("2026-11-20/message.json") == b"{}"
    with pytest.raises(FileNotFoundError):
        store.read_bytes("2026-11-20/nothing.json")
