"""An independent computation of every insight, in plain Python over the raw records.

It shares nothing with flowdigest's SQL or rollup: it reads the day's files with pyarrow
and applies the definitions written in the README, so a test comparing the two checks
the SQL (and its DuckDB transpilation) against the documented meaning.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from flowdigest import s3layout  # a path builder, not logic under test

Record = dict[str, Any]
SERVICES = {"S3", "DYNAMODB"}
LIMIT = 10


def read_day(root: Path, day: dt.date, skip: Iterable[Path] = ()) -> list[Record]:
    """Every record delivered in the day's hour partitions, with `hour` from the partition."""
    skipped = set(skip)
    out: list[Record] = []
    for hour_dir in sorted(root.glob(f"**/{s3layout.day_partitions(day)}/hour=*")):
        hour = int(hour_dir.name.split("=")[1])
        for f in sorted(hour_dir.glob("*.parquet")):
            if f in skipped:
                continue
            for r in pq.read_table(f).to_pylist():
                r["hour"] = hour
                out.append(r)
    return out


def ok(records: Iterable[Record]) -> list[Record]:
    return [r for r in records if r["log_status"] == "OK"]


def totals(records: list[Record]) -> dict[str, int]:
    good = ok(records)
    return {
        "flows": len(good),
        "bytes": sum(r["bytes"] for r in good),
        "packets": sum(r["packets"] for r in good),
        "accepted_flows": sum(1 for r in good if r["action"] == "ACCEPT"),
        "rejected_flows": sum(1 for r in good if r["action"] == "REJECT"),
        "nodata_records": sum(1 for r in records if r["log_status"] == "NODATA"),
        "skipdata_records": sum(1 for r in records if r["log_status"] == "SKIPDATA"),
    }


