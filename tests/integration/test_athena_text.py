"""The Athena engine over plain-text flow logs (ExistingFlowLogFileFormat plain-text).

Athena itself cannot run here, so its two halves are checked against the local engine:
- open_day over moto's S3 (object listing only) finds the files, hours and columns that
  the local engine finds by reading the same files;
- daily_rollup.sql over the text table expression parses as Athena SQL and, run on DuckDB
  over a text table read the way Athena's LazySimpleSerDe reads it (space-separated, a
  header line, `-` for NULL, typed by the Glue columns, `$path` the object's S3 URI),
  gives the rollup the local engine builds from the same files.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from flowdigest import fields, queries, sample
from flowdigest.aws.athena import TEXT_TABLE, AthenaEngine, text_table_expression
from flowdigest.aws.errors import SettingsError
from flowdigest.aws.settings import QuerySettings
from flowdigest.engine.duckdb_engine import DuckDBEngine
from flowdigest.sources import read_text_file
from flowdigest.sources.text import format_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DAY = dt.date(2026, 11, 20)
ACCOUNT = "111122223333"
REGION = "us-east-1"
BUCKET, PREFIX = "flowlogs", "vpc/"
LAYOUTS = ("dated-daily", "hive-hourly")

# template.yaml's ExistingFlowLogFields values (tests/integration/test_template_text.py
# checks its Mappings and Glue columns against these) and a real sample of each format.
FORMATS: dict[str, tuple[str, ...]] = {
    "v2-default": fields.DEFAULT_FORMAT,
    "v5-all": fields.V5_FORMAT,
    "v5-all-reject-reason": (*fields.V5_FORMAT, "reject-reason"),
    "v8-all": tuple(f.name for f in fields.FIELDS),
}
CORPUS_FILES = {
    "v2-default": "elastic-integrations__test-extra-samples.log",
    "v5-all": "elastic-integrations__test-v5-all-fields.log",
    "v8-all": "elastic-integrations__test-v8-samples.log",
}
_DUCK_TYPES = {"INT": "INTEGER", "BIGINT": "BIGINT", "VARCHAR": "VARCHAR"}


def settings(layout: str, log_fields: tuple[str, ...] = fields.DEFAULT_FORMAT, **extra: str) -> QuerySettings:
    return QuerySettings.from_env({
        "FLOWDIGEST_SOURCE": f"s3://{BUCKET}/{PREFIX}", "FLOWDIGEST_SOURCE_ACCOUNT": ACCOUNT,
        "AWS_REGION": REGION, "FLOWDIGEST_DATABASE": "flowdigest", "FLOWDIGEST_WORKGROUP": "wg",
        "FLOWDIGEST_REPORTS_BUCKET": "reports", "FLOWDIGEST_SOURCE_FORMAT": "plain-text",
        "FLOWDIGEST_SOURCE_LAYOUT": layout, "FLOWDIGEST_SOURCE_FIELDS": " ".join(log_fields), **extra,
    })


# -- writing days of text logs the way AWS delivers them -------------------------------------


def folder(layout: str, day: dt.date, hour: int) -> str:
    """The day's (and hour's) key prefix below the configured prefix, as AWS writes it."""
    if layout == "dated-daily":
        return f"AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/{day:%Y}/{day:%m}/{day:%d}/"
    return (f"AWSLogs/aws-account-id={ACCOUNT}/aws-service=vpcflowlogs/aws-region={REGION}/"
            f"year={day:%Y}/month={day:%m}/day={day:%d}/hour={hour:02d}/")


def object_name(stamp: dt.datetime | None, n: int = 0) -> str:
    when = f"_{stamp:%Y%m%dT%H%MZ}" if stamp else ""
    return f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-0123456789abcdef0{when}_{n:08x}.log.gz"


def write_log(root: Path, key: str, table: pa.Table) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(format_text(table)))
    return path


def in_order(table: pa.Table, log_fields: tuple[str, ...]) -> pa.Table:
    """The table's columns in the format's order (a text file's columns are positional)."""
    return table.select([fields.BY_NAME[n].column for n in log_fields])


def corpus_table(fmt: str) -> pa.Table:
    return read_text_file(CORPUS / CORPUS_FILES[fmt], log_format=FORMATS[fmt])


# -- Athena's reading of the text table, emulated on DuckDB ---------------------------------


def partitions_of(key: str, layout: str) -> dict[str, str]:
    parts = key.split("/")
    if layout == "dated-daily":  # ...AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<name>
        return dict(zip(("aws_account_id", "aws_region", "year", "month", "day"), [parts[-7], parts[-5], *parts[-4:-1]],
                        strict=True))
    keys = {"aws-account-id": "aws_account_id", "aws-region": "aws_region"}
    return {keys.get(k, k): v for k, v in (p.split("=", 1) for p in parts if "=" in p)
            if k in keys or k in fields.PARTITION_COLUMNS}


def register_text_table(con: duckdb.DuckDBPyConnection, root: Path, layout: str,
                        log_fields: tuple[str, ...]) -> None:
    """`flow_logs_text` as Athena reads it: Glue's columns by position, the partitions
    from the object's key (partition projection), `$path` the object's S3 URI."""
    columns = "{" + ", ".join(f"'{fields.BY_NAME[n].column}': '{_DUCK_TYPES[fields.BY_NAME[n].sql_type]}'"
                              for n in log_fields) + "}"
    selects = []
    for path in sorted(root.rglob("*.log.gz")):
        key = PREFIX + path.relative_to(root).as_posix()
        extra = [f"'{v}' AS \"{k}\"" for k, v in partitions_of(key, layout).items()]
        extra.append(f"'s3://{BUCKET}/{key}' AS \"$path\"")
        selects.append(
            f"SELECT *, {', '.join(extra)} FROM read_csv('{path}', delim = ' ', header = true, "
            f"nullstr = '-', quote = '', escape = '', auto_detect = false, columns = {columns})"
        )
    con.execute(f"CREATE OR REPLACE VIEW {TEXT_TABLE} AS " + " UNION ALL ".join(selects))


def rollup_rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    names = [c for c in queries.ROLLUP_SCHEMA if c != "dt"]
    return sorted((tuple(r.get(c) for c in names) for r in rows), key=repr)  # no tgw set: its columns absent


def athena_rollup(root: Path, layout: str, log_fields: tuple[str, ...], day: dt.date) -> list[tuple[Any, ...]]:
    engine = AthenaEngine(settings(layout, log_fields))
    sql = queries.render("daily_rollup", day, flow_logs=engine.flow_logs_table)
    assert sqlglot.parse_one(sql, read="athena")  # Athena's dialect, as written
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # Athena's sessions are UTC
    register_text_table(con, root, layout, log_fields)
    cursor = con.execute(queries.to_duckdb(sql))
    names = [d[0] for d in cursor.description]
    return rollup_rows([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])


def local_rollup(root: Path, day: dt.date, tmp: Path) -> list[tuple[Any, ...]]:
    engine = DuckDBEngine(root, tmp / "rollup")
    engine.build_rollup(day)
    # the day's folder holds one rollup_set=<set>/ folder per grouping set
    table = pq.read_table(tmp / "rollup" / f"dt={day.isoformat()}", partitioning="hive")
    return rollup_rows([{**r, "rollup_set": str(r["rollup_set"])} for r in table.to_pylist()])


# -- settings ------------------------------------------------------------------------------


def test_settings_read_the_text_options_and_refuse_what_cannot_work() -> None:
    s = settings("dated-daily", fields.V5_FORMAT)
    assert (s.source_format, s.source_layout, s.source_fields) == ("plain-text", "dated-daily", fields.V5_FORMAT)
    assert settings("hive-hourly", FLOWDIGEST_SOURCE_FIELDS="").source_fields == fields.DEFAULT_FORMAT
    braces = settings("hive-hourly", FLOWDIGEST_SOURCE_FIELDS="${version} ${srcaddr} ${bytes}")
    assert braces.source_fields == ("version", "srcaddr", "bytes")
    # the one format parser: Parquet-style names too, and the closest known name for a typo
    assert settings("hive-hourly", FLOWDIGEST_SOURCE_FIELDS="${version} log_status").source_fields == \
        ("version", "log-status")
    with pytest.raises(SettingsError, match=r"FLOWDIGEST_SOURCE_FIELDS.*did you mean 'srcaddr'"):
        settings("hive-hourly", FLOWDIGEST_SOURCE_FIELDS="version srcadr")
    with pytest.raises(SettingsError, match=r"FLOWDIGEST_SOURCE_FIELDS.*srcadr"):
        settings("hive-hourly", FLOWDIGEST_SOURCE_FIELDS="version srcadr")
    with pytest.raises(SettingsError, match="twice"):
        settings("hive-hourly", FLOWDIGEST_SOURCE_FIELDS="version version")
    with pytest.raises(SettingsError, match="FLOWDIGEST_SOURCE_LAYOUT"):
        settings("daily")
    with pytest.raises(SettingsError, match="plain-text flow logs only"):
        settings("dated-daily", FLOWDIGEST_SOURCE_FORMAT="parquet")
    parquet = AthenaEngine(settings("hive-hourly", FLOWDIGEST_SOURCE_FORMAT="parquet"))
    assert parquet.flow_logs_table == "flow_logs"


def test_table_expression_has_every_flow_logs_column_and_reads_only_the_formats() -> None:
    for layout in LAYOUTS:
        for fmt, log_fields in FORMATS.items():
            sql = text_table_expression(log_fields, layout)
            select = sqlglot.parse_one(sql.strip("()"), read="athena")
            assert isinstance(select, sqlglot.exp.Select)
            partitions = [*fields.SOURCE_PARTITION_COLUMNS, *fields.PARTITION_COLUMNS]
            assert select.named_selects == [f.column for f in fields.FIELDS] + partitions
            read = {c.name for c in select.find_all(sqlglot.exp.Column) if c.table == "t"}
            expected = {fields.BY_NAME[n].column for n in log_fields} | set(partitions[:-1])
            expected |= {"$path"} if layout == "dated-daily" else {"hour"}
            assert read == expected, (layout, fmt)


# -- open_day over S3 -------------------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    for key, value in (("AWS_DEFAULT_REGION", REGION), ("AWS_ACCESS_KEY_ID", "testing"),
                       ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        client.create_bucket(Bucket="reports")
        yield client


def upload(s3: Any, root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), BUCKET, PREFIX + path.relative_to(root).as_posix())


