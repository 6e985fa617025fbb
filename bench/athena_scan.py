"""What the report would scan, and cost, on Athena: from Parquet metadata, no AWS needed.

Athena bills the compressed column chunks its table scans read, in the partitions they
read (partition columns live in the path and cost nothing), rounded up to a whole MB with
a 10 MB minimum per query, at $5 per TB.

Each query's SQL (Athena's dialect) is analysed with sqlglot, scan by scan. Trino inlines
WITH queries, so a CTE read from three places scans its table three times: every table
reference reached from the query's root counts once per path to it. For each scan:
- its columns: after qualifying (SELECT * expanded) and pushing projections down, the
  columns of that table its SELECT uses;
- its partitions: the days whose partition values (`dt`; `year/month/day`) satisfy the
  partition conditions of its WHERE, and for the rollup the grouping sets (`rollup_set`);
- its row groups: those whose min/max statistics do not rule out the WHERE's
  `column = 'literal'` conditions (`log_status = 'OK'`, say), as Athena skips them.
`flow_logs` is the day's raw files; `daily_rollup` the rollups, one folder per day and
grouping set (OUT/rollup/dt=YYYY-MM-DD/rollup_set=flows/*.parquet), for the report day and
the 7 before it.

Three ways to produce the report are costed:
- floor: the raw columns the whole report needs, read once (no query can read less): the
  raw columns behind the rollup columns the insights use (their lineage in daily_rollup.sql);
- naive: every insight run on its own against the raw logs, one scan of the raw columns
  behind its rollup columns (8 raw days for the history ones): a lower bound for it;
- rollup (what flowdigest does): the raw columns read once into the rollup, then every
  insight's scans of the rollups, the totals and the inventory step's interface_bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from flowdigest import fields, queries
from flowdigest.insights import INSIGHTS
from flowdigest.pricing import Prices, athena_billed_bytes, athena_cost

FLOW_LOGS, ROLLUP = "flow_logs", "daily_rollup"
# Columns that are partitions (in the path, not in the files): never scanned.
TGW = queries.TGW_FLOW_LOGS
PARTITIONS = {FLOW_LOGS: {*fields.SOURCE_PARTITION_COLUMNS, *fields.PARTITION_COLUMNS},
              ROLLUP: set(queries.ROLLUP_PARTITIONS),
              TGW: {*fields.SOURCE_PARTITION_COLUMNS, *fields.PARTITION_COLUMNS}}
SCHEMAS: dict[str, set[str]] = {FLOW_LOGS: set(queries.FLOW_LOGS_SCHEMA), ROLLUP: set(queries.ROLLUP_SCHEMA),
                                TGW: set(queries.TGW_FLOW_LOGS_SCHEMA)}


Predicates = list[list[tuple[str, Any]]]  # per scan: its `column = literal` conditions


@dataclass
class TableScan:
    table: str
    columns: set[str]  # stored columns read (partition columns excluded)
    days: list[dt.date]  # the partitions read, among the report day and its history
    filters: list[tuple[str, Any]]  # `column = literal` conditions (row-group skipping)
    sets: list[str] = field(default_factory=list)  # the rollup's grouping sets read


def _conjuncts(where: exp.Expression | None) -> list[exp.Expression]:
    if where is None:
        return []
    cond = where.this if isinstance(where, exp.Where) else where
    return [e for e in cond.flatten() if isinstance(e, exp.Expression)] if isinstance(cond, exp.And) else [cond]


def _literal(e: exp.Expression) -> Any:
    if isinstance(e, exp.Literal):
        return e.this if e.is_string else int(e.this)
    return None


def _partition_values(table: str, d: dt.date) -> dict[str, str]:
    if table == ROLLUP:
        return {"dt": d.isoformat()}
    return {"year": f"{d:%Y}", "month": f"{d:%m}", "day": f"{d:%d}"}


def _holds(cond: exp.Expression, values: dict[str, str]) -> bool:
    """Whether a partition condition holds for these partition values (True when it is
    not one this understands: the partition is then counted as read)."""
    ops = {exp.EQ: lambda a, b: a == b, exp.GT: lambda a, b: a > b, exp.GTE: lambda a, b: a >= b,
           exp.LT: lambda a, b: a < b, exp.LTE: lambda a, b: a <= b}
    if isinstance(cond, exp.Between) and isinstance(cond.this, exp.Column) and cond.this.name in values:
        low, high = _literal(cond.args["low"]), _literal(cond.args["high"])
        return low is None or high is None or low <= values[cond.this.name] <= high
    if isinstance(cond, exp.In) and isinstance(cond.this, exp.Column) and cond.this.name in values:
        listed = [_literal(e) for e in cond.expressions]  # projection prunes on IN lists too
        return None in listed or values[cond.this.name] in listed
    for kind, op in ops.items():
        if isinstance(cond, kind) and isinstance(cond.this, exp.Column) and cond.this.name in values:
            lit = _literal(cond.expression)
            return lit is None or bool(op(values[cond.this.name], lit))
    return True


def table_scans(sql: str, days: list[dt.date]) -> list[TableScan]:
    """Every scan of flow_logs / daily_rollup the query makes, CTE references expanded."""
    schema: dict[str, object] = {FLOW_LOGS: queries.FLOW_LOGS_SCHEMA, ROLLUP: queries.ROLLUP_SCHEMA,
                                 TGW: queries.TGW_FLOW_LOGS_SCHEMA}
    tree = qualify(sqlglot.parse_one(sql, read="trino"), schema=schema, dialect="trino")
    root = build_scope(pushdown_projections(tree))
    if root is None:
        return []
    out: list[TableScan] = []

    def walk(scope: Scope) -> None:
        for alias, (_node, source) in scope.selected_sources.items():
            if isinstance(source, Scope):
                walk(source)  # a CTE or derived table: its scans run again for this reference
            elif isinstance(source, exp.Table) and source.name in SCHEMAS:
                table = source.name
                conds = _conjuncts(scope.expression.args.get("where"))
                cols = {c.name for c in scope.columns if c.table == alias}
                read = [d for d in days if all(_holds(c, _partition_values(table, d)) for c in conds)]
                sets = [r for r in queries.ROLLUP_SETS if all(_holds(c, {"rollup_set": r}) for c in conds)]
                filters = [(c.this.name, _literal(c.expression)) for c in conds
                           if isinstance(c, exp.EQ) and isinstance(c.this, exp.Column)
                           and c.this.name not in PARTITIONS[table] and _literal(c.expression) is not None]
                out.append(TableScan(table, (cols & SCHEMAS[table]) - PARTITIONS[table], read, filters,
                                     sets if table == ROLLUP else []))
        for sub in [*scope.subquery_scopes, *scope.set_operation_scopes]:
            walk(sub)

    walk(root)
    return out


def query_columns(sql: str, day: dt.date) -> dict[str, set[str]]:
    """{table: stored columns read} over all the query's scans."""
    out: dict[str, set[str]] = {}
    for scan in table_scans(sql, [day]):
        out.setdefault(scan.table, set()).update(scan.columns)
    return out


