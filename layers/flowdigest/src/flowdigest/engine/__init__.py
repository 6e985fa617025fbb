"""Query engines: Athena in AWS, DuckDB locally. Both run the same Athena-dialect SQL."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from flowdigest.scope import Scope


@dataclass
class DayInfo:
    """What the source holds for one day, before any query runs."""

    columns: set[str]
    files: int
    source_bytes: int
    hours_present: set[int]
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    # Transit Gateway flow logs (table tgw_flow_logs): their columns and files, counted in `files`
    tgw_columns: set[str] = field(default_factory=set)
    tgw_files: int = 0


class QueryEngine(Protocol):
    flow_logs_table: str  # how the SQL names the raw flow-log table
    rollup_table: str  # ... and the daily rollup table
    scope: Scope  # the run's filters: what open_day lists and build_rollup reads

    def set_scope(self, scope: Scope) -> None:
        """Filter the accounts, Regions and VPCs read from now on (a rollup of their own)."""
        ...

    def open_day(self, day: dt.date) -> DayInfo:
        """List the day's flow-log files and the fields they carry (no data scan)."""
        ...

    def rollup_current(self, day: dt.date) -> bool:
        """Whether the stored rollup of `day` was built from exactly the files there now."""
        ...

    def build_rollup(self, day: dt.date) -> None:
        """Scan the day's raw logs once into the stored daily rollup (replacing it)."""
        ...

    def rollup_days(self) -> set[dt.date]:
        """Days that have a stored rollup."""
        ...

    def query(self, trino_sql: str) -> list[dict[str, Any]]:
        """Run one report query (Athena dialect) and return its rows, JSON-able (json_rows)."""
        ...


def json_value(value: Any) -> Any:
    """A query result value as JSON carries it: whole Decimals as int, NaN as null,
    numpy/pandas scalars as Python ones, dates as ISO strings."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy / pandas scalars (awswrangler's frames)
        return json_value(value.item())
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def json_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows as every engine's query() returns them: plain JSON-able dicts."""
    return [{k: json_value(v) for k, v in row.items()} for row in rows]
