"""An independent computation of every insight, in plain Python over the raw records.

It shares nothing with flowdigest's SQL or rollup: it reads the day's files with pyarrow
and applies the definitions written in the README, so a test comparing the two checks
the SQL (and its DuckDB transpilation) against the documented meaning.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
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
    """Every record delivered in the day's hour partitions, with `hour` from the partition and
    `prefix_account` / `prefix_region` from the aws-account-id= / aws-region= folders above."""
    skipped = set(skip)
    out: list[Record] = []
    for hour_dir in sorted(root.glob(f"**/{s3layout.day_partitions(day)}/hour=*")):
        hour = int(hour_dir.name.split("=")[1])
        keys = dict(part.split("=", 1) for part in hour_dir.parts if "=" in part)
        for f in sorted(hour_dir.glob("*.parquet")):
            if f in skipped:
                continue
            for r in pq.read_table(f).to_pylist():
                r["hour"] = hour
                r["prefix_account"], r["prefix_region"] = keys.get("aws-account-id"), keys.get("aws-region")
                out.append(r)
    return out


def in_scope(records: list[Record], accounts: Iterable[str] = (), regions: Iterable[str] = (),
             vpcs: Iterable[str] = ()) -> list[Record]:
    """The records a filter keeps: accounts and Regions by the prefix they were delivered
    under, VPCs by the record's vpc-id."""
    a, r, v = set(accounts), set(regions), set(vpcs)
    return [x for x in records if (not a or x["prefix_account"] in a) and (not r or x["prefix_region"] in r)
            and (not v or x["vpc_id"] in v)]


def per(records: list[Record], key: str) -> dict[str, tuple[int, int, int]]:
    """(flows, bytes, packets) of the OK records per value of `key` (account_id, vpc_id, ...)."""
    out: dict[str, tuple[int, int, int]] = {}
    for r in ok(records):
        f, b, p = out.get(r[key], (0, 0, 0))
        out[r[key]] = (f + 1, b + r["bytes"], p + r["packets"])
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


def gateway_endpoint(records: list[Record], nat: set[str] | None = None) -> dict[tuple[str, str, str], int]:
    """(service, path, direction) -> bytes, by the README's rules; `nat`: the NAT gateway
    interfaces an inventory gives (None: the records' rule)."""
    good = [r for r in ok(records) if r["action"] == "ACCEPT"]
    nat = nat_interfaces(good) if nat is None else {r["interface_id"] for r in good if r["interface_id"] in nat}
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


def nat_gateway(records: list[Record], nat: set[str] | None = None, private: Iterable[str] = (),
                ) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Bytes processed, top internal senders (what each sent through it), top external destinations;
    `nat` and `private`: the NAT gateway interfaces and their addresses an inventory gives."""
    good = [r for r in ok(records) if r["action"] == "ACCEPT"]
    nat = nat_interfaces(good) if nat is None else nat
    on_nat = [r for r in good if r["interface_id"] in nat]
    nat_ips = {r["dstaddr"] for r in on_nat if r["pkt_dstaddr"] is not None and r["pkt_dstaddr"] != r["dstaddr"]}
    nat_ips |= set(private)
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


# -- findings (issue 14): the README's "Findings" definitions, in plain Python ------------------

_NOT_PUBLIC = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/3", "::/128", "::1/128", "fc00::/7", "fe80::/10")]
ADMIN_PORTS = {22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 2375, 2379, 11211}


def is_public(address: str | None) -> bool:
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return not any(ip.version == n.version and ip in n for n in _NOT_PUBLIC)


def _differs(packet: str | None, record: str | None) -> bool:
    return packet is not None and record is not None and packet != record


def _own_address(r: Record) -> str | None:
    return {"egress": r["srcaddr"], "ingress": r["dstaddr"]}.get(r["flow_direction"])


def _listening(r: Record) -> bool:
    """Accepted ingress from a public address to a listening port (not 80/443, not ephemeral)."""
    return (r["action"] == "ACCEPT" and r["dstport"] is not None and r["dstport"] < 32768
            and r["dstport"] not in (80, 443) and r["flow_direction"] in (None, "ingress") and is_public(r["srcaddr"]))


Findings = dict[str, dict[Any, dict[str, Any]]]


class _Homes:
    """Where an address lives: the records of the interface that owns it (its egress srcaddr,
    its ingress dstaddr), and whether that interface is a NAT gateway's."""

    def __init__(self, acc: list[Record], nat: set[str]) -> None:
        self.nat = nat
        self.by_address: dict[str, list[Record]] = defaultdict(list)
        for r in acc:
            if _own_address(r) is not None:
                self.by_address[_own_address(r)].append(r)

    def get(self, address: str, field: str) -> Any:
        values = [h[field] for h in self.by_address.get(address, []) if h[field] is not None]
        return min(values) if values else None

    def known(self, address: str) -> bool:
        """Lives on a logged interface that is not a NAT gateway's."""
        homes = self.by_address.get(address, [])
        return bool(homes) and not any(h["interface_id"] in self.nat for h in homes)


