"""The report's SQL: written once in Athena's (Trino) dialect, rendered for a day, and
transpiled for DuckDB when running locally.

Transpiling is schema-aware: without the column types sqlglot turns Trino's integer
division into DuckDB's float division, so every query is qualified and type-annotated
against the two tables it may read before it is written out for DuckDB.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from importlib import resources

import sqlglot
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from flowdigest import fields
from flowdigest.scope import Scope

HISTORY_DAYS = 7
ROW_LIMIT = 10

# Transit Gateway flow logs (sql/tgw_rollup.sql): their own sets of the same rollup, keyed by
# attachment and VPC pair (besides log_status, flow_direction and hour), with the packets lost
# by reason: NULL where no record of the group knew it ('-' or a format without the field).
TGW_FLOW_LOGS = "tgw_flow_logs"
TGW_ROLLUP_KEYS: tuple[str, ...] = (
    "tgw_id", "tgw_attachment_id", "tgw_pair_attachment_id", "resource_type", "tgw_src_vpc_account_id",
    "tgw_dst_vpc_account_id", "tgw_src_vpc_id", "tgw_dst_vpc_id", "tgw_src_az_id", "tgw_dst_az_id", "tgw_region",
)
TGW_LOST: tuple[str, ...] = (
    "packets_lost_no_route", "packets_lost_blackhole", "packets_lost_mtu_exceeded", "packets_lost_ttl_expired",
)
TGW_FLOW_LOGS_SCHEMA: dict[str, str] = {
    **{f.column: f.sql_type for f in fields.TGW_CATALOG},
    **{p: "VARCHAR" for p in (*fields.SOURCE_PARTITION_COLUMNS, *fields.PARTITION_COLUMNS)},
}

# The rollup's columns and types: daily_rollup.sql's output.
ROLLUP_KEYS: tuple[str, ...] = (
    "log_status", "action", "interface_id", "instance_id", "srcaddr", "dstaddr", "dstport",
    "protocol", "flow_direction", "traffic_path", "pkt_src_aws_service", "pkt_dst_aws_service",
    "subnet_id", "vpc_id", "az_id",  # the interface's: they add no rows (the findings)
    "account_id", "region",  # the interface's too (the record's, else the S3 prefix's)
)
# The ingress set's interface facts that are no flow-log field (daily_rollup.sql): the
# interface's own address on a record, and a translated record's destination.
ROLLUP_ADDRESSES: tuple[str, ...] = ("own_addr", "translated_dstaddr")
ROLLUP_SCHEMA: dict[str, str] = {
    "rollup_set": "VARCHAR",  # which grouping set a row belongs to (daily_rollup.sql)
    "hour": "INT",
    **{c: fields.BY_COLUMN[c].sql_type for c in ROLLUP_KEYS[:10]},
    "src_translated": "BOOLEAN",  # pkt_srcaddr <> srcaddr
    "dst_translated": "BOOLEAN",  # pkt_dstaddr <> dstaddr
    **{c: fields.BY_COLUMN[c].sql_type for c in ROLLUP_KEYS[10:]},
    **{c: "VARCHAR" for c in ROLLUP_ADDRESSES},
    "flows": "BIGINT",
    "packets": "BIGINT",
    "bytes": "BIGINT",
    "dt": "VARCHAR",
    **{c: "VARCHAR" for c in TGW_ROLLUP_KEYS},  # the Transit Gateway sets' (sql/tgw_rollup.sql)
    **{c: "BIGINT" for c in TGW_LOST},
}
# The rollup's partitions (folders, not file columns): the day, then the grouping set.
ROLLUP_PARTITIONS: tuple[str, ...] = ("dt", "rollup_set")
# The rollup's Parquet is written with ZSTD at this level, by DuckDB and by Athena's UNLOAD
# (compression_level, 1-22, Athena's default 3; AWS recommends 3 or 6-9: "Use ZSTD
# compression levels", Athena User Guide). At 9 the rollup is about 7 % smaller than at 3
# for no measurable build time, and every insight query is billed for what it reads.
ROLLUP_ZSTD_LEVEL = 9
ROLLUP_SETS: tuple[str, ...] = ("flows", "hours", "ports", "rejects", "ingress", "tgw", "tgw_hours")
FLOW_LOGS_SCHEMA: dict[str, str] = {
    **{f.column: f.sql_type for f in fields.FIELDS},
    **{p: "VARCHAR" for p in (*fields.SOURCE_PARTITION_COLUMNS, *fields.PARTITION_COLUMNS)},
}
# Columns of the raw logs the rollup reads: what Athena scans (besides partitions).
ROLLUP_SOURCE_COLUMNS: tuple[str, ...] = (*ROLLUP_KEYS, "pkt_srcaddr", "pkt_dstaddr", "packets", "bytes")


# Addresses that are not public: RFC 1918, shared (100.64/10), loopback, link-local, "this
# network", multicast and above (224/3); IPv6 unspecified, loopback, unique-local, link-local.
_NOT_PUBLIC_RE = (r"^(10\.|127\.|0\.|169\.254\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\."
                  r"|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|(22[4-9]|2[3-5][0-9])\."
                  r"|[fF][cCdD]|[fF][eE][89aAbB]|::1?$)")


class _PublicAddress:
    """`{is_public:column}` in a query: true when the column holds a public address."""

    def __format__(self, column: str) -> str:
        return f"({column} IS NOT NULL AND NOT regexp_like({column}, '{_NOT_PUBLIC_RE}'))"


# Which interfaces are NAT gateways'. Without an inventory, the records say: an interface with
# a translated record (packet address <> record address) and no instance id (an EKS node's
# pods are translated too, but its records carry the node's instance id). With one, its
# InterfaceType does (NatRule): the queries then read the list it gives.
_NAT_BY_RECORDS = "((dst_translated OR src_translated) AND instance_id IS NULL)"


@dataclass(frozen=True)
class NatRule:
    """The NAT gateway interfaces and their private addresses, as the day's inventory knows them
    (naming.nat_rule); the queries' `{nat_record}` and `{nat_private:…}` read them."""

    interfaces: tuple[str, ...]
    addresses: tuple[str, ...] = ()