@dataclass(frozen=True)
class _RowGroup:
    sizes: dict[str, int]  # compressed bytes per column
    stats: dict[str, tuple[Any, Any]]  # (min, max) per column that has them


@functools.cache
def _row_groups(path: Path, mtime_ns: int) -> list[_RowGroup]:
    meta = pq.ParquetFile(path).metadata
    out = []
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        sizes, stats = {}, {}
        for j in range(rg.num_columns):
            col = rg.column(j)
            sizes[col.path_in_schema] = col.total_compressed_size
            st = col.statistics
            if st is not None and st.has_min_max:
                stats[col.path_in_schema] = (st.min, st.max)
        out.append(_RowGroup(sizes, stats))
    return out


def _may_match(rg: _RowGroup, preds: list[tuple[str, Any]]) -> bool:
    for col, value in preds:
        bounds = rg.stats.get(col)
        if bounds is None or type(bounds[0]) is not type(value):
            continue  # no usable statistics: the row group must be read
        if not bounds[0] <= value <= bounds[1]:
            return False
    return True


def scanned(files: Iterable[Path], columns: Iterable[str], filters: Predicates | None = None) -> int:
    """Compressed bytes of `columns` in the row groups of `files` that `filters` may match
    (any one of its condition lists; None: every row group)."""
    cols = set(columns)
    total = 0
    for f in files:
        for rg in _row_groups(f, f.stat().st_mtime_ns):
            if filters is None or any(_may_match(rg, preds) for preds in filters):
                total += sum(b for c, b in rg.sizes.items() if c in cols)
    return total


billed = athena_billed_bytes  # Athena's billing: rounded up to a whole MB, 10 MB at least
dollars = athena_cost


@dataclass
class QueryScan:
    name: str
    table: str
    days: int  # the most days one of its scans reads
    scans: int  # table scans (a CTE referenced twice is scanned twice)
    columns: list[str]  # over all its scans
    bytes: int
    billed_bytes: int
    dollars: float


@dataclass
class Estimate:
    day_bytes: int  # the report day's raw files, whole
    day_files: int
    rollup_bytes: int  # the report day's rollup file
    columns_floor: list[str]
    floor_bytes: int
    rollup_build: QueryScan
    insights: list[QueryScan] = field(default_factory=list)  # against the rollups
    naive: list[QueryScan] = field(default_factory=list)  # each insight against raw logs

    @property
    def rollup_total(self) -> int:
        return self.rollup_build.bytes + sum(q.bytes for q in self.insights)

    @property
    def rollup_billed(self) -> int:
        return self.rollup_build.billed_bytes + sum(q.billed_bytes for q in self.insights)

    @property
    def naive_total(self) -> int:
        return sum(q.bytes for q in self.naive)

    @property
    def naive_billed(self) -> int:
        return sum(q.billed_bytes for q in self.naive)

    def to_json(self, prices: Prices) -> dict[str, Any]:
        return {
            **asdict(self),
            "rollup_total_bytes": self.rollup_total,
            "rollup_billed_bytes": self.rollup_billed,
            "rollup_dollars": dollars(self.rollup_billed, prices),
            "naive_total_bytes": self.naive_total,
            "naive_billed_bytes": self.naive_billed,
            "naive_dollars": dollars(self.naive_billed, prices),
            "floor_dollars": dollars(billed(self.floor_bytes), prices),
        }


