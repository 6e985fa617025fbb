"""The embedded engine: DuckDB over a local folder, running the Athena SQL transpiled.

It mirrors the Athena tables: `flow_logs` has every catalog column (NULL where the
day's files lack it, as Athena returns for a column missing from a Parquet file) plus
the Hive partition columns as VARCHAR; `daily_rollup` reads the stored rollups.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import duckdb

from flowdigest import fields, queries
from flowdigest.engine import DayInfo, json_rows
from flowdigest.sources import DayData, load_day

_BUILT_FROM = "_built_from.sha256"  # in dt=<day>/ (a "_" name: dataset readers skip it)
_SET_FILES = "rollup_set=*/*.parquet"
_DT_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class DuckDBEngine:
    flow_logs_table = "flow_logs"
    rollup_table = "daily_rollup"

    def __init__(self, source: Path, rollup_dir: Path, *, skip_bad: bool = False, log_format: str | None = None,
                 threads: int | None = None, memory_limit: str | None = None, reuse_rollups: bool = True) -> None:
        self.source = source
        self.rollup_dir = rollup_dir
        self.reuse_rollups = reuse_rollups
        self.skip_bad = skip_bad
        self.log_format = log_format
        self._days: dict[dt.date, DayData] = {}
        self._rollup_sqls: dict[dt.date, str] = {}
        self._rollup_view: set[dt.date] | None = None  # the days daily_rollup was defined over
        self._view_lock = threading.Lock()
        self.con = duckdb.connect()
        # GLOBAL: queries run on cursors (one per thread), which do not inherit session settings
        self.con.execute("SET GLOBAL TimeZone = 'UTC'")  # from_unixtime must not shift hours
        if threads:
            self.con.execute(f"SET GLOBAL threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET GLOBAL memory_limit = {_quote(memory_limit)}")

    # -- the day's raw logs -------------------------------------------------------------
    def forget_listings(self) -> None:
        """Forget the days listed so far, when files have been written since."""
        self._days.clear()

    def _day(self, day: dt.date) -> DayData:
        if day not in self._days:
            self._days[day] = load_day(self.source, day, skip_bad=self.skip_bad, log_format=self.log_format)
        return self._days[day]

    def open_day(self, day: dt.date) -> DayInfo:
        data = self._day(day)
        return DayInfo(columns=set(data.columns), files=data.files, source_bytes=data.total_bytes,
                       hours_present=set(data.hours_present), bad_files=list(data.bad_files))

    def _select_list(self, present: set[str], partitions: bool) -> str:
        cols = [
            f'"{f.column}"' if f.column in present else f'CAST(NULL AS {f.sql_type}) AS "{f.column}"'
            for f in fields.FIELDS
        ]
        if partitions:
            cols += [f'"{p}"' for p in fields.PARTITION_COLUMNS]
        else:  # derive the partitions from the record's start, as AWS delivers by hour
            for name, fmt in zip(fields.PARTITION_COLUMNS, ("%Y", "%m", "%d", "%H"), strict=True):
                cols.append(f"strftime(to_timestamp(\"start\"), '{fmt}') AS \"{name}\"")
        return ", ".join(cols)

    def _register_flow_logs(self, data: DayData) -> None:
        parts = []
        if data.parquet_files:
            files = "[" + ", ".join(_quote(p) for p in data.parquet_files) + "]"
            reader = (f"read_parquet({files}, hive_partitioning = {str(data.hive).lower()}, "
                      "hive_types_autocast = false, union_by_name = true)")
            parts.append(f"SELECT {self._select_list(data.columns, data.hive)} FROM {reader}")
        for i, table in enumerate(data.text_tables):
            name = f"text_logs_{i}"
            self.con.register(name, table)
            # text from dated folders carries the delivery partitions, as Parquet under hour=HH does
            partitions = set(fields.PARTITION_COLUMNS) <= set(table.column_names)
            parts.append(f"SELECT {self._select_list(set(table.column_names), partitions)} FROM {name}")
        if not parts:  # an empty day still answers every query, with no rows
            parts.append(f"SELECT {self._select_list(set(), False)} WHERE false")
        self.con.execute("CREATE OR REPLACE VIEW flow_logs AS " + " UNION ALL ".join(parts))

    def _fingerprint(self, day: dt.date, sql: str) -> str:
        """What the day's rollup is built from: its files as they are now, and the SQL."""
        data = self._day(day)
        if data.text_tables:
            return ""  # text is parsed into memory anyway; its rollup is always rebuilt
        basis = {"inputs": sorted(data.inputs), "sql": sql, "skip_bad": self.skip_bad}
        return hashlib.sha256(json.dumps(basis).encode()).hexdigest()

    def _rollup_sql(self, day: dt.date) -> str:
        """daily_rollup.sql for `day` in DuckDB's dialect (transpiled once: the check asks too)."""
        if day not in self._rollup_sqls:
            self._rollup_sqls[day] = queries.to_duckdb(queries.render("daily_rollup", day))
        return self._rollup_sqls[day]

    def rollup_current(self, day: dt.date) -> bool:
        stamp = self.rollup_dir / f"dt={day.isoformat()}" / _BUILT_FROM
        if not self.reuse_rollups or not stamp.exists():
            return False
        want = self._fingerprint(day, self._rollup_sql(day))
        return bool(want) and stamp.read_text().strip() == want

    def build_rollup(self, day: dt.date) -> None:
        self._register_flow_logs(self._day(day))
        sql = self._rollup_sql(day)
        out = self.rollup_dir / f"dt={day.isoformat()}"
        tmp = self.rollup_dir / f".dt={day.isoformat()}.tmp"
        self.rollup_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        # One folder per grouping set (rollup_set=flows/...), as Athena's UNLOAD writes
        # them: a query for one set reads only its files. dt lives in the folder name.
        self.con.execute(
            f"COPY (SELECT * EXCLUDE (dt) FROM ({sql})) TO {_quote(tmp)} "
            "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (rollup_set), FILENAME_PATTERN 'rollup_{i}')"
        )
        if stamp := self._fingerprint(day, sql):
            (tmp / _BUILT_FROM).write_text(stamp + "\n")
        # swap the whole day in: readers never see half a rollup
        old = self.rollup_dir / f".dt={day.isoformat()}.old"
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)

    # -- the stored rollups -------------------------------------------------------------
    def rollup_days(self) -> set[dt.date]:
        if not self.rollup_dir.is_dir():
            return set()
        days = set()
        for d in self.rollup_dir.iterdir():
            m = _DT_DIR.match(d.name)
            if m and any(d.glob(_SET_FILES)):
                days.add(dt.date.fromisoformat(m.group(1)))
        return days

    def _register_rollup(self) -> None:
        """(Re)define daily_rollup over the stored rollups when the days stored changed."""
        with self._view_lock:
            days = self.rollup_days()
            if days != self._rollup_view:
                self._define_rollup_view(bool(days))
                self._rollup_view = days

    def _define_rollup_view(self, any_stored: bool) -> None:
        pattern = self.rollup_dir / "dt=*" / _SET_FILES
        if any_stored:
            src = (f"read_parquet({_quote(pattern)}, hive_partitioning = true, "
                   "hive_types_autocast = false, union_by_name = true)")
        else:
            cols = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in queries.ROLLUP_SCHEMA.items())
            src = f"(SELECT {cols} WHERE false)"
        self.con.execute(f"CREATE OR REPLACE VIEW daily_rollup AS SELECT * FROM {src}")

    def query(self, trino_sql: str) -> list[dict[str, Any]]:
        """Safe to call from several threads at once: each query runs on its own cursor."""
        self._register_rollup()
        cursor = self.con.cursor().execute(queries.to_duckdb(trino_sql))
        names = [d[0] for d in cursor.description]
        return json_rows(dict(zip(names, row, strict=True)) for row in cursor.fetchall())
