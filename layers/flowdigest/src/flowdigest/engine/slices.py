"""A big day's rollup, built a slice of its files at a time (the embedded engine only).

The rollup's hash aggregation holds every group of the day in memory: an organisation's
day of 100M records over 60 account/Region prefixes needs more than a Lambda-sized
memory cap, and DuckDB does not spill its grouping sets far enough. So past a budget the
day's Parquet files are cut into slices (whole prefixes kept together, in prefix order,
since a prefix's interfaces are its own), each slice is grouped on its own, and the
slices' rows are written side by side into the same rollup folders.

That is exact because the rollup is a multiset of partial aggregates: a group split over
two slices becomes two rows whose counters add up to the one row, and every query over
the rollup re-aggregates (SUM, MIN, COUNT(DISTINCT), bool_or) before using a row's
values (daily_rollup.sql says so; tests/functional/test_rollup_slices.py checks every
insight against the unsliced build). Athena needs none of this: it builds the rollup in
one query of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

# Records per slice = DuckDB's memory limit / this. Measured with a 1.5GB limit on
# bench/org.py's 10M day, the worst case (every record's interface a group of its own):
# one build of the 10.4M records ran out of memory; slices of 2.6M records peaked at 1.41 GB
# RSS, of 1.3M at 0.87 GB (and were the fastest). Records, not bytes: the same records
# compress 3x better in bigger files. Real traffic, whose pairs repeat, needs far less (the
# bench's 10M-record VPC day: 658 MiB in one build), and a slice that still runs out of
# memory is built again in halves (halve).
BYTES_PER_RECORD = 1000
_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """'1.5GB', '1.3 GiB' (as DuckDB's current_setting prints it) in bytes; None if not a size."""
    m = _SIZE.fullmatch(text)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def budget(memory_limit: str | None) -> int | None:
    """Records one slice may hold under DuckDB's memory limit (None: not known)."""
    limit = parse_size(memory_limit) if memory_limit else None
    return max(1, limit // BYTES_PER_RECORD) if limit else None


def plan(files: Sequence[Path], records: Mapping[Path, int], origins: Mapping[Path, tuple[str | None, str | None]],
         limit: int | None) -> list[list[Path]]:
    """The files in slices of at most `limit` records each: whole prefixes packed together in
    prefix order (a prefix's groups are its own), a prefix bigger than that cut by its files
    in order (hour by hour: its groups then repeat across slices), a file bigger than it alone."""
    if not files:
        return [[]]
    if limit is None or sum(records.get(f, 0) for f in files) <= limit:
        return [list(files)]
    by_prefix: dict[tuple[str, ...], list[Path]] = {}
    for f in sorted(files, key=str):
        by_prefix.setdefault(tuple(v or "" for v in origins.get(f, (None, None))), []).append(f)
    slices: list[list[Path]] = []
    held = 0
    open_slice = False  # whether the last slice takes more whole prefixes
    for prefix in sorted(by_prefix):
        prefix_files = by_prefix[prefix]
        size = sum(records.get(f, 0) for f in prefix_files)
        if open_slice and held + size <= limit:
            slices[-1] += prefix_files
            held += size
        elif size <= limit:
            slices.append(list(prefix_files))
            held, open_slice = size, True
        else:  # cut by its files; the next prefix starts a slice of its own
            held = limit
            for f in prefix_files:
                file_size = records.get(f, 0)
                if held + file_size > limit:
                    slices.append([])
                    held = 0
                slices[-1].append(f)
                held += file_size
            open_slice = False
    return slices


def halve(parts: list[list[Path]], records: Mapping[Path, int],
          origins: Mapping[Path, tuple[str | None, str | None]]) -> list[list[Path]] | None:
    """The next try after a slice ran out of memory: slices of at most half the records of the
    largest slice that can still be cut (None when every slice is one file: nothing left to cut)."""
    cuttable = [sum(records.get(f, 0) for f in p) for p in parts if len(p) > 1]
    if not cuttable:
        return None
    again = plan([f for p in parts for f in p], records, origins, max(1, max(cuttable) // 2))
    if again == parts:  # files without records to weigh: one file a slice
        again = [[f] for p in parts for f in p]
    return again
