"""Flow-log Parquet files: validated from the footer alone, sliced to a day by row-group stats.

Validation never reads data pages: the benchmark's days hold tens of millions of records,
and a truncated file (the usual damage) has lost its footer, which is what gets read.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flowdigest import fields
from flowdigest.sources.errors import FlowLogError
from flowdigest.sources.hours import DAY_SECONDS, record_hours

PARQUET_SUFFIXES = (".parquet",)


def _same_type(actual: pa.DataType, aws: pa.DataType) -> bool:
    if pa.types.is_string(aws):  # how the reader chose to hold UTF-8 is not the file's type
        return pa.types.is_string(actual) or pa.types.is_large_string(actual) or actual == pa.string_view()
    return actual == aws


def read_footer(path: Path) -> tuple[pq.FileMetaData, list[str]]:
    """The file's metadata and its flow-log columns; FlowLogError if unreadable or not AWS's schema."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise FlowLogError(path, f"cannot read: {e.strerror or e}") from e
    if size == 0:
        raise FlowLogError(path, "empty file (0 bytes)")
    try:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError) as e:
        raise FlowLogError(path, f"not a readable Parquet file (truncated or corrupt): {e}") from e
    return meta, check_schema(path, schema)


def check_counters(path: Path, meta: pq.FileMetaData, columns: list[str]) -> None:
    """FlowLogError naming the column and row of a negative packets/bytes value.

    Row-group statistics clear a file without reading it; only a file whose minimum is
    negative (or has no statistics) has the column read.
    """
    names = meta.schema.names
    for column in ("packets", "bytes"):
        if column not in columns:
            continue
        idx = names.index(column)
        mins = [meta.row_group(i).column(idx).statistics for i in range(meta.num_row_groups)
                if meta.row_group(i).num_rows]
        if all(st is not None and st.has_min_max and st.min >= 0 for st in mins):
            continue
        values = _read(path, columns=[column]).column(column)
        negative = pc.less(values, 0)
        if pc.any(negative).as_py():
            row = pc.index(negative, True).as_py()
            raise FlowLogError(path, f"column {column}: record {row + 1}: {values[row].as_py()} is negative "
                               "(a count of traffic cannot be)")


def check_schema(path: Path, schema: pa.Schema) -> list[str]:
    """The flow-log columns of a Parquet schema, if their types are the ones AWS writes.

    Columns outside the catalog are ignored (the engine selects catalog columns by name).
    """
    wrong, known = [], []
    for f in schema:
        aws = fields.BY_COLUMN.get(f.name)
        if aws is None:
            continue
        if _same_type(f.type, aws.type):
            known.append(f.name)
        else:
            wrong.append(f"{f.name} is {f.type} (AWS writes {aws.type})")
    if wrong:
        raise FlowLogError(path, "not the Parquet schema AWS writes for flow logs: " + ", ".join(wrong))
    if not known:
        some = ", ".join(schema.names[:6]) + (", …" if len(schema.names) > 6 else "")
        raise FlowLogError(path, f"no flow-log columns in this Parquet file (it has: {some or 'none'})")
    return known


def _read(path: Path, columns: list[str], filters: list[tuple[str, str, int]] | None = None) -> pa.Table:
    try:
        return pq.read_table(path, columns=columns, filters=filters)
    except (pa.ArrowException, OSError) as e:
        raise FlowLogError(path, f"corrupt Parquet data: {e}") from e


def hours_in_file(path: Path, lo: int) -> set[int]:
    """UTC hours of the day (from `lo`) its records start in; reads the `start` column only."""
    return record_hours(_read(path, columns=["start"]).column("start"), lo)


def _start_stats(meta: pq.FileMetaData) -> list[tuple[int, int]] | None:
    """(min, max) of `start` per non-empty row group; None when any lacks statistics."""
    idx = meta.schema.names.index("start")
    out = []
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        if rg.num_rows == 0:
            continue
        st = rg.column(idx).statistics
        if st is None or not st.has_min_max:
            return None
        out.append((int(st.min), int(st.max)))
    return out


def day_slice(
    path: Path, meta: pq.FileMetaData, columns: list[str], lo: int
) -> tuple[str, pa.Table | None, set[int]]:
    """Which of a loose file's records start on the day beginning at `lo`.

    Returns ("all", None, hours) when every record does (the engine reads the file in place),
    ("none", None, set()) when none does, and ("some", table, hours) with those records read
    into memory. Row-group statistics decide without reading data whenever they can.
    """
    if "start" not in columns:
        raise FlowLogError(
            path, "no start column, so the day of its records can't be told; put it under "
            "year=YYYY/month=MM/day=DD/ folders"
        )
    hi = lo + DAY_SECONDS
    stats = _start_stats(meta)
    if stats is not None:
        if all(mx < lo or mn >= hi for mn, mx in stats):
            return "none", None, set()
        if all(lo <= mn and mx < hi for mn, mx in stats):
            if all(mn // 3600 == mx // 3600 for mn, mx in stats):
                return "all", None, {(mn - lo) // 3600 for mn, _ in stats}
            return "all", None, hours_in_file(path, lo)
    table = _read(path, columns=columns, filters=[("start", ">=", lo), ("start", "<", hi)])
    if table.num_rows == 0:
        return "none", None, set()
    table = table.cast(fields.schema(columns))
    return "some", table, record_hours(table.column("start"), lo)
