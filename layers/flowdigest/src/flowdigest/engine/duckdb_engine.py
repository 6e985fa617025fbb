"""The embedded engine: DuckDB over a local folder, running the Athena SQL transpiled.

It mirrors the Athena tables: `flow_logs` has every catalog column (NULL where the
day's files lack it, as Athena returns for a column missing from a Parquet file) plus
the Hive partition columns as VARCHAR; `daily_rollup` reads the stored rollups.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from flowdigest import fields, queries
from flowdigest.engine import DayInfo, json_rows, slices
from flowdigest.scope import Scope
from flowdigest.sources import DayData, FlowLogError, load_day

TGW_TABLE = queries.TGW_FLOW_LOGS

_BUILT_FROM = "_built_from.sha256"  # in dt=<day>/ (a "_" name: dataset readers skip it)
_SET_FILES = "rollup_set=*/*.parquet"
_DT_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Flush every file under `folder`, then the folders naming them."""
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_file():
            with path.open("rb+") as f:
                os.fsync(f.fileno())
        else:
            _fsync_dir(path)
    _fsync_dir(folder)


def _remove_stale(folder: Path, pattern: str, age_seconds: float = 3600) -> None:
    """Temp folders a killed build left behind (a live build's are younger than any build takes)."""
    now = time.time()
    for leftover in folder.glob(pattern):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > age_seconds:
                shutil.rmtree(leftover, ignore_errors=True)


def _overflow(day: dt.date, err: Exception) -> FlowLogError:
    """The rollup's sums are BIGINT, as Athena's are (where the same sum fails too)."""
    m = re.search(r"sum\((\w+)\)", str(err))
    what = m.group(1) if m else "a counter"
    return FlowLogError(f"{day}: the day's {what} add up past 2^63-1, the most a rollup (BIGINT, as in "
                        f"Athena) holds: some records' {what} values are damaged")


