"""The VPC Flow Logs field catalog: names, versions, Parquet column names and types.

Source: the AWS VPC user guide, "Flow log records" (available fields table) and
"Parquet" (types). Parquet column names are the field names with '-' replaced by '_'.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pyarrow is imported only where Arrow is used: the render Lambda has none
    import pyarrow as pa


@dataclass(frozen=True)
class Field:
    name: str  # as written in a flow log format string, e.g. "pkt-dst-aws-service"
    version: int  # the first flow-log version that has it
    kind: str  # its Parquet type as AWS writes it: "string", "int32" or "int64"
    description: str

    @property
    def type(self) -> pa.DataType:
        import pyarrow as pa

        return pa.type_for_alias(self.kind)

    @property
    def column(self) -> str:
        """The Parquet / SQL column name."""
        return self.name.replace("-", "_")

    @property
    def sql_type(self) -> str:
        return {"int32": "INT", "int64": "BIGINT"}.get(self.kind, "VARCHAR")


_S, _I, _L = "string", "int32", "int64"

FIELDS: tuple[Field, ...] = (
    Field("version", 2, _I, "flow log version"),
    Field("account-id", 2, _S, "AWS account that owns the interface"),
    Field("interface-id", 2, _S, "network interface (ENI) the traffic was recorded on"),
    Field("srcaddr", 2, _S, "source address of the record (IPv4 or IPv6)"),
    Field("dstaddr", 2, _S, "destination address of the record"),
    Field("srcport", 2, _I, "source port"),
    Field("dstport", 2, _I, "destination port"),
    Field("protocol", 2, _I, "IANA protocol number"),
    Field("packets", 2, _L, "packets in the aggregation window"),
    Field("bytes", 2, _L, "bytes in the aggregation window"),
    Field("start", 2, _L, "first packet, Unix seconds"),
    Field("end", 2, _L, "last packet, Unix seconds"),
    Field("action", 2, _S, "ACCEPT or REJECT"),
    Field("log-status", 2, _S, "OK, NODATA or SKIPDATA"),
    Field("vpc-id", 3, _S, "VPC of the interface"),
    Field("subnet-id", 3, _S, "subnet of the interface"),
    Field("instance-id", 3, _S, "instance that owns the interface"),
    Field("tcp-flags", 3, _I, "bitwise OR of TCP flags seen"),
    Field("type", 3, _S, "IPv4, IPv6 or EFA"),
    Field("pkt-srcaddr", 3, _S, "packet-level source address (differs behind NAT / middleboxes)"),
    Field("pkt-dstaddr", 3, _S, "packet-level destination address"),
    Field("region", 4, _S, "Region of the interface"),
    Field("az-id", 4, _S, "Availability Zone ID of the interface"),
    Field("sublocation-type", 4, _S, "wavelength, outpost or localzone"),
    Field("sublocation-id", 4, _S, "ID of the sublocation"),
    Field("pkt-src-aws-service", 5, _S, "AWS service of the source address (S3, DYNAMODB, ...)"),
    Field("pkt-dst-aws-service", 5, _S, "AWS service of the destination address"),
    Field("flow-direction", 5, _S, "ingress or egress, relative to the interface"),
    Field("traffic-path", 5, _I, "egress path code (see README: 7 gateway endpoint, 8 IGW, ...)"),
    Field("ecs-cluster-arn", 7, _S, "ECS cluster ARN"),
    Field("ecs-cluster-name", 7, _S, "ECS cluster name"),
    Field("ecs-container-instance-arn", 7, _S, "ECS container instance ARN"),
    Field("ecs-container-instance-id", 7, _S, "ECS container instance ID"),
    Field("ecs-container-id", 7, _S, "Docker ID of the first container"),
    Field("ecs-second-container-id", 7, _S, "Docker ID of the second container"),
    Field("ecs-service-name", 7, _S, "ECS service name"),
    Field("ecs-task-definition-arn", 7, _S, "ECS task definition ARN"),
    Field("ecs-task-arn", 7, _S, "ECS task ARN"),
    Field("ecs-task-id", 7, _S, "ECS task ID"),
    Field("reject-reason", 8, _S, "why traffic was rejected (BPA)"),
)

# Transit Gateway flow logs (v6) share some names; they describe TGW attachments, not ENIs.
TGW_FIELDS: tuple[Field, ...] = tuple(
    Field(n, 6, _L if n.startswith("packets-lost") else _S, "Transit Gateway field")
    for n in (
        "resource-type", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id",
        "tgw-dst-vpc-account-id", "tgw-src-vpc-id", "tgw-dst-vpc-id", "tgw-src-subnet-id",
        "tgw-dst-subnet-id", "tgw-src-eni", "tgw-dst-eni", "tgw-src-az-id", "tgw-dst-az-id",
        "tgw-pair-attachment-id", "packets-lost-no-route", "packets-lost-blackhole",
        "packets-lost-mtu-exceeded", "packets-lost-ttl-expired",
    )
)

# A Transit Gateway flow log with every field, in AWS's documented order (template.yaml's
# TgwFlowLogToS3 and tgw_flow_logs table).
TGW_FORMAT: tuple[str, ...] = (
    "version", "resource-type", "account-id", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id", "tgw-src-vpc-id", "tgw-dst-vpc-id", "tgw-src-subnet-id", "tgw-dst-subnet-id",
    "tgw-src-eni", "tgw-dst-eni", "tgw-src-az-id", "tgw-dst-az-id", "tgw-pair-attachment-id", "srcaddr",
    "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "log-status", "type",
    "packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded", "packets-lost-ttl-expired",
    "tcp-flags", "region", "flow-direction", "pkt-src-aws-service", "pkt-dst-aws-service",
)

# A file whose columns include one of these is a Transit Gateway flow log (the corpus' sample
# leaves resource-type '-' but names tgw-id): read as `tgw_flow_logs`, never as `flow_logs`.
TGW_MARKERS: frozenset[str] = frozenset({"resource_type", "tgw_id", "tgw_attachment_id"})


def is_tgw(columns: set[str] | frozenset[str] | list[str]) -> bool:
    """Whether a file with these (Parquet / SQL) columns is a Transit Gateway flow log."""
    return not TGW_MARKERS.isdisjoint(columns)


BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS + TGW_FIELDS}
BY_COLUMN: dict[str, Field] = {f.column: f for f in FIELDS + TGW_FIELDS}
# The columns of the Transit Gateway table (tgw_flow_logs), in TGW_FORMAT's order.
TGW_CATALOG: tuple[Field, ...] = tuple(BY_NAME[n] for n in TGW_FORMAT)

# Hive partition columns of the AWS S3 layout; Athena (and we) read them as strings.
PARTITION_COLUMNS: tuple[str, ...] = ("year", "month", "day", "hour")
# An organisation's bucket adds the account and Region folders above them (template.yaml's
# enum projections: aws-account-id=..., aws-region=...).
SOURCE_PARTITION_COLUMNS: tuple[str, ...] = ("aws_account_id", "aws_region")

DEFAULT_FORMAT: tuple[str, ...] = tuple(f.name for f in FIELDS if f.version == 2)
V5_FORMAT: tuple[str, ...] = tuple(f.name for f in FIELDS if f.version <= 5)


def schema(columns: list[str] | tuple[str, ...] | None = None) -> pa.Schema:
    """The Parquet schema AWS writes for these columns (all catalog fields by default)."""
    import pyarrow as pa

    cols = columns if columns is not None else [f.column for f in FIELDS]
    return pa.schema([pa.field(c, BY_COLUMN[c].type) for c in cols])


def format_option(missing_columns: list[str]) -> str:
    """The flow-log format entries that would add these columns, for skip reasons."""
    names = [BY_COLUMN[c].name for c in missing_columns if c in BY_COLUMN]
    return " ".join(f"${{{n}}}" for n in names)


# A field as a format string (`${srcaddr}`), a header line (`srcaddr`) or a Parquet
# column (`log_status`) writes it.
_TOKEN = re.compile(r"(?:\$\{)?([a-z][a-z0-9_-]*)\}?")


class FormatError(ValueError):
    pass


def token_name(token: str) -> str | None:
    """The field name a format or header token spells (`${log-status}`, `log-status` and
    `log_status` all give 'log-status'); an unknown name as written; None for a token
    that cannot be a field name (a record's value)."""
    m = _TOKEN.fullmatch(token)
    if not m:
        return None
    name = m.group(1)
    f = BY_COLUMN.get(name) if name not in BY_NAME else None
    return f.name if f else name


def parse_format(spec: str | Sequence[str]) -> tuple[str, ...]:
    """Field names from a flow log's format (`${version} ${srcaddr} ...`, or names).

    Raises FormatError naming an unknown or repeated field (and the closest known name).
    """
    tokens = spec.split() if isinstance(spec, str) else list(spec)
    if not tokens:
        raise FormatError("empty flow-log format")
    names: list[str] = []
    for token in tokens:
        name = token_name(token) or token
        if name not in BY_NAME:
            close = difflib.get_close_matches(name, list(BY_NAME), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise FormatError(f"unknown field {token!r} in the format{hint}")
        if name in names:
            raise FormatError(f"field {name!r} appears twice in the format")
        names.append(name)
    return tuple(names)
