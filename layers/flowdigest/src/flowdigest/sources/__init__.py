"""Finding and loading one day of flow logs from a local folder.

`load_day` is the only entry point the engines use: it returns the day's Parquet files
(read in place by the engine) and any text-format records already parsed into Arrow
tables with AWS's Parquet schema, so both formats reach the SQL as the same typed table.

What it reads (see layout.py): AWS's Hive layout, AWS's plain text layout (YYYY/MM/DD
folders), or any folder of flow-log files; Parquet, `.log` and `.log.gz` text (any field
order, from its header line), CloudWatch/Firehose JSON-wrapped records.

What it does with bad input: every problem is a FlowLogError whose str() is one line
naming the file. A file that cannot be used (empty, truncated, corrupt, not AWS's schema,
unparsable values) stops the run, or with `skip_bad=True` is listed in `bad_files` while
everything else is still read.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from flowdigest import fields
from flowdigest.scope import Scope
from flowdigest.sources import batches, layout, parquet
from flowdigest.sources.errors import FlowLogError
from flowdigest.sources.hours import day_start, missing_hours_text, record_hours, start_in_day
from flowdigest.sources.text import parse_format, parse_lines, parse_text, read_text_bytes, read_text_file

_WORKERS = min(4, os.cpu_count() or 1)

__all__ = [
    "DayData",
    "FlowLogError",
    "load_day",
    "missing_hours_text",
    "parse_format",
    "parse_lines",
    "parse_text",
    "read_text_file",
]


@dataclass
class DayData:
    report_date: dt.date
    parquet_files: list[Path] = field(default_factory=list)
    # (account, Region) of each Parquet file, from its S3 prefix (None where the path has none)
    origins: dict[Path, tuple[str | None, str | None]] = field(default_factory=dict)
    rows: dict[Path, int] = field(default_factory=dict)  # each Parquet file's records (its footer)
    # in-memory tables, AWS-typed: text logs, and loose Parquet files' rows of the day.
    # Tables from dated folders also carry the Hive partition columns year/month/day/hour
    # (strings, the delivery hour), as Parquet under year=/.../hour= folders does; tables
    # without them are loose files, whose partitions follow the records' start.
    text_tables: list[pa.Table] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # VPC flow-log columns present in any file
    # Transit Gateway flow logs (fields.is_tgw): their Parquet files and columns, apart from
    # the VPC ones (their tables are in text_tables, told apart by their columns)
    tgw_parquet_files: list[Path] = field(default_factory=list)
    tgw_columns: set[str] = field(default_factory=set)
    tgw_files: int = 0
    # UTC hours with at least one readable delivered file (a skipped file's hour is not
    # counted: its records are missing from the report)
    hours_present: set[int] = field(default_factory=set)
    hive: bool = True  # every Parquet file sits under year=/month=/day=/hour= folders
    total_bytes: int = 0
    bad_files: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), skipped
    # (path, size, mtime_ns) of every file read: a late or rewritten file changes it
    inputs: list[tuple[str, int, int]] = field(default_factory=list)
    layout: str = ""  # "hive", "dated" (YYYY/MM/DD), "loose" (records' start), joined by "+"
    note: str = ""  # why the day is empty, when it is
    table_files: int = 0  # files read into text_tables (tables of the same columns are joined)

    @property
    def files(self) -> int:
        return len(self.parquet_files) + len(self.tgw_parquet_files) + self.table_files

    @property
    def missing_hours(self) -> list[int]:
        return [h for h in range(24) if h not in self.hours_present]


@dataclass
class _Part:
    """One file's contribution, built in full before DayData is touched."""

    columns: set[str]
    hours: set[int]
    parquet_file: Path | None = None
    rows: int = 0  # the Parquet file's records, from its footer
    table: pa.Table | None = None
    text: bytes | None = None  # a dated text file's bytes, to be read with its hour's others


def load_day(
    root: Path,
    day: dt.date,
    *,
    skip_bad: bool = False,
    log_format: str | Sequence[str] | None = None,
    exclude: Sequence[Path] = (),
    scope: Scope | None = None,
) -> DayData:
    """Collect the day's flow-log files under `root`.

    `log_format` (a format string, `${version} ${srcaddr} ...`) is how to read text files
    with no header line whose fields are not the default format's 14.

    Raises FlowLogError when `root` does not exist or holds no flow-log files at all (the
    message names the layouts looked for). A source holding flow logs, but none for this
    day, is an empty DayData (its `note` says so), as Athena answers an empty partition:
    the report then says "no flow logs were delivered for <day>". Folders in `exclude` (the
    run's own output) are not read, nor are the accounts' and Regions' folders `scope`
    leaves out.
    """
    root = Path(root)
    if not root.exists():
        raise FlowLogError(root, "no such folder")
    fmt = parse_format(log_format, "log_format") if log_format is not None else None
    found = layout.scan(root, day, exclude, scope)
    if not found.candidates and not found.dated_layout and not found.out_of_scope:
        raise FlowLogError(root, found.no_files_reason())
    # In a tree of dated folders, files beside them (with no date) are not the day's.
    chosen = [c for c in found.candidates if not (found.dated_layout and c.loose)]

    load = _Loader(DayData(report_date=day), day, fmt, skip_bad)
    load.read(chosen)
    data = load.data
    data.text_tables = _joined(data.text_tables)
    data.hive = bool(data.parquet_files or data.tgw_parquet_files) and load.hive
    data.layout = "+".join(k for k in ("hive", "dated", "loose") if k in load.kinds)
    if not data.files:
        data.note = _empty_note(root, day, found, skipped=len(data.bad_files))
    return data