class DuckDBEngine:
    flow_logs_table = "flow_logs"
    rollup_table = "daily_rollup"

    def __init__(self, source: Path, rollup_dir: Path, *, skip_bad: bool = False, log_format: str | None = None,
                 threads: int | None = None, memory_limit: str | None = None, reuse_rollups: bool = True,
                 exclude: Sequence[Path] = (), progress: Callable[[str], None] | None = None,
                 slice_records: int | None = None) -> None:
        self.source = source
        self.rollup_base = rollup_dir
        self.scope = Scope()
        self.exclude = (rollup_dir, *exclude)  # never read as flow logs: the run's own output
        self._progress = progress or (lambda _: None)
        # rollup files whose footer read back, by (path, size, mtime): checked once a process
        self._readable: set[tuple[str, int, int]] = set()
        self._damaged: set[tuple[str, int, int]] = set()
        self.reuse_rollups = reuse_rollups
        self._slice_records = slice_records  # records per slice of a big day's build (engine/slices.py)
        self.skip_bad = skip_bad
        self.log_format = log_format
        self._days: dict[dt.date, DayData] = {}
        self._rollup_sqls: dict[tuple[dt.date, str], str] = {}
        self._rollup_view: list[Path] | None = None  # the files daily_rollup was defined over
        self._view_lock = threading.Lock()
        self.con = duckdb.connect()
        # DuckDB spills past its memory limit into ./.tmp by default: the user's folder, and
        # read-only on Lambda. A folder of this engine's own under the temp dir instead.
        spill = tempfile.mkdtemp(prefix="flowdigest-duckdb-")
        weakref.finalize(self, shutil.rmtree, spill, ignore_errors=True)
        self.con.execute(f"SET GLOBAL temp_directory = {_quote(spill)}")
        # GLOBAL: queries run on cursors (one per thread), which do not inherit session settings
        self.con.execute("SET GLOBAL TimeZone = 'UTC'")  # from_unixtime must not shift hours
        if threads:
            self.con.execute(f"SET GLOBAL threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET GLOBAL memory_limit = {_quote(memory_limit)}")
            # under a cap, let the build spill: order kept for nothing costs buffers
            self.con.execute("SET GLOBAL preserve_insertion_order = false")

    @property
    def rollup_dir(self) -> Path:
        """The whole bucket's rollups; a filtered run's in a scope=<hash> folder of their own."""
        key = self.scope.rollup_key()
        return self.rollup_base / key if key else self.rollup_base

    def set_scope(self, scope: Scope) -> None:
        """Filter what the next rollups read (listings and rollup SQL depend on it)."""
        if scope != self.scope:
            self.scope = scope
            self._days.clear()
            self._rollup_sqls.clear()

    # -- the day's raw logs -------------------------------------------------------------
    def forget_listings(self) -> None:
        """Forget the days listed so far, when files have been written since."""
        self._days.clear()

    def _day(self, day: dt.date) -> DayData:
        if day not in self._days:
            self._days[day] = load_day(self.source, day, skip_bad=self.skip_bad, log_format=self.log_format,
                                      exclude=self.exclude, scope=self.scope)
        return self._days[day]

    def open_day(self, day: dt.date) -> DayInfo:
        data = self._day(day)
        return DayInfo(columns=set(data.columns), files=data.files, source_bytes=data.total_bytes,
                       hours_present=set(data.hours_present), bad_files=list(data.bad_files),
                       tgw_columns=set(data.tgw_columns), tgw_files=data.tgw_files)

    def _select_list(self, present: set[str], partitions: bool, catalog: Sequence[fields.Field] = fields.FIELDS,
                     origin: tuple[str | None, str | None] = (None, None)) -> str:
        cols = [
            f'"{f.column}"' if f.column in present else f'CAST(NULL AS {f.sql_type}) AS "{f.column}"'
            for f in catalog
        ]
        # Athena's account and Region partitions: the S3 prefix's, else (a folder of loose
        # files) the record's own fields, so a filter still applies to them
        for name, field, value in zip(fields.SOURCE_PARTITION_COLUMNS, ("account_id", "region"), origin,
                                      strict=True):
            if name in present:
                cols.append(f'"{name}"')
            elif value is not None:
                cols.append(f'{_quote(value)} AS "{name}"')
            else:
                cols.append(f'"{field}" AS "{name}"' if field in present else f'CAST(NULL AS VARCHAR) AS "{name}"')
        if partitions:
            cols += [f'"{p}"' for p in fields.PARTITION_COLUMNS]
        else:  # derive the partitions from the record's start, as AWS delivers by hour
            for name, fmt in zip(fields.PARTITION_COLUMNS, ("%Y", "%m", "%d", "%H"), strict=True):
                cols.append(f"strftime(to_timestamp(\"start\"), '{fmt}') AS \"{name}\"")
        return ", ".join(cols)

    def _register_flow_logs(self, data: DayData, vpc_files: list[Path] | None = None, tables: bool = True) -> None:
        """`flow_logs` over the VPC flow logs, `tgw_flow_logs` over the Transit Gateway ones (as
        the Glue tables of those names: a VPC's traffic through the gateway is in both).
        A slice of the build: `flow_logs` over `vpc_files` only; the in-memory tables, and the
        Transit Gateway's view (built once, after the slices), with the first slice only (`tables`)."""
        for view, catalog, tgw, files in (
            ("flow_logs", fields.FIELDS, False, data.parquet_files if vpc_files is None else vpc_files),
            (TGW_TABLE, fields.TGW_CATALOG, True, data.tgw_parquet_files),
        ):
            if tgw and not tables:
                continue
            columns = data.tgw_columns if tgw else data.columns
            parts = []
            by_origin: dict[tuple[str | None, str | None], list[Path]] = {}
            for p in files:  # one reader per account and Region: they are constants
                by_origin.setdefault(data.origins.get(p, (None, None)), []).append(p)
            for origin, paths in by_origin.items():
                listed = "[" + ", ".join(_quote(p) for p in paths) + "]"
                reader = (f"read_parquet({listed}, hive_partitioning = {str(data.hive).lower()}, "
                          "hive_types_autocast = false, union_by_name = true)")
                parts.append(f"SELECT {self._select_list(columns, data.hive, catalog, origin)} FROM {reader}")
            for i, table in enumerate(data.text_tables):
                if fields.is_tgw(table.column_names) != tgw or not tables:
                    continue
                name = f"text_logs_{i}"
                self.con.register(name, table)
                # text from dated folders carries the delivery partitions, as Parquet under hour=HH does
                partitions = set(fields.PARTITION_COLUMNS) <= set(table.column_names)
                parts.append(f"SELECT {self._select_list(set(table.column_names), partitions, catalog)} FROM {name}")
            if not parts:  # an empty day still answers every query, with no rows
                parts.append(f"SELECT {self._select_list(set(), False, catalog)} WHERE false")
            self.con.execute(f"CREATE OR REPLACE VIEW {view} AS " + " UNION ALL ".join(parts))

    def _fingerprint(self, day: dt.date, sql: str) -> str:
        """What the day's rollup is built from: its files as they are now, and the SQL."""
        data = self._day(day)
        if data.text_tables:
            return ""  # text is parsed into memory anyway; its rollup is always rebuilt
        basis = {"inputs": sorted(data.inputs), "sql": sql, "skip_bad": self.skip_bad}
        if data.tgw_files:
            basis["tgw_sql"] = self._rollup_sql(day, "tgw_rollup")
        return hashlib.sha256(json.dumps(basis).encode()).hexdigest()

    def _rollup_sql(self, day: dt.date, name: str = "daily_rollup") -> str:
        """daily_rollup.sql (or tgw_rollup.sql) for `day` in DuckDB's dialect (transpiled once:
        the check asks too), with the run's filters."""
        if (day, name) not in self._rollup_sqls:
            self._rollup_sqls[day, name] = queries.to_duckdb(queries.render(name, day, scope=self.scope))
        return self._rollup_sqls[day, name]

    def rollup_current(self, day: dt.date) -> bool:
        stamp = self.rollup_dir / f"dt={day.isoformat()}" / _BUILT_FROM
        if not self.reuse_rollups or not stamp.exists() or not self._stored_files(day):
            return False
        want = self._fingerprint(day, self._rollup_sql(day))
        return bool(want) and stamp.read_text().strip() == want

    def _slices(self, data: DayData) -> list[list[Path]]:
        """The day's VPC Parquet files in slices whose records fit the memory limit (engine/slices.py)."""
        limit = self._slice_records
        if limit is None:
            limit = slices.budget(self._setting("memory_limit"))
        return slices.plan(data.parquet_files, data.rows, data.origins, limit)

    def build_rollup(self, day: dt.date) -> None:
        data = self._day(day)
        sql = self._rollup_sql(day)
        parts: list[list[Path]] | None = self._slices(data)
        out = self.rollup_dir / f"dt={day.isoformat()}"
        self.rollup_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale(self.rollup_dir, f".dt={day.isoformat()}.*")
        while parts is not None:
            # a folder of this build's own: a crashed or concurrent build never shares it
            tmp = Path(tempfile.mkdtemp(prefix=f".dt={day.isoformat()}.", suffix=".tmp", dir=self.rollup_dir))
            try:
                try:
                    self._write_rollup(day, data, sql, parts, tmp)
                except duckdb.OutOfMemoryException as e:
                    parts = slices.halve(parts, data.rows, data.origins)
                    if parts is None:
                        raise self._out_of_memory(f"building the rollup of {day}") from e
                    self._progress(f"{day}: the rollup build ran out of memory: building it again in "
                                   f"{len(parts)} slices")
                    continue
                self._swap_in(day, sql, tmp, out)
                return
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

    def _write_rollup(self, day: dt.date, data: DayData, sql: str, parts: list[list[Path]], tmp: Path) -> None:
        """The day's rollup sets into `tmp`, one slice of the files at a time. One folder per
        grouping set (rollup_set=flows/...), as Athena's UNLOAD writes them: a query for one set
        reads only its files. dt lives in the folder name."""
        if len(parts) > 1:
            self._progress(f"{day}: {sum(data.rows.values()):,} records, built in {len(parts)} slices to stay "
                           "under the memory limit")
        try:
            for k, files in enumerate(parts):
                self._register_flow_logs(data, files, tables=k == 0)
                self._copy(sql, tmp, f"rollup_{k}_{{i}}" if len(parts) > 1 else "rollup_{i}")
                if len(parts) > 1 and ((k + 1) % max(1, len(parts) // 10) == 0 or k + 1 == len(parts)):
                    self._progress(f"{day}: slice {k + 1} of {len(parts)} built")  # about ten lines
            if data.tgw_files:  # the Transit Gateway's sets beside the VPC ones (rollup_set=tgw*/)
                self._copy(self._rollup_sql(day, "tgw_rollup"), tmp, "rollup_tgw_{i}")
        except (duckdb.ConversionException, duckdb.OutOfRangeException) as e:
            raise _overflow(day, e) from e

    def _swap_in(self, day: dt.date, sql: str, tmp: Path, out: Path) -> None:
        if stamp := self._fingerprint(day, sql):
            (tmp / _BUILT_FROM).write_text(stamp + "\n")
        _fsync_tree(tmp)  # on disk before the rename makes it the day's rollup
        # swap the whole day in: readers never see half a rollup
        old = tmp.with_suffix(".old")
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        _fsync_dir(self.rollup_dir)
        shutil.rmtree(old, ignore_errors=True)

    def _copy(self, sql: str, folder: Path, pattern: str) -> None:
        self.con.execute(
            f"COPY (SELECT * EXCLUDE (dt) FROM ({sql})) TO {_quote(folder)} (FORMAT parquet, COMPRESSION zstd, "
            f"COMPRESSION_LEVEL {queries.ROLLUP_ZSTD_LEVEL}, PARTITION_BY (rollup_set), "
            f"FILENAME_PATTERN {_quote(pattern)}, OVERWRITE_OR_IGNORE)"
        )

    # -- the stored rollups -------------------------------------------------------------
    def rollup_days(self) -> set[dt.date]:
        return {day for day, _ in self._stored()}

    def _stored_files(self, day: dt.date) -> list[Path]:
        return next((files for d, files in self._stored() if d == day), [])

    def _stored(self) -> list[tuple[dt.date, list[Path]]]:
        """Each stored day's rollup files, for the days whose files all read back.

        A damaged day (a 0-byte or cut-off file left by a crash, say) counts as missing, so
        the run builds it again from its logs instead of failing on it at every query.
        """
        if not self.rollup_dir.is_dir():
            return []
        stored = []
        for d in sorted(self.rollup_dir.iterdir()):
            m = _DT_DIR.match(d.name)
            files = sorted(d.glob(_SET_FILES)) if m else []
            if files and all(self._readable_rollup(f) for f in files):
                stored.append((dt.date.fromisoformat(m.group(1)), files))  # type: ignore[union-attr]
        return stored

    def _readable_rollup(self, path: Path) -> bool:
        try:
            st = path.stat()
        except OSError:
            return False
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key in self._readable:
            return True
        if key in self._damaged:
            return False
        try:
            if st.st_size == 0:
                raise ValueError("0 bytes")
            pq.read_metadata(path)
        except (ValueError, pa.ArrowException, OSError) as e:
            self._damaged.add(key)
            self._progress(f"{path.parent.parent.name}: the stored rollup {path.relative_to(self.rollup_dir)} "
                           f"is unreadable ({' '.join(str(e).split())[:120]}); building it again from the day's logs")
            return False
        self._readable.add(key)
        return True

    def _register_rollup(self) -> None:
        """(Re)define daily_rollup over the stored rollups when the files stored changed."""
        with self._view_lock:
            files = [f for _, day_files in self._stored() for f in day_files]
            if files != self._rollup_view:
                self._define_rollup_view(files)
                self._rollup_view = files

    def _define_rollup_view(self, files: list[Path]) -> None:
        cols = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in queries.ROLLUP_SCHEMA.items())
        src = f"(SELECT {cols} WHERE false)"
        if files:  # listed, not globbed: a damaged day left on disk is not read
            listed = "[" + ", ".join(_quote(f) for f in files) + "]"
            # by name, beside every column: a day stored before the rollup gained a column, or
            # holding only the VPC's or only the Transit Gateway's sets, reads the others as NULL
            src = (f"({src} UNION ALL BY NAME SELECT * FROM read_parquet({listed}, hive_partitioning = true, "
                   "hive_types_autocast = false, union_by_name = true))")
        self.con.execute(f"CREATE OR REPLACE VIEW daily_rollup AS SELECT * FROM {src}")

    def _setting(self, name: str) -> str:
        """A DuckDB setting as it prints it (every row fetched: no result left open on the connection)."""
        rows = self.con.execute("SELECT current_setting(?)", [name]).fetchall()
        return str(rows[0][0]) if rows else "?"

    def _out_of_memory(self, what: str) -> FlowLogError:
        return FlowLogError(f"{what} needs more memory than DuckDB's limit ({self._setting('memory_limit')}): "
                            "raise FLOWDIGEST_MEMORY_LIMIT, or report on fewer accounts / Regions at a time "
                            "(--account, --region)")

    def query(self, trino_sql: str) -> list[dict[str, Any]]:
        """Safe to call from several threads at once: each query runs on its own cursor."""
        self._register_rollup()
        try:
            cursor = self.con.cursor().execute(queries.to_duckdb(trino_sql))
        except duckdb.OutOfMemoryException as e:
            raise self._out_of_memory("a report query over the rollups") from e
        names = [d[0] for d in cursor.description]
        return json_rows(dict(zip(names, row, strict=True)) for row in cursor.fetchall())