@pytest.fixture(scope="module")
def sample_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated day (v5-all fields, NAT and endpoint traffic, late records) in AWS's Parquet layout."""
    root = tmp_path_factory.mktemp("parquet")
    sample.generate_days(root, DAY, days=1, records=3000, seed=11)
    return root


def text_copy(sample_root: Path, out: Path, layout: str, log_fields: tuple[str, ...]) -> Path:
    """The sample day's files as text objects in `layout`, same names and delivery hours."""
    for src in sorted(sample_root.rglob("*.log.parquet")):
        hour = int(next(p for p in src.parts if p.startswith("hour="))[5:])
        name = src.name.replace(".log.parquet", ".log.gz")
        write_log(out, folder(layout, DAY, hour) + name, in_order(pq.read_table(src), log_fields))
    return out


@pytest.mark.parametrize("layout", LAYOUTS)
def test_open_day_lists_what_the_local_engine_reads(layout: str, s3: Any, sample_day: Path, tmp_path: Path) -> None:
    log_fields = FORMATS["v5-all-reject-reason"]
    root = text_copy(sample_day, tmp_path / "src", layout, fields.V5_FORMAT)
    # the same day's logs in Parquet, another day and another account are not this day's
    other = DAY + dt.timedelta(days=1)
    write_log(root, folder(layout, other, 1) + object_name(dt.datetime(2026, 11, 21, 1, 5)), corpus_table("v5-all"))
    (root / folder(layout, DAY, 3) / "notes.txt").write_text("not a flow log")
    upload(s3, root)
    s3.put_object(Bucket=BUCKET, Key=PREFIX + folder(layout, DAY, 3).replace(ACCOUNT, "999999999999") + "x.log.gz",
                  Body=b"")
    local = DuckDBEngine(root, tmp_path / "rollup").open_day(DAY)
    remote = AthenaEngine(settings(layout, fields.V5_FORMAT), s3_client=s3).open_day(DAY)
    assert remote.files == local.files == len(list(sample_day.rglob("*.log.parquet")))
    assert (remote.source_bytes, remote.hours_present, remote.columns) == (local.source_bytes,
                                                                          local.hours_present, local.columns)
    assert remote.hours_present == set(range(24))
    # the columns are the configured format's (there is no footer to read)
    wider = AthenaEngine(settings(layout, log_fields), s3_client=s3).open_day(DAY)
    assert wider.columns == {fields.BY_NAME[n].column for n in log_fields}
    empty = AthenaEngine(settings(layout, log_fields), s3_client=s3).open_day(DAY - dt.timedelta(days=3))
    assert (empty.files, empty.columns, empty.hours_present) == (0, set(), set())