class _Loader:
    """Reads the chosen files into `data`: file by file, or a batch of an hour's text files at once."""

    def __init__(self, data: DayData, day: dt.date, fmt: Sequence[str] | None, skip_bad: bool) -> None:
        self.data, self.day, self.fmt, self.skip_bad = data, day, fmt, skip_bad
        self.lo = day_start(day)
        self.kinds: set[str] = set()
        self.hive = True

    def attempt(self, c: layout.Candidate, text: bytes | None = None) -> _Part | FlowLogError | None:
        """The file's part; a dated text file's bytes first (`text`: read them, not the file)."""
        try:
            try:
                if text is None and c.kind == "text" and c.dated and c.hour is not None:
                    return _Part(set(), {c.hour}, text=batches.strip_bom(read_text_bytes(c.path)))
                return _load_file(c, self.day, self.lo, self.fmt, text)
            except (pa.ArrowException, OSError) as e:  # damage the readers did not foresee
                raise FlowLogError(c.path, f"unreadable: {e}") from e
        except FlowLogError as e:
            return e

    def add(self, c: layout.Candidate, part: _Part | FlowLogError | None) -> None:
        data = self.data
        if isinstance(part, FlowLogError):
            if not self.skip_bad:
                raise part
            data.bad_files.append((str(c.path), part.reason if part.path == str(c.path) else str(part)))
            return
        if part is None:
            return
        tgw = fields.is_tgw(part.columns)
        if part.parquet_file is not None:
            (data.tgw_parquet_files if tgw else data.parquet_files).append(part.parquet_file)
            data.origins[part.parquet_file] = (c.account, c.region)
            data.rows[part.parquet_file] = part.rows
            self.hive = self.hive and c.hive
        if part.table is not None:
            data.text_tables.append(part.table)
        data.table_files += part.table is not None or part.text is not None
        if tgw:
            data.tgw_columns |= part.columns
            data.tgw_files += 1
        else:
            data.columns |= part.columns
        data.hours_present |= part.hours
        st = c.path.stat()
        data.total_bytes += st.st_size
        data.inputs.append((str(c.path), st.st_size, st.st_mtime_ns))
        self.kinds.add("hive" if c.hive else "dated" if c.dated else "loose")

    def read(self, chosen: list[layout.Candidate]) -> None:
        # Files are independent; gunzip and Arrow's parsers release the GIL, so threads help.
        pool = ThreadPoolExecutor(max(1, min(_WORKERS, len(chosen))))
        groups: dict[tuple[int | None, str | None, str | None, bytes], list[tuple[layout.Candidate, bytes]]] = {}
        try:
            for c, part in zip(chosen, pool.map(self.attempt, chosen), strict=True):
                key = batches.batch_key(part.text) if isinstance(part, _Part) and part.text is not None else None
                if key is not None and isinstance(part, _Part) and part.text is not None:
                    groups.setdefault((c.hour, c.account, c.region, key), []).append((c, part.text))
                else:
                    self.add(c, self.attempt(c, part.text) if isinstance(part, _Part) and part.text is not None
                             else part)
            for (hour, _, _, key), files in groups.items():
                self.add_group(hour, key, files)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # after a raise, start no more files

    def add_group(self, hour: int | None, key: bytes, files: list[tuple[layout.Candidate, bytes]]) -> None:
        """An hour's text files of one format, parsed as one batch where they can be."""
        table = _parse_batch(key, [text for _, text in files], self.fmt) if len(files) > 1 else None
        if table is None:  # read alone, or the group needs the careful reader: file by file
            for c, text in files:
                self.add(c, self.attempt(c, text))
            return
        first = files[0][0]
        part = _Part(set(table.column_names), {hour} if hour is not None else set(),
                     table=with_partitions(table, self.day, hour, (first.account, first.region)))
        self.add(files[0][0], part)
        for c, _ in files[1:]:  # counted and fingerprinted; records in the first's
            self.add(c, _Part(set(table.column_names), set(), text=b""))