def rollup_lineage(day: dt.date) -> dict[str, set[str]]:
    """{rollup column: the raw columns behind it}, traced through daily_rollup.sql with
    sqlglot's column lineage: `flows` (a count) has none and `hour` is a partition; a
    derived column such as `pkt_srcaddr <> srcaddr AS src_translated` has both addresses.
    `rollup_set` (which grouping set a row belongs to) is the rollup's own bookkeeping, not
    something an insight would read from raw logs, so it maps to nothing."""
    sql = queries.render("daily_rollup", day)
    tree = sqlglot.parse_one(sql, read="trino")
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    if select is None:
        raise ValueError("daily_rollup.sql has no SELECT")
    schema = {FLOW_LOGS: queries.FLOW_LOGS_SCHEMA}
    raw = SCHEMAS[FLOW_LOGS] - PARTITIONS[FLOW_LOGS]
    out: dict[str, set[str]] = {}
    for e in select.expressions:
        name = e.alias_or_name
        if name == "rollup_set":
            out[name] = set()
            continue
        node = lineage(name, tree, schema=schema, dialect="trino")
        leaves = {n.name for n in node.walk() if not n.downstream}
        out[name] = {exp.to_column(leaf).name for leaf in leaves} & raw
    return out


def _raw_columns(rollup_columns: set[str], lineage: dict[str, set[str]]) -> set[str]:
    """The raw columns behind rollup columns (what the insight would read from raw logs)."""
    return set().union(*(lineage.get(c, set()) for c in rollup_columns))


def estimate(raw_files: dict[dt.date, list[Path]], rollup_dir: Path, day: dt.date,
             prices: Prices | None = None) -> Estimate:
    """The scan of every query of the report for `day`.

    `raw_files` maps each day (the report day and the history days present) to its raw
    Parquet files; `rollup_dir` holds dt=YYYY-MM-DD/rollup_set=<set>/*.parquet for those days.
    """
    prices = prices or Prices()
    history = [day - dt.timedelta(days=k) for k in range(queries.HISTORY_DAYS, -1, -1)]

    def rollups(days: list[dt.date], sets: Iterable[str] = queries.ROLLUP_SETS) -> list[Path]:
        return [p for d in days for r in sets
                for p in sorted((rollup_dir / f"dt={d.isoformat()}" / f"rollup_set={r}").glob("*.parquet"))]

    def raw(days: list[dt.date]) -> list[Path]:
        return [f for d in days for f in raw_files.get(d, [])]

    def files(scan: TableScan) -> list[Path]:
        return raw(scan.days) if scan.table == FLOW_LOGS else rollups(scan.days, scan.sets)

    def query(name: str, scans: list[TableScan]) -> QueryScan:
        n = sum(scanned(files(s), s.columns, [s.filters] if s.filters else None) for s in scans)
        b = billed(n)
        cols = sorted(set().union(*(s.columns for s in scans))) if scans else []
        return QueryScan(name, scans[0].table if scans else "", max((len(s.days) for s in scans), default=0),
                         len(scans), cols, n, b, dollars(b, prices))

    lineage = rollup_lineage(day)
    build = query("daily_rollup", table_scans(queries.render("daily_rollup", day), history))
    insights, naive, needed = [], [], set()
    for i in INSIGHTS:
        scans = table_scans(queries.render(i, day), history)
        insights.append(query(i, scans))
        raw_cols = _raw_columns(set().union(*(s.columns for s in scans)), lineage)
        days = sorted(set().union(*(s.days for s in scans)))
        naive.append(query(i, [TableScan(FLOW_LOGS, raw_cols, days, [])]))
        needed |= raw_cols
    # every report also runs the totals, breakdown and places queries, and with an inventory
    # the inventory step's interface_bytes (all
    # over the rollup: no naive twin)
    for name in ("totals", "breakdown", "places", "interface_bytes"):
        insights.append(query(name, table_scans(queries.render(name, day), history)))
    day_files = raw_files.get(day, [])
    rollup_files = rollups([day])
    return Estimate(
        day_bytes=sum(f.stat().st_size for f in day_files),
        day_files=len(day_files),
        rollup_bytes=sum(f.stat().st_size for f in rollup_files),
        columns_floor=sorted(needed),
        floor_bytes=scanned(day_files, needed),
        rollup_build=build,
        insights=insights,
        naive=naive,
    )
