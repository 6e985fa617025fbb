"""The AWS engine: Athena over the Glue tables `flow_logs` and `daily_rollup` (template.yaml).

- open_day lists the day's objects and reads one Parquet footer per hour (no scan);
  for plain-text flow logs (`flow_logs_text`) the columns are the configured format's
  and the hours come from the object keys;
- build_rollup runs daily_rollup.sql as an UNLOAD into s3://<reports>/rollup/dt=<day>/,
  the folder daily_rollup's partition projection reads (the dt value lives in the path,
  as the local engine writes it);
- query runs an insight's SQL through awswrangler without CTAS (the results are small).

The workgroup enforces the results location, encryption and the bytes-scanned cap.
Throttling and Athena's transient failures become TransientError, which the state
machine retries with backoff.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlglot
from botocore.exceptions import ClientError

from flowdigest import fields, queries, s3layout
from flowdigest.aws.errors import TransientError
from flowdigest.engine import DayInfo, json_rows
from flowdigest.pricing import athena_billed_bytes
from flowdigest.scope import Scope

if TYPE_CHECKING:
    from flowdigest.aws.settings import QuerySettings

_HOUR = re.compile(r"/hour=(\d{2})/")
# AWS's text object names carry the delivery time: ..._20240501T0305Z_<hash>.log.gz.
# One pattern for Python and for the SQL (Athena's Joni and DuckDB's RE2 both read it).
STAMP_PATTERN = r"(?:^|[^0-9])([0-9]{8})T([0-9]{2})[0-9]{2}Z[^/]*$"
_STAMP = re.compile(STAMP_PATTERN)
TEXT_TABLE = "flow_logs_text"
SCOPED_ROLLUP_TABLE = "daily_rollup_scoped"  # template.yaml's DailyRollupScopedTable
TEXT_SUFFIX = ".log.gz"  # AWS gzips every text delivery
_DT = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})/")
_TRANSIENT_CODES = {"ThrottlingException", "TooManyRequestsException", "SlowDown", "ServiceUnavailable",
                    "InternalServerException", "RequestTimeout"}
_TRANSIENT_TEXT = re.compile(r"throttl|rate exceeded|too many|slow ?down|service unavailable|internal error",
                             re.IGNORECASE)


def split_s3(uri: str) -> tuple[str, str]:
    """('bucket', 'prefix/') from 's3://bucket/prefix/' (the prefix may be empty)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, (prefix.rstrip("/") + "/") if prefix.strip("/") else ""


def text_table_expression(log_fields: tuple[str, ...], layout: str) -> str:
    """The text table shaped like `flow_logs`, so daily_rollup.sql runs on it unchanged.

    Every catalog column is there (NULL where the format lacks it, as Parquet files lacking
    a column read), and so is the `hour` partition: under dated daily folders it is the
    delivery hour from the object name, as Hive's hour=HH is (and as the local engine
    reads text), or the record's start hour when the name has no stamp of that day.
    Columns are qualified and cast (a no-op in Athena) so that sqlglot can type the
    query without knowing the text table's schema when it is transpiled for DuckDB.
    """
    present = set(log_fields)
    cols = [f'CAST({"t." + _q(f.column) if f.name in present else "NULL"} AS {f.sql_type}) AS {_q(f.column)}'
            for f in fields.FIELDS]
    cols += [f"t.{_q(p)}" for p in (*fields.SOURCE_PARTITION_COLUMNS, "year", "month", "day")]
    if layout == "dated-daily":
        def stamp(group: int) -> str:
            return f"regexp_extract(t.\"$path\", '{STAMP_PATTERN}', {group})"

        start_hour = "date_format(from_unixtime(t.\"start\"), '%H')" if "start" in present else "CAST(NULL AS VARCHAR)"
        cols.append(f"COALESCE(IF({stamp(1)} = t.\"year\" || t.\"month\" || t.\"day\", {stamp(2)}), "
                    f"{start_hour}) AS \"hour\"")
    else:
        cols.append('t."hour"')
    return f'(SELECT {", ".join(cols)} FROM "{TEXT_TABLE}" AS t)'


def _q(name: str) -> str:
    return f'"{name}"'


