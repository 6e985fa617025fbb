"""Every query is Athena SQL, and its DuckDB translation keeps Athena's semantics."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import duckdb
import pytest
import sqlglot

from bench.athena_scan import table_scans
from flowdigest import queries
from flowdigest.insights import INSIGHTS

SQL_NAMES = queries.query_names()
DAY = dt.date(2026, 3, 1)


def test_every_query_has_its_sql_file() -> None:
    # the pipeline's in sql/, each insight's in its own folder
    pipeline_sql = sorted(p.name[:-4] for p in resources.files("flowdigest").joinpath("sql").iterdir()
                          if p.name.endswith(".sql"))
    assert pipeline_sql == sorted(queries.PIPELINE_QUERIES)
    for i in INSIGHTS.values():
        assert i.query_file == Path(str(resources.files("flowdigest") / "insights" / i.id / "query.sql"))
        assert i.query_file.is_file()


@pytest.mark.parametrize("name", SQL_NAMES)
@pytest.mark.parametrize("dialect", ["athena", "trino"])
def test_query_parses_as_athena_sql(name: str, dialect: str) -> None:
    sql = queries.render(name, DAY, flow_logs='"flowdigest"."flow_logs"', rollup='"flowdigest"."daily_rollup"')
    sqlglot.parse_one(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)


@pytest.mark.parametrize("name", SQL_NAMES)
def test_query_reads_only_the_days_partitions(name: str) -> None:
    sql = queries.render(name, DAY)
    if name in ("daily_rollup", "tgw_rollup"):
        assert "\"year\" = '2026' AND \"month\" = '03' AND \"day\" = '01'" in sql
    elif name in ("headline", "new_talkers"):  # the week of rollups before the day, never raw logs
        assert "'2026-02-22'" in sql and "flow_logs" not in sql
    else:
        assert "dt = '2026-03-01'" in sql and "flow_logs" not in sql


# Table scans each query needs on Athena, which inlines WITH queries: every reference to a
# query reading a table scans that table again, and each scan is billed. One scan each,
# except new_talkers (the day, and the week before it: the week's destinations only, where
# one scan of all eight days would read the day's columns for the week too), transit_gateway:
# eight, of the day's few-KB 'tgw' set (its query.sql says why that is cheap), and the
# queries that join the small ingress set's interface facts to the day's rows instead of
# computing them with windows (a big day's flows set does not fit a window in memory):
# interface_bytes (hours and ingress), top_talkers (flows, and ingress for the winners'
# instance ids), gateway_endpoint (ingress twice, flows), nat_gateway (ingress three times,
# flows) and findings (ingress three times, the day, the week).
TABLE_SCANS = {name: 1 for name in SQL_NAMES} | {"new_talkers": 2, "findings": 5, "transit_gateway": 8,
                                                 "interface_bytes": 2, "top_talkers": 2, "gateway_endpoint": 3,
                                                 "nat_gateway": 4}
BIG_SETS = {"flows", "hours"}


@pytest.mark.parametrize("name", SQL_NAMES)
def test_query_scans_its_table_no_more_than_it_needs(name: str) -> None:
    week = [DAY - dt.timedelta(days=k) for k in range(queries.HISTORY_DAYS, -1, -1)]
    scans = table_scans(queries.render(name, DAY), week)
    assert len(scans) == TABLE_SCANS[name]
    # the day's big sets are read once at most, whatever the small sets' scans
    assert sum(1 for s in scans if DAY in s.days and BIG_SETS & set(s.sets)) <= 1


def test_integer_division_stays_integer() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE daily_rollup (bytes BIGINT, flows BIGINT, dt VARCHAR)")
    con.execute("INSERT INTO daily_rollup VALUES (7, 2, 'x')")
    sql = queries.to_duckdb("SELECT bytes / flows AS q FROM daily_rollup")
    assert con.execute(sql).fetchone() == (3,)  # Trino: 7 / 2 = 3 for integers


def test_from_unixtime_is_utc() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/Los_Angeles'")
    con.execute("CREATE TABLE flow_logs (start BIGINT)")
    con.execute("INSERT INTO flow_logs VALUES (1764547200)")  # 2025-12-01 00:00:00 UTC
    sql = queries.to_duckdb('SELECT hour(from_unixtime("start")) AS h FROM flow_logs')
    con.execute("SET TimeZone = 'UTC'")
    assert con.execute(sql).fetchone() == (0,)
