"""For an insight's own test (insights/<id>/test_<id>.py): run its real query.sql on DuckDB
over a handful of rows, so the test states the rows in and the exact rows out.

Rows name only the columns they need; the others are NULL. `rollup_rows` fills the
rollup table directly; `record_rows` are raw flow-log records, folded by daily_rollup.sql
first (for queries whose meaning depends on how the rollup groups).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flowdigest import queries

DAY = dt.date(2026, 3, 1)
Row = Mapping[str, Any]


def _create(con: Any, table: str, schema: Mapping[str, str], rows: list[Row], defaults: Row) -> None:
    unknown = {c for r in rows for c in r} - set(schema)
    if unknown:
        raise KeyError(f"{table} has no column {', '.join(sorted(unknown))}")
    cols = ", ".join(f'"{c}" {t}' for c, t in schema.items())
    con.execute(f"CREATE TABLE {table} ({cols})")
    if rows:
        marks = ", ".join("?" for _ in schema)
        con.executemany(f"INSERT INTO {table} VALUES ({marks})",
                        [[{**defaults, **r}.get(c) for c in schema] for r in rows])


def _fetch(con: Any, name: str, day: dt.date, nat: queries.NatRule | None) -> list[dict[str, Any]]:
    cursor = con.execute(queries.to_duckdb(queries.render(name, day, nat=nat)))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run(name: str, *, rollup_rows: list[Row] | None = None, record_rows: list[Row] | None = None,
        tgw_record_rows: list[Row] | None = None, day: dt.date = DAY,
        nat: queries.NatRule | None = None) -> list[dict[str, Any]]:
    """Query `name` (an insight id, or a pipeline query) for `day` over the rows given
    (`tgw_record_rows`: Transit Gateway records, folded by tgw_rollup.sql beside them); `nat`:
    the inventory's NAT gateways (None: the records decide)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    partitions = {"year": f"{day:%Y}", "month": f"{day:%m}", "day": f"{day:%d}", "hour": "00"}
    _create(con, "flow_logs", queries.FLOW_LOGS_SCHEMA, record_rows or [], {**partitions, "log_status": "OK"})
    _create(con, queries.TGW_FLOW_LOGS, queries.TGW_FLOW_LOGS_SCHEMA, tgw_record_rows or [],
            {**partitions, "log_status": "OK"})
    if record_rows is not None or tgw_record_rows is not None:
        cols = ", ".join(f'"{c}"' for c in queries.ROLLUP_SCHEMA)
        con.execute(f"CREATE TABLE daily_rollup AS SELECT {cols} FROM ("
                    + " UNION ALL BY NAME ".join(f"({queries.to_duckdb(queries.render(q, day))})"
                                                 for q in ("daily_rollup", "tgw_rollup")) + ")")
    else:
        _create(con, "daily_rollup", queries.ROLLUP_SCHEMA, rollup_rows or [],
                {"dt": day.isoformat(), "log_status": "OK", "flows": 1})
    return _fetch(con, name, day, nat)

