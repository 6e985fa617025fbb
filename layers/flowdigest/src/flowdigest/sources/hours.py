"""UTC day windows, record hours, and the "which hours are missing" text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

DAY_SECONDS = 86_400


def day_start(day: dt.date) -> int:
    """The day's first second, Unix time (flow-log `start` is UTC Unix seconds)."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def start_in_day(start: pa.Array | pa.ChunkedArray, lo: int) -> pa.Array | pa.ChunkedArray:
    """Mask of records whose `start` falls on the day beginning at `lo` (NULL start: no)."""
    return pc.fill_null(pc.and_(pc.greater_equal(start, lo), pc.less(start, lo + DAY_SECONDS)), False)


def record_hours(start: pa.Array | pa.ChunkedArray, lo: int) -> set[int]:
    """UTC hours of the day that the records' `start` falls in."""
    s = pc.filter(start, start_in_day(start, lo))
    if len(s) == 0:
        return set()
    hours = pc.divide(pc.subtract(s, lo), 3600)  # integer division: s >= lo
    return {int(h) for h in pc.unique(hours).to_pylist()}


def missing_hours_text(report_date: dt.date, hours_present: Iterable[int]) -> str:
    """The day's missing hours as ranges: "hours 03–05, 17 missing"; "" when none is missing.

    With no hour delivered at all: "no flow logs were delivered for YYYY-MM-DD".
    """
    missing = sorted(set(range(24)) - set(hours_present))
    if not missing:
        return ""
    if len(missing) == 24:
        return f"no flow logs were delivered for {report_date.isoformat()}"
    runs: list[list[int]] = []
    for h in missing:
        if runs and h == runs[-1][-1] + 1:
            runs[-1].append(h)
        else:
            runs.append([h])
    parts = [f"{r[0]:02d}" if len(r) == 1 else f"{r[0]:02d}–{r[-1]:02d}" for r in runs]
    return f"{'hour' if len(missing) == 1 else 'hours'} {', '.join(parts)} missing"