def top_talkers(records: list[Record]) -> list[tuple[str, str, int]]:
    per_eni: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in ok(records):
        per_eni[(r["srcaddr"], r["dstaddr"], r["interface_id"])] += r["bytes"]
    pair: dict[tuple[str, str], int] = {}
    for (s, d, _), b in per_eni.items():
        pair[(s, d)] = max(pair.get((s, d), 0), b)
    ranked = sorted(pair.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[:LIMIT]
    return [(s, d, b) for (s, d), b in ranked]


def rejected(records: list[Record]) -> tuple[list[tuple], list[tuple]]:
    rej = [r for r in ok(records) if r["action"] == "REJECT"]
    src: dict[str, list] = defaultdict(lambda: [0, 0, set()])
    port: dict[tuple, list] = defaultdict(lambda: [0, 0, set()])
    for r in rej:
        s = src[r["srcaddr"]]
        s[0] += 1
        s[1] += r["bytes"]
        s[2].add(r["dstport"])
        p = port[(r["dstport"], r["protocol"])]
        p[0] += 1
        p[1] += r["bytes"]
        p[2].add(r["srcaddr"])
    sources = sorted(((k, v[0], v[1], len(v[2])) for k, v in src.items()), key=lambda t: (-t[1], t[0]))[:LIMIT]
    ports = sorted(((str(k[0]), k[1], v[0], v[1], len(v[2])) for k, v in port.items()),
                   key=lambda t: (-t[2], int(t[0]), t[1]))[:LIMIT]
    return sources, ports


def nat_interfaces(good: list[Record]) -> set[str]:
    """Interfaces with a translated record and no instance id (an EKS node's records have one)."""
    return {
        r["interface_id"] for r in good
        if r.get("instance_id") in (None, "-") and (
            (r["pkt_dstaddr"] is not None and r["pkt_dstaddr"] != r["dstaddr"])
            or (r["pkt_srcaddr"] is not None and r["pkt_srcaddr"] != r["srcaddr"]))
    }


def _public_leg(r: Record) -> bool:
    return (r["pkt_srcaddr"] is None or r["pkt_srcaddr"] == r["srcaddr"]) and (
        r["pkt_dstaddr"] is None or r["pkt_dstaddr"] == r["dstaddr"])


def gateway_endpoint(records: list[Record]) -> dict[tuple[str, str, str], int]:
    """(service, path, direction) -> bytes, by the README's rules."""
    good = [r for r in ok(records) if r["action"] == "ACCEPT"]
    nat = nat_interfaces(good)
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in good:
        if r["interface_id"] in nat:
            if not _public_leg(r):
                continue
            if r["pkt_dst_aws_service"] in SERVICES:
                out[(r["pkt_dst_aws_service"], "nat", "to_service")] += r["bytes"]
            elif r["pkt_src_aws_service"] in SERVICES:
                out[(r["pkt_src_aws_service"], "nat", "from_service")] += r["bytes"]
            continue
        if r["pkt_dst_aws_service"] not in SERVICES or r["flow_direction"] not in (None, "egress"):
            continue
        tp = r["traffic_path"]
        path = {7: "gateway_endpoint", 8: "internet_gateway", 2: "gateway_endpoint_or_internet_gateway"}.get(tp)
        if path is None:
            if tp == 1:
                if nat:
                    continue  # the NAT interface's own records count these bytes
                path = "nat"
            elif tp is not None and 3 <= tp <= 6:
                path = "other"
            else:
                path = "unknown"
        out[(r["pkt_dst_aws_service"], path, "to_service")] += r["bytes"]
    return dict(out)


def nat_gateway(records: list[Record]) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Bytes processed, top internal senders (what each sent through it), top external destinations."""
    good = [r for r in ok(records) if r["action"] == "ACCEPT"]
    nat = nat_interfaces(good)
    on_nat = [r for r in good if r["interface_id"] in nat]
    nat_ips = {r["dstaddr"] for r in on_nat if r["pkt_dstaddr"] is not None and r["pkt_dstaddr"] != r["dstaddr"]}
    total = 0
    ext: dict[str, int] = defaultdict(int)
    internal: dict[str, int] = defaultdict(int)
    for r in on_nat:
        if _public_leg(r):
            total += r["bytes"]
            ext[r["dstaddr"] if r["srcaddr"] in nat_ips else r["srcaddr"]] += r["bytes"]
        elif r["pkt_dstaddr"] is not None and r["pkt_dstaddr"] != r["dstaddr"]:
            internal[r["srcaddr"]] += r["bytes"]  # sent out through the NAT (a reply is not sent by it)

    def top(d: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))[:LIMIT]

    return total, top(internal), top(ext)


def traffic_by_hour(records: list[Record]) -> dict[int, tuple[int, int, int]]:
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in ok(records):
        i = {"ingress": 0, "egress": 1, None: 2}[r["flow_direction"]]
        out[r["hour"]][i] += r["bytes"]
    return {h: (v[0], v[1], v[2]) for h, v in out.items()}


def ports_protocols(records: list[Record]) -> list[tuple[int, int, int]]:
    agg: dict[tuple[int, int], int] = defaultdict(int)
    for r in ok(records):
        agg[(r["protocol"], r["dstport"])] += r["bytes"]
    ranked = sorted(agg.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[:LIMIT]
    return [(p, port, b) for (p, port), b in ranked]


def new_talkers(records: list[Record], history: list[Record]) -> list[tuple[str, str, int]]:
    seen = {(r["srcaddr"], r["dstaddr"]) for r in ok(history)}
    today: dict[tuple[str, str], int] = defaultdict(int)
    for r in ok(records):
        today[(r["srcaddr"], r["dstaddr"])] += r["bytes"]
    new = [(s, d, b) for (s, d), b in today.items() if (s, d) not in seen]
    return sorted(new, key=lambda t: (-t[2], t[0], t[1]))[:LIMIT]


def data_health(records: list[Record]) -> dict[tuple[int, str], int]:
    out: dict[tuple[int, str], int] = defaultdict(int)
    for r in records:
        out[(r["hour"], r["log_status"])] += 1
    return dict(out)
