"""UTC day windows, record hours, and the "which hours are missing" text."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from flowdigest.hours import missing_hours_text

__all__ = ["day_start", "missing_hours_text", "record_hours", "start_in_day"]

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