def test_open_day_takes_dated_hours_from_the_name_stamp_of_that_day(s3: Any, tmp_path: Path) -> None:
    table = corpus_table("v2-default")
    day_folder = folder("dated-daily", DAY, 0)
    keys = [
        day_folder + object_name(dt.datetime(2026, 11, 20, 0, 5), 1),
        day_folder + object_name(dt.datetime(2026, 11, 20, 13, 55), 2),
        day_folder + object_name(dt.datetime(2026, 11, 19, 23, 55), 3),  # stamped the day before
        day_folder + object_name(None, 4),  # no stamp
    ]
    for key in keys:
        write_log(tmp_path, key, table)
    upload(s3, tmp_path)
    info = AthenaEngine(settings("dated-daily"), s3_client=s3).open_day(DAY)
    assert info.files == 4 and info.hours_present == {0, 13}
    assert info.columns == {fields.BY_NAME[n].column for n in fields.DEFAULT_FORMAT}


def test_build_rollup_unloads_from_the_text_table(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr

    statements: list[str] = []

    def start(sql: str, **kw: Any) -> str:
        statements.append(sql)
        return "qid"

    monkeypatch.setattr(wr.athena, "start_query_execution", start)
    monkeypatch.setattr(wr.athena, "wait_query", lambda qid, **kw: {"Status": {"State": "SUCCEEDED"}})
    AthenaEngine(settings("dated-daily"), s3_client=s3).build_rollup(DAY)
    assert len(statements) == 1 and statements[0].startswith("UNLOAD (SELECT")
    assert f'FROM "{TEXT_TABLE}" AS t' in statements[0] and "\"year\" = '2026'" in statements[0]
    assert "TO 's3://reports/rollup/dt=2026-11-20/'" in statements[0]


# -- the rollup: Athena's SQL over the text table vs the local engine -----------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fmt", sorted(CORPUS_FILES))
def test_rollup_over_corpus_text_matches_the_local_engine(fmt: str, layout: str, tmp_path: Path) -> None:
    log_fields = FORMATS[fmt]
    table = corpus_table(fmt)
    root = tmp_path / "src"
    write_log(root, folder(layout, DAY, 7) + object_name(dt.datetime(2026, 11, 20, 7, 5), 1), table)
    if layout == "dated-daily":
        # no stamp of the day in the name: the hour is each record's start hour, in both engines
        write_log(root, folder(layout, DAY, 0) + object_name(None, 2), table)
        write_log(root, folder(layout, DAY, 0) + object_name(dt.datetime(2026, 11, 19, 23, 55), 3), table)
    expected = local_rollup(root, DAY, tmp_path)
    # every record is counted once in each grouping set; the 'flows' set is enough to check
    at = [c for c in queries.ROLLUP_SCHEMA if c != "dt"].index("flows")  # rollup_rows' order
    flows = sum(r[at] for r in expected if r[0] == "flows")
    assert expected and flows == table.num_rows * (3 if layout == "dated-daily" else 1)
    assert athena_rollup(root, layout, log_fields, DAY) == expected


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rollup_over_a_sample_day_in_text_matches_its_parquet_rollup(layout: str, sample_day: Path,
                                                                     tmp_path: Path) -> None:
    root = text_copy(sample_day, tmp_path / "src", layout, fields.V5_FORMAT)
    from_parquet = local_rollup(sample_day, DAY, tmp_path / "parquet")
    assert local_rollup(root, DAY, tmp_path / "text") == from_parquet
    assert athena_rollup(root, layout, fields.V5_FORMAT, DAY) == from_parquet
    hours = {r[1] for r in from_parquet if r[0] == "hours"}
    assert hours == set(range(24))  # the delivery hours, as Hive's hour=HH