def _sql_list(values: tuple[str, ...]) -> str:
    """String literals, quotes doubled: the ids come from flow logs and inventory files."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class _NatRecord:
    """`{nat_record}`: true on a record that makes its interface a NAT gateway's (the queries
    take bool_or of it over the interface)."""

    def __init__(self, rule: NatRule | None) -> None:
        self.rule = rule

    def __format__(self, _: str) -> str:
        if self.rule is None:
            return _NAT_BY_RECORDS
        return f"(interface_id IN ({_sql_list(self.rule.interfaces)}))" if self.rule.interfaces else "false"


class _NatPrivate:
    """`{nat_private:column}`: true when the column holds a NAT gateway's private address that
    the inventory gives (without one, the queries learn them from the translated records)."""

    def __init__(self, rule: NatRule | None) -> None:
        self.rule = rule

    def __format__(self, column: str) -> str:
        if self.rule is None or not self.rule.addresses:
            return "false"
        return f"({column} IN ({_sql_list(self.rule.addresses)}))"


# The pipeline's own queries in sql/ (the insights' are in their folders, insights/<id>/).
PIPELINE_QUERIES: tuple[str, ...] = ("daily_rollup", "totals", "interface_bytes", "breakdown", "places",
                                    "tgw_rollup")


def query_names() -> list[str]:
    """Every query: the pipeline's, then each insight's (its id), in report order."""
    from flowdigest.insights import INSIGHTS  # the registry imports no queries: no cycle

    return [*PIPELINE_QUERIES, *INSIGHTS]


@functools.cache
def sql_text(name: str) -> str:
    """The query `name`: sql/<name>.sql for the pipeline's, else insight <name>'s query.sql."""
    if name in PIPELINE_QUERIES:
        return resources.files("flowdigest").joinpath("sql", f"{name}.sql").read_text()
    from flowdigest.insights import INSIGHTS

    return INSIGHTS[name].query_file.read_text()


def render(name: str, day: dt.date, *, flow_logs: str = "flow_logs", rollup: str = "daily_rollup",
           limit: int = ROW_LIMIT, scope: Scope | None = None, tgw_flow_logs: str = TGW_FLOW_LOGS,
           nat: NatRule | None = None) -> str:
    """The query `name` for `day`, in Athena's dialect. Values come from a date, ints, validated
    ids (`scope`: the rollup's filters) and the NAT rule's quoted ids and addresses only; `nat`:
    the inventory's NAT gateways (None: the records decide)."""
    return sql_text(name).format(
        flow_logs=flow_logs,
        tgw_flow_logs=tgw_flow_logs,
        rollup=rollup,
        date=day.isoformat(),
        year=f"{day:%Y}",
        month=f"{day:%m}",
        day=f"{day:%d}",
        history_start=(day - dt.timedelta(days=HISTORY_DAYS)).isoformat(),
        limit=int(limit),
        is_public=_PublicAddress(),
        scope=(scope or Scope()).predicate(),
        tgw_scope=(scope or Scope()).tgw_predicate(),
        nat_record=_NatRecord(nat),
        nat_private=_NatPrivate(nat),
    )


def to_duckdb(trino_sql: str, *, flow_logs: str = "flow_logs", rollup: str = "daily_rollup") -> str:
    """Transpile Athena SQL to DuckDB, annotated with our tables' schemas."""
    schema: dict[str, object] = {flow_logs: FLOW_LOGS_SCHEMA, rollup: ROLLUP_SCHEMA,
                                 TGW_FLOW_LOGS: TGW_FLOW_LOGS_SCHEMA}
    expression = sqlglot.parse_one(trino_sql, read="trino")
    expression = annotate_types(qualify(expression, schema=schema, dialect="trino"), schema=schema)
    return expression.sql(dialect="duckdb")