class AthenaEngine:
    flow_logs_table = "flow_logs"
    rollup_table = "daily_rollup"

    def __init__(self, settings: QuerySettings, *, s3_client: Any = None) -> None:
        assert settings.database and settings.workgroup and settings.reports_bucket and settings.region
        self.database = settings.database
        self.workgroup = settings.workgroup
        self.reports_bucket = settings.reports_bucket
        self.rollup_prefix = settings.rollup_prefix.strip("/") + "/"
        self.source_bucket, self.source_prefix = split_s3(settings.source)
        self.accounts = settings.source_accounts or ((settings.source_account,) if settings.source_account else ())
        self.regions = settings.source_regions or (settings.region,)
        self.text = settings.source_format == "plain-text"
        self.layout = settings.source_layout
        self.log_fields = settings.source_fields
        if self.text:
            self.flow_logs_table = text_table_expression(self.log_fields, self.layout)
        self.tgw = split_s3(settings.tgw_source) if settings.tgw_source else None
        self._s3 = s3_client
        self.scope = Scope()
        self.base_rollup_prefix = self.rollup_prefix
        # what Athena billed for this engine's queries so far (the digest's own scan cost);
        # None once a query's statistics were missing: the total is unknown then
        self.athena_billed_bytes: int | None = 0

    def set_scope(self, scope: Scope) -> None:
        """A filtered run lists and reads only its accounts' and Regions' partitions, and keeps
        its rollups apart: under rollup/scope=<hash>/, read through daily_rollup_scoped (whose
        injected `scope` partition each query names), never mixed with the whole bucket's."""
        self.scope = scope
        key = scope.rollup_key()
        self.rollup_prefix = f"{self.base_rollup_prefix}{key}/" if key else self.base_rollup_prefix
        self.rollup_table = (f"(SELECT * FROM {SCOPED_ROLLUP_TABLE} WHERE scope = '{key}')" if key
                             else "daily_rollup")

    def _bill(self, execution: Any) -> None:
        """Add a finished query's scanned bytes, as billed, from its QueryExecution."""
        scanned = ((execution or {}).get("Statistics") or {}).get("DataScannedInBytes")
        if scanned is None or self.athena_billed_bytes is None:
            self.athena_billed_bytes = None
        else:
            self.athena_billed_bytes += athena_billed_bytes(int(scanned))

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    def _accounts(self) -> tuple[str, ...]:
        if not self.accounts:
            import boto3

            self.accounts = (boto3.client("sts").get_caller_identity()["Account"],)
        return self.accounts

    def day_prefixes(self, day: dt.date) -> list[str]:
        """The day's folder of every account and Region read (the Glue tables' enum partitions)."""
        return [self.day_prefix(day, a, r) for a in self._accounts() for r in self.regions
                if self.scope.admits(a, r)]

    def day_prefix(self, day: dt.date, account: str | None = None, region: str | None = None) -> str:
        account = account or self._accounts()[0]
        region = region or self.regions[0]
        if self.text and self.layout == "dated-daily":
            return self.source_prefix + s3layout.plain_day_prefix(account, region, day)
        return self.source_prefix + s3layout.hive_day_prefix(account, region, day)

    def _day_objects(self, day: dt.date, suffix: str) -> list[dict[str, Any]]:
        return [o for prefix in self.day_prefixes(day) for o in self._objects(self.source_bucket, prefix)
                if o["Key"].endswith(suffix)]

    def _tgw_day_objects(self, day: dt.date) -> list[dict[str, Any]]:
        """The day's Transit Gateway flow-log files (Parquet, Hive, under their own prefix)."""
        if self.tgw is None:
            return []
        bucket, prefix = self.tgw
        return [o for a in self._accounts() for r in self.regions
                for o in self._objects(bucket, prefix + s3layout.hive_day_prefix(a, r, day))
                if o["Key"].endswith(".parquet")]

    def _objects(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with _athena_errors():
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                out.extend(page.get("Contents", []))
        return out

    # -- the day's raw logs -------------------------------------------------------------
    def open_day(self, day: dt.date) -> DayInfo:
        info = self._open_text_day(day) if self.text else self._open_parquet_day(
            self.source_bucket, self._day_objects(day, ".parquet"))
        tgw_objects = self._tgw_day_objects(day)
        if tgw_objects and self.tgw is not None:
            tgw = self._open_parquet_day(self.tgw[0], tgw_objects)
            info.tgw_columns, info.tgw_files = tgw.columns, tgw.files
            info.files += tgw.files
            info.source_bytes += tgw.source_bytes
            info.hours_present |= tgw.hours_present
        return info

    def _open_parquet_day(self, bucket: str, objects: list[dict[str, Any]]) -> DayInfo:
        first_per_hour: dict[int, str] = {}
        first_per_source: dict[str, str] = {}
        for o in sorted(objects, key=lambda o: o["Key"]):
            m = _HOUR.search(o["Key"])
            if m:
                first_per_hour.setdefault(int(m.group(1)), o["Key"])
                first_per_source.setdefault(o["Key"][:m.start()], o["Key"])
        columns: set[str] = set()
        # One footer per hour and per account and Region: a flow log's format is fixed, so
        # its files share a schema; several flow logs writing to one prefix still show up
        # hour by hour, and every account's own flow logs once at least.
        for key in sorted({*first_per_hour.values(), *first_per_source.values()}):
            columns.update(c for c in self._parquet_columns(key, bucket) if c in fields.BY_COLUMN)
        return DayInfo(columns=columns, files=len(objects), source_bytes=sum(o["Size"] for o in objects),
                       hours_present=set(first_per_hour))

    def _open_text_day(self, day: dt.date) -> DayInfo:
        objects = self._day_objects(day, TEXT_SUFFIX)
        hours: set[int] = set()
        for o in objects:
            if self.layout == "dated-daily":
                m = _STAMP.search(o["Key"])
                # a file stamped on another day has no known hour (its records' start decides)
                if m and m.group(1) == f"{day:%Y%m%d}":
                    hours.add(int(m.group(2)))
            elif m := _HOUR.search(o["Key"]):
                hours.add(int(m.group(1)))
        # A text file's columns are its format's, which the deployment states (the header
        # line would tell too, but reading it costs a GET per file for no new answer).
        columns = {fields.BY_NAME[n].column for n in self.log_fields} if objects else set()
        return DayInfo(columns=columns, files=len(objects), source_bytes=sum(o["Size"] for o in objects),
                       hours_present=hours)

    def _parquet_columns(self, key: str, bucket: str | None = None) -> list[str]:
        import awswrangler as wr

        with _athena_errors():
            columns, _ = wr.s3.read_parquet_metadata(path=[f"s3://{bucket or self.source_bucket}/{key}"])
        return list(columns)

    def build_rollup(self, day: dt.date) -> None:
        prefix = f"{self.rollup_prefix}dt={day.isoformat()}/"
        # UNLOAD refuses a non-empty destination: a re-run replaces the day's rollup.
        stale = [{"Key": o["Key"]} for o in self._objects(self.reports_bucket, prefix)]
        with _athena_errors():
            for i in range(0, len(stale), 1000):
                self.s3.delete_objects(Bucket=self.reports_bucket,
                                       Delete={"Objects": stale[i:i + 1000], "Quiet": True})
        sql = queries.render("daily_rollup", day, flow_logs=self.flow_logs_table, scope=self.scope)
        if self._tgw_day_objects(day):  # the Transit Gateway's sets, in the same UNLOAD
            sql = rollup_union([sql, queries.render("tgw_rollup", day, scope=self.scope)])
        self.execute(unload_sql(sql, f"s3://{self.reports_bucket}/{prefix}"))

    def rollup_current(self, day: dt.date) -> bool:
        return False  # a scheduled run reports a new day; a re-run means new files: rebuild

    # -- the stored rollups -------------------------------------------------------------
    def rollup_days(self) -> set[dt.date]:
        days = set()
        for o in self._objects(self.reports_bucket, self.rollup_prefix):
            m = _DT.match(o["Key"][len(self.rollup_prefix):])  # not a filtered run's (scope=<hash>/dt=)
            if m:
                days.add(dt.date.fromisoformat(m.group(1)))
        return days

    # -- running SQL ----------------------------------------------------------------------
    def execute(self, sql: str) -> str:
        """Run a statement that returns no rows (UNLOAD); returns its query execution id."""
        import awswrangler as wr

        with _athena_errors():
            qid = str(wr.athena.start_query_execution(sql, database=self.database, workgroup=self.workgroup))
            self._bill(wr.athena.wait_query(qid, athena_query_wait_polling_delay=1.0))
        return qid

    def query(self, trino_sql: str) -> list[dict[str, Any]]:
        import awswrangler as wr

        with _athena_errors():
            df = wr.athena.read_sql_query(trino_sql, database=self.database, workgroup=self.workgroup,
                                          ctas_approach=False, unload_approach=False,
                                          athena_query_wait_polling_delay=0.5)
            self._bill(getattr(df, "query_metadata", None))  # awswrangler attaches the QueryExecution
        # pandas' missing values (NaN, pd.NA, NaT) become None before the rows go to JSON.
        df = df.astype(object).where(df.notna(), None)
        return json_rows(df.to_dict(orient="records"))


def rollup_union(selects: list[str]) -> str:
    """Rollup queries of different columns (the VPC's and the Transit Gateway's sets) as one
    select of every rollup column, NULL where a query has none, for one UNLOAD."""
    def shaped(sql: str) -> str:
        select = sqlglot.parse_one(sql, read="trino")
        have = set(select.named_selects) if isinstance(select, sqlglot.exp.Query) else set()
        cols = [_q(c) if c in have else f"CAST(NULL AS {t}) AS {_q(c)}" for c, t in queries.ROLLUP_SCHEMA.items()]
        return f"SELECT {', '.join(cols)} FROM (\n{sql}\n) AS part"

    return "\nUNION ALL\n".join(shaped(sql) for sql in selects)


def unload_sql(select_sql: str, location: str) -> str:
    """daily_rollup.sql as an UNLOAD to `location` (the day's dt= folder), one folder per
    grouping set (rollup_set=flows/...): a query for one set reads only its files."""
    stored = [c for c in queries.ROLLUP_SCHEMA if c not in queries.ROLLUP_PARTITIONS]
    columns = ", ".join(f'"{c}"' for c in [*stored, "rollup_set"])  # partition column last, as UNLOAD wants
    return (f"UNLOAD (SELECT {columns} FROM (\n{select_sql}\n) AS rollup)\n"
            f"TO '{location}'\nWITH (format = 'PARQUET', compression = 'ZSTD', "
            f"compression_level = {queries.ROLLUP_ZSTD_LEVEL}, partitioned_by = ARRAY['rollup_set'])")


def is_transient(exc: BaseException) -> bool:
    """Whether a retry may fix it: throttling and AWS's own hiccups, not bad SQL or access."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "") in _TRANSIENT_CODES
    return type(exc).__name__ in ("QueryFailed", "QueryCancelled") and bool(_TRANSIENT_TEXT.search(str(exc)))


@contextlib.contextmanager
def _athena_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        raise