def _load_file(c: layout.Candidate, day: dt.date, lo: int, fmt: Sequence[str] | None,
               text: bytes | None = None) -> _Part | None:
    """One candidate's records for the day, or None when it holds none of the day's
    (`text`: a text file's bytes, already read)."""
    if not c.dated and c.stamp is not None and abs((c.stamp.date() - day).days) > 1:
        return None  # a loose file delivered days away cannot hold this day's records
    if c.kind == "parquet":
        meta, columns = parquet.read_footer(c.path)
        parquet.check_counters(c.path, meta, columns)
        if c.dated:
            hours = {c.hour} if c.hour is not None else (
                parquet.hours_in_file(c.path, lo) if "start" in columns else set()
            )
            return _Part(set(columns), hours, parquet_file=c.path, rows=meta.num_rows)
        how, table, hours = parquet.day_slice(c.path, meta, columns, lo)
        if how == "none":
            return None
        return _Part(set(columns), hours, parquet_file=c.path if how == "all" else None, rows=meta.num_rows,
                     table=table)

    table = parse_text(read_text_bytes(c.path) if text is None else text, str(c.path), log_format=fmt)
    if table.num_columns == 0:
        raise FlowLogError(c.path, "no header line and no records (a blank file)")
    names = set(table.column_names)
    if c.dated:  # all its records count, as Athena reads a whole partition
        hours = {c.hour} if c.hour is not None else (
            record_hours(table.column("start"), lo) if "start" in names else set()
        )
        return _Part(names, hours, table=with_partitions(table, day, c.hour, (c.account, c.region)))
    if "start" not in names:
        raise FlowLogError(
            c.path, "no start field, so the day of its records can't be told; put it under dated "
            "folders (.../YYYY/MM/DD/)"
        )
    table = table.filter(start_in_day(table.column("start"), lo))
    if table.num_rows == 0:
        return None
    return _Part(names, record_hours(table.column("start"), lo), table=table)


def _parse_batch(key: bytes, texts: list[bytes], fmt: Sequence[str] | None) -> pa.Table | None:
    """The files' records parsed as one text, or None to read them one by one (to name the
    bad file's line, or to tell a blank file)."""
    try:
        table = parse_text(batches.join(key, texts), "batch", log_format=fmt)
    except (FlowLogError, pa.ArrowException):
        return None
    return table if table.num_columns else None


def _joined(tables: list[pa.Table]) -> list[pa.Table]:
    """One table per set of columns: a day of 1,440 per-minute files is then one scan for
    the engine, not a union of 1,440 (whose planning cost grew with the files)."""
    by_columns: dict[tuple[str, ...], list[pa.Table]] = {}
    for t in tables:
        by_columns.setdefault(tuple(t.column_names), []).append(t)
    return [group[0] if len(group) == 1 else pa.concat_tables(group).combine_chunks()
            for group in by_columns.values()]


def with_partitions(table: pa.Table, day: dt.date, hour: int | None,
                    origin: tuple[str | None, str | None] = (None, None)) -> pa.Table:
    """Add Hive's partition columns for a file delivered on `day` in `hour`, and the
    account and Region of its S3 prefix (`origin`) when the path names them.

    So the SQL's `year/month/day/hour` filters and groupings see a text file where AWS
    put it (its delivery hour), exactly as for Parquet; with no hour known (no HH folder,
    no name stamp) the hour is the records' start hour.
    """
    n = table.num_rows
    if hour is not None:
        hours: pa.Array | pa.ChunkedArray = pa.repeat(pa.scalar(f"{hour:02d}"), n)
    elif "start" in table.column_names:
        hours = pc.strftime(pc.cast(table.column("start"), pa.timestamp("s", "UTC")), "%H")
    else:
        hours = pa.nulls(n, pa.string())
    values = {"year": f"{day:%Y}", "month": f"{day:%m}", "day": f"{day:%d}"}
    for name in fields.PARTITION_COLUMNS:
        col = hours if name == "hour" else pa.repeat(pa.scalar(values[name]), n)
        table = table.append_column(pa.field(name, pa.string()), col)
    for name, value in zip(fields.SOURCE_PARTITION_COLUMNS, origin, strict=True):
        if value is not None:
            table = table.append_column(pa.field(name, pa.string()), pa.repeat(pa.scalar(value), n))
    return table


def _empty_note(root: Path, day: dt.date, found: layout.Scan, skipped: int) -> str:
    if skipped:
        return f"every flow-log file for {day.isoformat()} under {root} was unreadable ({skipped} skipped)"
    note = f"no flow-log files for {day.isoformat()} under {root}"
    if found.out_of_scope:
        note += f" in the filter's accounts and Regions ({found.out_of_scope} folders left out)"
    elif found.other_days:
        days = sorted(found.other_days)
        shown = ", ".join(days[:6]) + (", …" if len(days) > 6 else "")
        note += f" (its dated folders hold {shown})"
    elif found.candidates:
        note += " (its files' records start on other days)"
    return note
