"""A sample day of Transit Gateway flow logs: one gateway between the VPCs given, with
packets lost by reason at known amounts (for tests, and for `flowdigest sample --tgw`).

The gateway is the first VPC's (its account and Region). A VPC of that Region has an
attachment of its own; the VPCs of each other Region are reached through one peering
attachment per Region. Every flow the gateway carries has two records, as AWS writes them
(one per attachment it passes): `ingress` on the attachment it came in by, whose
`tgw-pair-attachment-id` is the one it leaves by, and `egress` on that one (the same
bytes). Flows between two VPCs of other Regions do not pass this gateway. Packets lost are
0 on every record but the planted ones: `lost` packets of a reason on one ingress record
of the VPC's attachment (a drop happens where the packet came in).

    day = tgw_day(vpcs, dt.date(2026, 11, 26))      # the records, an Arrow table
    write_tgw_day(root, vpcs, dt.date(2026, 11, 26))  # hourly Parquet, as AWS delivers it
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from flowdigest import fields, s3layout
from flowdigest.sample.writer import write_parquet

COLUMNS: tuple[str, ...] = tuple(f.column for f in fields.TGW_CATALOG)
SCHEMA: pa.Schema = pa.schema([pa.field(f.column, f.type) for f in fields.TGW_CATALOG])
PREFIX = "tgw-flowlogs/"  # template.yaml's TgwFlowLogToS3 delivers under a prefix of its own
REASONS = ("no_route", "blackhole", "mtu_exceeded", "ttl_expired")


@dataclass(frozen=True)
class TgwVpc:
    account_id: str
    region: str
    vpc_id: str
    subnets: tuple[str, ...]
    az_ids: tuple[str, ...]  # each subnet's AZ ID (use1-az1: its Region's code first)
    cidr_octet: int = 0  # its addresses are 10.<octet>.<subnet>.<host>


@dataclass
class TgwDay:
    tgw_id: str
    account_id: str
    region: str
    attachments: dict[str, str]  # VPC id -> the attachment its traffic comes in by
    records: list[dict[str, object]] = field(default_factory=list)  # SCHEMA's columns

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.records, schema=SCHEMA)


def _id(prefix: str, *parts: object) -> str:
    return f"{prefix}-{hashlib.sha256('/'.join(map(str, parts)).encode()).hexdigest()[:17]}"


def default_lost(vpcs: Sequence[TgwVpc]) -> dict[tuple[str, str], int]:
    """The planted losses: (VPC id, reason) -> packets lost that day, on the VPCs of the
    gateway's Region (the first VPC's), in turn."""
    local = [v for v in vpcs if v.region == vpcs[0].region]
    plan = [("no_route", 120), ("blackhole", 48), ("mtu_exceeded", 24), ("ttl_expired", 6)]
    return {(local[i % len(local)].vpc_id, reason): n for i, (reason, n) in enumerate(plan)}


def _attachments(vpcs: Sequence[TgwVpc], tgw_id: str, region: str) -> dict[str, str]:
    return {v.vpc_id: _id("tgw-attach", tgw_id, v.vpc_id if v.region == region else f"peering/{v.region}")
            for v in vpcs}


def _base(day: TgwDay) -> dict[str, object]:
    return {c: None for c in COLUMNS} | {
        "version": 6, "resource_type": "TransitGateway", "account_id": day.account_id, "tgw_id": day.tgw_id,
        "region": day.region,
    }


def tgw_day(vpcs: Sequence[TgwVpc], day: dt.date, *, seed: int = 0, flows_per_pair_hour: int = 2,
            lost: Mapping[tuple[str, str], int] | None = None) -> TgwDay:
    """The gateway's records for `day` (see the module's docstring); seeded, so the same
    arguments give the same records."""
    if len(vpcs) < 2:
        raise ValueError("a Transit Gateway sample needs at least two VPCs")
    home = vpcs[0]
    tgw_id = _id("tgw", home.account_id, home.region, seed)
    out = TgwDay(tgw_id, home.account_id, home.region, _attachments(vpcs, tgw_id, home.region))
    rng = random.Random(f"{seed}/{day.isoformat()}/{tgw_id}")
    planted = dict(default_lost(vpcs) if lost is None else lost)
    midnight = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
    for hour in range(24):
        for src in vpcs:
            for dst in vpcs:
                if src is dst or (src.region != home.region and dst.region != home.region):
                    continue
                for _ in range(flows_per_pair_hour):
                    _flow(out, rng, src, dst, midnight + hour * 3600 + rng.randrange(3540), planted)
    # the gateway could not say: a NODATA window and a SKIPDATA one on the first attachment
    first = out.attachments[home.vpc_id]
    for hour, status in ((0, "NODATA"), (1, "SKIPDATA")):
        start = midnight + hour * 3600 + 60
        out.records.append(_base(out) | {"tgw_attachment_id": first, "start": start, "end": start + 60,
                                         "log_status": status})
    return out


def _address(v: TgwVpc, subnet: int, rng: random.Random) -> str:
    return f"10.{v.cidr_octet}.{subnet}.{rng.randrange(4, 250)}"


def _flow(day: TgwDay, rng: random.Random, src: TgwVpc, dst: TgwVpc, start: int,
          planted: dict[tuple[str, str], int]) -> None:
    si, di = rng.randrange(len(src.subnets)), rng.randrange(len(dst.subnets))
    packets = rng.randrange(5, 400)
    common = _base(day) | {
        "tgw_src_vpc_account_id": src.account_id, "tgw_dst_vpc_account_id": dst.account_id,
        "tgw_src_vpc_id": src.vpc_id, "tgw_dst_vpc_id": dst.vpc_id,
        "tgw_src_subnet_id": src.subnets[si], "tgw_dst_subnet_id": dst.subnets[di],
        "tgw_src_eni": _id("eni", src.vpc_id, si), "tgw_dst_eni": _id("eni", dst.vpc_id, di),
        "tgw_src_az_id": src.az_ids[si], "tgw_dst_az_id": dst.az_ids[di],
        "srcaddr": _address(src, si, rng), "dstaddr": _address(dst, di, rng),
        "srcport": rng.randrange(32768, 61000), "dstport": rng.choice((443, 5432, 6379, 8080)), "protocol": 6,
        "packets": packets, "bytes": packets * rng.randrange(60, 1500), "start": start, "end": start + 59,
        "log_status": "OK", "type": "IPv4", "tcp_flags": 19,
        **{f"packets_lost_{r}": 0 for r in REASONS},
    }
    came_in, leaves = day.attachments[src.vpc_id], day.attachments[dst.vpc_id]
    ingress = common | {"tgw_attachment_id": came_in, "tgw_pair_attachment_id": leaves, "flow_direction": "ingress"}
    for reason in REASONS:  # each planted loss once, on the first flow in by that VPC's attachment
        if src.region == day.region and (n := planted.pop((src.vpc_id, reason), 0)):
            ingress[f"packets_lost_{reason}"] = n
    day.records.append(ingress)
    day.records.append(common | {"tgw_attachment_id": leaves, "tgw_pair_attachment_id": came_in,
                                 "flow_direction": "egress"})


def sample_vpcs(seed: int = 0) -> list[TgwVpc]:
    """The sample network's VPC (flowdigest.sample.network: its gateway's account and Region)
    and three it reaches through the gateway: another account's in its Region, two in
    eu-west-1 (another account's, and its own)."""
    from flowdigest.sample.network import network

    net = network(seed)
    subnets = tuple(sid for sid, (_, _, public) in net.subnets.items() if not public)
    home = TgwVpc(net.account_id, net.region, net.vpc_id, subnets,
                  tuple(net.subnets[s][1] for s in subnets), cidr_octet=0)
    other = "210987654321"
    return [
        home,
        TgwVpc(other, net.region, _id("vpc", other, net.region), (_id("subnet", other, 1),), ("use1-az4",), 1),
        TgwVpc(other, "eu-west-1", _id("vpc", other, "eu-west-1"), (_id("subnet", other, 2),), ("euw1-az1",), 2),
        TgwVpc(net.account_id, "eu-west-1", _id("vpc", net.account_id, "eu-west-1"),
               (_id("subnet", net.account_id, 3), _id("subnet", net.account_id, 4)), ("euw1-az2", "euw1-az3"), 3),
    ]


def write_tgw_day(root: Path, vpcs: Sequence[TgwVpc], day: dt.date, *, seed: int = 0,
                  flows_per_pair_hour: int = 2) -> list[Path]:
    """The day's records as AWS delivers a Transit Gateway flow log to S3 (Parquet, Hive,
    per hour, under PREFIX): one file an hour. Returns the files written."""
    data = tgw_day(vpcs, day, seed=seed, flows_per_pair_hour=flows_per_pair_hour)
    by_hour: dict[int, list[dict[str, object]]] = {}
    for r in data.records:
        by_hour.setdefault((int(r["start"]) // 3600) % 24, []).append(r)  # type: ignore[call-overload]
    flow_log = _id("fl", data.tgw_id)
    written = []
    for hour, rows in sorted(by_hour.items()):
        folder = root / PREFIX / s3layout.hive_hour_prefix(data.account_id, data.region, day, hour)
        folder.mkdir(parents=True, exist_ok=True)
        at = dt.datetime.combine(day, dt.time(hour, 5), dt.UTC)
        path = folder / s3layout.object_name(data.account_id, data.region, flow_log, at, hour, "log.parquet")
        write_parquet(pa.Table.from_pylist(sorted(rows, key=lambda r: int(r["end"])),  # type: ignore[call-overload]
                                           schema=SCHEMA), path, level=6)
        written.append(path)
    return written
