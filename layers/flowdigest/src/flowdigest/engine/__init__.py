"""Query engines: Athena in AWS, DuckDB locally. Both run the same Athena-dialect SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class DayInfo:
    """What the source holds for one day, before any query runs."""

    columns: set[str]
    files: int
    source_bytes: int
    hours_present: set[int]
    bad_files: list[tuple[str, str]] = field(default_factory=list)


class QueryEngine(Protocol):
    flow_logs_table: str  # how the SQL names the raw flow-log table
    rollup_table: str  # ... and the daily rollup table

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
        """Run one report query (Athena dialect) and return its rows."""
        ...