def _nat_record(r: Record, homes: _Homes, out: Findings, services_azs: dict[str, set]) -> None:
    """One private-leg record on a NAT gateway interface (its public leg has the same bytes)."""
    out_leg = _differs(r["pkt_dstaddr"], r["dstaddr"])
    internal = r["srcaddr"] if out_leg else r["dstaddr"]
    service = r["pkt_dst_aws_service"] if out_leg else r["pkt_src_aws_service"]
    known = homes.known(internal)
    subnet, az = (homes.get(internal, "subnet_id"), homes.get(internal, "az_id")) if known else (None, None)
    sender = subnet or internal
    if service in SERVICES:
        out["gateway_endpoint_bypass"][(service, sender)]["bytes"] += r["bytes"]
    elif service is not None:
        out["aws_service_via_nat"][service]["bytes"] += r["bytes"]
        if az is not None:
            services_azs[service].add(az)
    if az is not None and r["az_id"] is not None and az != r["az_id"]:
        out["nat_cross_az"][(sender, az, r["interface_id"], r["az_id"])]["bytes"] += r["bytes"]


def _nat_kinds(acc: list[Record], homes: _Homes, out: Findings) -> None:
    services_azs: dict[str, set] = defaultdict(set)
    for r in acc:
        private_leg = _differs(r["pkt_dstaddr"], r["dstaddr"]) or _differs(r["pkt_srcaddr"], r["srcaddr"])
        if r["interface_id"] in homes.nat and private_leg:
            _nat_record(r, homes, out, services_azs)
    for service, azs in services_azs.items():
        out["aws_service_via_nat"][service]["azs"] = len(azs)


def _cross_az(acc: list[Record], homes: _Homes, out: Findings) -> None:
    for r in acc:
        dst = r["dstaddr"]
        if r["flow_direction"] != "egress" or r["interface_id"] in homes.nat or not homes.known(dst):
            continue
        there = homes.get(dst, "az_id")
        if r["az_id"] is not None and there is not None and r["az_id"] != there:
            out["cross_az"]["->".join(sorted((r["az_id"], there)))]["bytes"] += r["bytes"]


def _internet(acc: list[Record], history: list[Record], nat: set[str], out: Findings) -> None:
    internet = [r for r in acc if is_public(r["dstaddr"]) and r["pkt_dst_aws_service"] is None
                and not (r["traffic_path"] is not None and 3 <= r["traffic_path"] <= 6)]
    dests: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    egress_dests: dict[str, set] = defaultdict(set)
    for r in internet:
        on_nat = r["interface_id"] in nat
        dests[r["dstaddr"]][1 if on_nat else 0] += r["bytes"]
        if not on_nat and r["interface_id"] is not None:
            out["internet_egress"][r["interface_id"]]["bytes"] += r["bytes"]
            egress_dests[r["interface_id"]].add(r["dstaddr"])
    for eni, ds in egress_dests.items():
        out["internet_egress"][eni]["destinations"] = len(ds)
    seen = {r["dstaddr"] for r in ok(history)}
    for dst, (direct, via_nat) in dests.items():
        if dst not in seen:
            out["new_external_destination"][dst]["bytes"] = max(direct, via_nat)


def _exposed(good: list[Record], nat: set[str], out: Findings) -> None:
    sources: dict[tuple, set] = defaultdict(set)
    for r in good:  # a NAT gateway's ingress on an admin port is a response to a port it translated to
        if _listening(r) and r["dstport"] in ADMIN_PORTS and r["interface_id"] not in nat:
            sources[(r["interface_id"], r["dstport"])].add(r["srcaddr"])
            out["exposed_port"][(r["interface_id"], r["dstport"])]["flows"] += 1
    for key, s in sources.items():
        out["exposed_port"][key]["sources"] = len(s)


def _scans(good: list[Record], nat: set[str], out: Findings) -> None:
    scans: dict[str, list[set]] = defaultdict(lambda: [set(), set()])
    for r in good:
        if r["action"] == "REJECT" and is_public(r["srcaddr"]):
            if r["dstport"] is not None and r["dstport"] < 32768:
                scans[r["srcaddr"]][0].add(r["dstport"])
            if r["dstaddr"] is not None:
                scans[r["srcaddr"]][1].add(r["dstaddr"])
    reached = {r["srcaddr"] for r in good if _listening(r) and r["interface_id"] not in nat}
    for src, (ports, addresses) in scans.items():
        if len(ports) > 1 or len(addresses) > 1:
            out["port_scan"][src].update(ports=len(ports), addresses=len(addresses), accepted=src in reached)


def findings(records: list[Record], history: list[Record]) -> Findings:
    """kind -> key -> figures, before thresholds and limits. Keys: gateway_endpoint_bypass
    (service, sender), nat_cross_az (sender, sender AZ, NAT interface, NAT AZ), aws_service_via_nat
    service, cross_az "az->az" (sorted), internet_egress interface, exposed_port (interface, port),
    port_scan address, new_external_destination address."""
    good = ok(records)
    acc = [r for r in good if r["action"] == "ACCEPT"]
    nat = nat_interfaces(acc)
    homes = _Homes(acc, nat)
    out: Findings = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    _nat_kinds(acc, homes, out)
    _cross_az(acc, homes, out)
    _internet(acc, history, nat, out)
    _exposed(good, nat, out)
    _scans(good, nat, out)
    return {k: {key: dict(v) for key, v in d.items()} for k, d in out.items()}
