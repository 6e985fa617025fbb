"""Seeded, realistic sample days of VPC Flow Logs, written as AWS delivers them to S3 as Parquet.

One VPC (10.0.0.0/16, two AZs, a public and a private subnet in each) with instances in the
private subnets, a few public instances, an internet-facing load balancer and one NAT
gateway. The day holds east-west traffic (heavy-tailed: a few pairs dominate), internet
traffic through the NAT gateway (both of its legs on its ENI), S3/DynamoDB through the NAT
gateway and through a gateway endpoint, IGW traffic from public instances, scanners being
rejected, a diurnal curve, and NODATA/SKIPDATA records. Record semantics follow the AWS VPC
user guide ("Flow log records", "Flow log record examples"); see `generate_day` for the
exact field values per ENI.

Everything is vectorised numpy, one file at a time, so 30M records a day run in bounded
memory. Each file has its own random stream derived from (seed, day, hour, file), so a file's
content depends only on those and the profile.

    python -m flowdigest.sample --out DIR --date 2024-05-14 --days 8 --records 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from flowdigest import fields

Arr = npt.NDArray[Any]

COLUMNS: tuple[str, ...] = tuple(n.replace("-", "_") for n in fields.V5_FORMAT)
SCHEMA: pa.Schema = fields.schema(COLUMNS)

# Codes used inside the generator; turned into AWS's strings when a file is written.
INGRESS, EGRESS = 0, 1
ACCEPT, REJECT = 0, 1
OK, NODATA, SKIPDATA = 0, 1, 2
_DIRECTIONS = pa.array(["ingress", "egress"])
_ACTIONS = pa.array(["ACCEPT", "REJECT"])
_STATUSES = pa.array(["OK", "NODATA", "SKIPDATA"])
_TYPES = pa.array(["IPv4", "IPv6"])
SERVICES: tuple[str, ...] = ("S3", "DYNAMODB", "EC2", "AMAZON", "CLOUDFRONT")
S3, DYNAMODB, EC2, AMAZON, CLOUDFRONT = range(5)
_SERVICES = pa.array(SERVICES)

# traffic-path codes (AWS: egress records only; 7 and 8 on Nitro instances only).
PATH_IN_VPC, PATH_IGW_OR_GWE, PATH_GATEWAY_ENDPOINT, PATH_IGW = 1, 2, 7, 8

# Public ranges AWS publishes in ip-ranges.json (us-east-1) that the sample draws from.
S3_CIDRS = ("52.216.0.0/15", "3.5.0.0/19")
DYNAMODB_CIDRS = ("3.218.180.0/22",)
EC2_CIDRS = ("3.80.0.0/12", "54.144.0.0/12", "44.192.0.0/11")
AMAZON_CIDRS = ("52.46.128.0/19", "52.119.160.0/20")
CLOUDFRONT_CIDRS = ("13.32.0.0/15", "18.160.0.0/15")

SCAN_PORTS = (22, 23, 3389, 445, 5900, 8080, 1433, 3306, 6379, 80, 25, 8443)
_SCAN_PORT_P = (0.28, 0.14, 0.14, 0.1, 0.06, 0.08, 0.04, 0.04, 0.04, 0.04, 0.02, 0.02)


@dataclass(frozen=True)
class DayProfile:
    """What a generated day contains; the switches produce the edge-case days tests need."""

    nat_traffic: bool = True  # False: no NAT gateway records at all (and nothing via it)
    rejects: bool = True  # False: no REJECT records
    gateway_endpoint: bool = True  # False: S3/DynamoDB all go through the NAT gateway
    nodata: bool = True  # False: no NODATA/SKIPDATA records
    missing_hours: tuple[int, ...] = ()  # UTC hours with no file delivered
    files_per_hour: int | None = None  # None: 2-6 by volume, as delivery does
    new_talkers: int = 0  # east-west pairs and external addresses only this day has
    # The network layout.
    account_id: str = "123456789012"
    region: str = "us-east-1"
    vpc_cidr: str = "10.0.0.0/16"
    az_ids: tuple[str, str] = ("use1-az1", "use1-az2")
    private_instances: int = 40
    # GZIP level: it does not show in the format; 1 writes ~6x faster than 9 for ~4% more bytes
    compression_level: int = 1


@dataclass(frozen=True)
class Network:
    """The generated VPC, for tests and for readers who want to know what the day holds."""

    account_id: str
    region: str
    vpc_id: str
    flow_log_id: str  # fl-...
    subnets: Mapping[str, tuple[str, str, bool]]  # subnet id -> (CIDR, AZ id, public?)
    nat_eni: str
    nat_ip: str
    nat_az: str
    alb_enis: tuple[str, ...]  # the internet-facing load balancer, one ENI per AZ
    public_instance_enis: tuple[str, ...]
    private_instance_enis: tuple[str, ...]
    non_nitro_enis: tuple[str, ...]  # report traffic_path 2 and use 600 s windows
    endpoint_az: str  # private subnet whose route table has the S3/DynamoDB gateway endpoint


# ---------------------------------------------------------------------------------------
# Layout: the network, address pool and talker populations, fixed for a seed so every day
# of a series shares them (that is what gives "new talkers" something to be new against).


@dataclass
class _Layout:
    net: Network
    pool: pa.Array  # every address the day can use; records hold indexes into it
    pool_v6: Arr  # bool per pool entry
    pool_svc: Arr  # SERVICES index per pool entry, -1 for none
    # ENI attributes as (distinct values, per-ENI index) pairs: the files' dictionaries
    eni_id: pa.Array
    instance_ids: pa.Array
    eni_instance_i: Arr  # -1 for NAT gateway / load balancer ENIs
    subnet_ids: pa.Array
    eni_subnet_i: Arr
    az_ids: pa.Array
    eni_addr: Arr  # pool index of each ENI's primary address
    eni_window: Arr  # aggregation window, s (60 Nitro, 600 otherwise)
    eni_az_i: Arr
    private: Arr  # ENI indexes of private instances
    public: Arr  # ENI indexes of public instances (0 web+IPv6, 1 bastion, 2 web, 3 legacy)
    nat: int
    albs: Arr
    backends: Arr  # load balancer targets (port 8080)
    v6_addr: int  # pool index of public instance 0's IPv6 address
    # east-west pairs, by rank
    pair_c: Arr
    pair_s: Arr
    pair_port: Arr
    pair_proto: Arr
    pair_req: Arr
    pair_resp: Arr
    pair_cdf: Arr
    pair_rows: float  # records per east-west conversation (one-way UDP pairs have 2)
    novel_pairs: Arr  # (k, 2) client/server ENI pairs used only on new-talker days
    novel_ports: Arr
    # internet destinations through the NAT gateway / IGW
    dest: Arr
    dest_port: Arr
    dest_proto: Arr
    dest_scale: Arr
    dest_cdf: Arr
    novel_dest: Arr
    v6_dest: Arr
    s3: Arr
    ddb: Arr
    client_cdf: Arr  # which private instance talks to the internet / S3
    scanners: Arr
    scanner_cdf: Arr
    web_clients: Arr
    web_cdf: Arr
    office: Arr


def _hex17(rng: np.random.Generator, prefix: str) -> str:
    # Current AWS resource ids: 17 hex digits, in practice starting with 0.
    return f"{prefix}-0{int(rng.integers(0, 2**62)):016x}"


def _zipf_cdf(n: int, s: float) -> Arr:
    w = 1.0 / np.arange(1, n + 1) ** s
    c: Arr = np.cumsum(w / w.sum())
    c[-1] = 1.0
    return c


def _pick(rng: np.random.Generator, cdf: Arr, n: int) -> Arr:
    out: Arr = np.searchsorted(cdf, rng.random(n), side="right")
    return np.minimum(out, len(cdf) - 1)


def _ipv4(ints: Arr) -> list[str]:
    return [f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}" for a in ints.tolist()]


def _hosts_in(rng: np.random.Generator, cidrs: tuple[str, ...], n: int) -> Arr:
    nets = [ipaddress.IPv4Network(c) for c in cidrs]
    which = rng.integers(0, len(nets), n)
    base = np.array([int(x.network_address) for x in nets], dtype=np.int64)[which]
    size = np.array([x.num_addresses for x in nets], dtype=np.int64)[which]
    out: Arr = base + 1 + (rng.random(n) * (size - 2)).astype(np.int64)
    return _unique_keep_order(out)


def _unique_keep_order(a: Arr) -> Arr:
    _, first = np.unique(a, return_index=True)
    out: Arr = a[np.sort(first)]
    return out


_RESERVED = [ipaddress.IPv4Network(c) for c in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24",
)]
# First octets mostly announced by AWS: random "internet" addresses avoid them, so only the
# addresses drawn from the published ranges above carry a pkt-*-aws-service.
_AWS_OCTETS = (3, 13, 15, 18, 34, 35, 44, 50, 52, 54, 99)


def _internet_ipv4(rng: np.random.Generator, n: int) -> Arr:
    got: list[Arr] = []
    have = 0
    while have < n:
        c = rng.integers(1 << 24, 224 << 24, size=2 * n + 16, dtype=np.int64)
        ok = ~np.isin(c >> 24, _AWS_OCTETS)
        for net in _RESERVED:
            shift = 32 - net.prefixlen
            ok &= (c >> shift) != (int(net.network_address) >> shift)
        got.append(c[ok])
        have += int(ok.sum())
    return _unique_keep_order(np.concatenate(got))[:n]


# Roles of private instances, cycled: clients call servers on the role's port.
_ROLE_CYCLE = ("app", "app", "api", "db", "app", "cache", "api", "kafka", "app", "batch",
               "app", "api", "db", "cache", "app", "kafka", "search", "api", "metrics", "app")
_ROLE_PORT = {"api": (8443, 6), "db": (5432, 6), "cache": (6379, 6), "kafka": (9092, 6),
              "search": (9200, 6), "metrics": (8125, 17), "app": (8080, 6), "batch": (8080, 6)}
_CALLS = {"app": ("api", "db", "cache", "kafka", "search", "metrics"),
          "api": ("db", "cache", "kafka", "search", "metrics"),
          "batch": ("db", "kafka", "search", "api"),
          "kafka": ("kafka",), "db": ("db",)}


def _network_key(p: DayProfile) -> tuple[Any, ...]:
    return (p.account_id, p.region, p.vpc_cidr, p.az_ids, p.private_instances)


@lru_cache(maxsize=4)
def _layout(seed: int, key: tuple[Any, ...]) -> _Layout:
    account_id, region, vpc_cidr, az_ids, n_priv = key
    if n_priv < 12:
        raise ValueError("private_instances must be at least 12")
    rng = np.random.default_rng([seed, 0x1A40])
    vpc = ipaddress.IPv4Network(vpc_cidr)
    if vpc.prefixlen > 20:
        raise ValueError("vpc_cidr must be /20 or larger")
    blocks = list(vpc.subnets(new_prefix=vpc.prefixlen + 4))
    # Public subnets first in the range, private ones from its middle (10.0.128.0/18 here).
    cidrs = [blocks[0], blocks[1], blocks[8], blocks[9]]
    subnet_ids = [_hex17(rng, "subnet") for _ in cidrs]
    vpc_id, flow_log_id = _hex17(rng, "vpc"), _hex17(rng, "fl")

    used: dict[int, set[int]] = {i: set() for i in range(4)}

    def host(sub: int) -> int:
        net = cidrs[sub]
        while True:  # AWS reserves the first four and the last address of a subnet
            off = int(rng.integers(4, min(net.num_addresses - 1, 4000)))
            if off not in used[sub]:
                used[sub].add(off)
                return int(net.network_address) + off

    eni_rows: list[tuple[str, str | None, int, int, int, int]] = []  # eni, inst, subnet, az, ip, win
    for i in range(n_priv):
        az = i % 2
        eni_rows.append((_hex17(rng, "eni"), _hex17(rng, "i"), 2 + az, az, host(2 + az), 60))
    n_pub = 4
    for j in range(n_pub):
        az = j % 2
        eni_rows.append((_hex17(rng, "eni"), _hex17(rng, "i"), az, az, host(az), 60))
    eni_rows.append((_hex17(rng, "eni"), None, 0, 0, host(0), 60))  # NAT gateway in az1
    for az in (0, 1):
        eni_rows.append((_hex17(rng, "eni"), None, az, az, host(az), 60))  # load balancer

    private = np.arange(n_priv)
    public = np.arange(n_priv, n_priv + n_pub)
    nat = n_priv + n_pub
    albs = np.array([nat + 1, nat + 2])
    roles = [_ROLE_CYCLE[i % len(_ROLE_CYCLE)] for i in range(n_priv)]
    # Older instance families (non-Nitro): two batch/app boxes in az1 and the legacy public host.
    non_nitro = [i for i in range(n_priv) if roles[i] in ("batch", "app") and i % 2 == 0][-2:]
    non_nitro.append(int(public[3]))
    windows = np.array([r[5] for r in eni_rows], dtype=np.int64)
    windows[non_nitro] = 600

    # The address pool: ENIs, then external populations.
    addrs: list[str] = [_ipv4(np.array([r[4]]))[0] for r in eni_rows]
    svc: list[int] = [-1] * len(addrs)
    v6: list[bool] = [False] * len(addrs)

    def add(strs: list[str], service: int = -1, is_v6: bool = False) -> Arr:
        start = len(addrs)
        addrs.extend(strs)
        svc.extend([service] * len(strs))
        v6.extend([is_v6] * len(strs))
        return np.arange(start, len(addrs))

    v6_prefix = f"2600:1f18:{int(rng.integers(0x100, 0xfff)):x}:{int(rng.integers(0, 0xff)):x}00"
    v6_addr = int(add([f"{v6_prefix}:{_v6_tail(rng)}"], is_v6=True)[0])
    generic = _internet_ipv4(rng, 400 + 32 + 20000 + 18000 + 3)
    dest = add(_ipv4(generic[:340]))
    dest = np.concatenate([dest, add(_ipv4(_hosts_in(rng, AMAZON_CIDRS, 30)), AMAZON),
                           add(_ipv4(_hosts_in(rng, CLOUDFRONT_CIDRS, 30)), CLOUDFRONT)])
    dest = rng.permutation(dest)
    novel_dest = add(_ipv4(generic[400:432]))
    scanners = np.concatenate([add(_ipv4(generic[432:20432])),
                               add(_ipv4(_hosts_in(rng, EC2_CIDRS, 2000)), EC2)])
    scanners = rng.permutation(scanners)
    web_clients = add(_ipv4(generic[20432:38432]))
    office = add(_ipv4(generic[38432:38435]))
    s3 = add(_ipv4(_hosts_in(rng, S3_CIDRS, 48)), S3)
    ddb = add(_ipv4(_hosts_in(rng, DYNAMODB_CIDRS, 12)), DYNAMODB)
    v6_dest = add([f"2606:4700:{int(rng.integers(0, 0xffff)):x}::{int(rng.integers(1, 0xffff)):x}"
                   for _ in range(40)], is_v6=True)

    # East-west pairs: role-driven, ranked; frequency is Zipf and per-window size Pareto, so
    # the bytes per pair are heavy-tailed and a handful of pairs dominate.
    by_role: dict[str, list[int]] = {}
    for i, r in enumerate(roles):
        by_role.setdefault(r, []).append(i)
    seen: set[tuple[int, int]] = set()
    pc_: list[int] = []
    ps_: list[int] = []
    pp_: list[int] = []
    pr_: list[int] = []
    clients = [i for i in range(n_priv) if roles[i] in _CALLS]
    attempts = 0
    while len(pc_) < 300 and attempts < 20000:
        attempts += 1
        c = int(rng.choice(clients))
        callee = str(rng.choice(_CALLS[roles[c]]))
        s = int(rng.choice(by_role[callee]))
        if s == c or (c, s) in seen:
            continue
        seen.add((c, s))
        port, proto = _ROLE_PORT[callee]
        pc_.append(c)
        ps_.append(s)
        pp_.append(port)
        pr_.append(proto)
    pair_c, pair_s = np.array(pc_), np.array(ps_)
    cross = (pair_c % 2) != (pair_s % 2)
    if not cross[0]:  # the top talker pair crosses AZs: it is what the cost line is about
        j = int(np.argmax(cross))
        for a in (pair_c, pair_s):
            a[[0, j]] = a[[j, 0]]
        pp_[0], pp_[j] = pp_[j], pp_[0]
        pr_[0], pr_[j] = pr_[j], pr_[0]
    n_pairs = len(pair_c)
    scale = np.sort(40_000 * (1 + rng.pareto(1.1, n_pairs)))[::-1]
    scale = np.minimum(scale, 400e6)
    ratio = np.exp(rng.normal(0.8, 1.2, n_pairs))  # response/request; most pairs download
    pair_req = scale / np.sqrt(ratio)
    pair_resp = scale * np.sqrt(ratio)
    proto_arr = np.array(pr_)
    pair_resp[proto_arr == 17] = 0  # statsd: one-way UDP

    pair_cdf = _zipf_cdf(n_pairs, 1.0)
    novel: list[tuple[int, int]] = []
    novel_ports: list[int] = []
    for c in rng.permutation(clients).tolist():
        for callee in ("db", "cache", "search", "api"):
            s = int(rng.choice(by_role[callee]))
            # new in either direction, so no earlier day has the pair at all
            if s != c and not {(c, s), (s, c)} & (seen | set(novel)):
                novel.append((c, s))
                novel_ports.append(_ROLE_PORT[callee][0])
                break
        if len(novel) >= 16:
            break

    n_dest = len(dest)
    dest_port = rng.choice([443, 80, 22, 123], n_dest, p=[0.85, 0.07, 0.03, 0.05])
    dest_proto = np.where(dest_port == 123, 17, 6)
    dest_scale = 100_000 * (1 + rng.pareto(1.3, n_dest))
    dest_scale[dest_port == 123] = 76

    # S3 clients: Zipf over private instances, with a non-Nitro one among the busiest so the
    # ambiguous traffic_path 2 shows up.
    order = list(rng.permutation(n_priv))
    order.remove(non_nitro[0])
    order.insert(2, non_nitro[0])
    weights = np.empty(n_priv)
    weights[order] = 1.0 / np.arange(1, n_priv + 1) ** 1.1
    client_cdf = np.cumsum(weights / weights.sum())
    client_cdf[-1] = 1.0

    with_instance = [k for k, r in enumerate(eni_rows) if r[1]]
    instance_i = np.full(len(eni_rows), -1)
    instance_i[with_instance] = np.arange(len(with_instance))
    net = Network(
        account_id=account_id,
        region=region,
        vpc_id=vpc_id,
        flow_log_id=flow_log_id,
        subnets={sid: (str(cidrs[k]), az_ids[k % 2], k < 2) for k, sid in enumerate(subnet_ids)},
        nat_eni=eni_rows[nat][0],
        nat_ip=addrs[nat],
        nat_az=az_ids[0],
        alb_enis=tuple(eni_rows[a][0] for a in albs),
        public_instance_enis=tuple(eni_rows[p][0] for p in public),
        private_instance_enis=tuple(eni_rows[p][0] for p in private),
        non_nitro_enis=tuple(eni_rows[i][0] for i in non_nitro),
        endpoint_az=az_ids[0],
    )
    return _Layout(
        net=net,
        pool=pa.array(addrs, pa.string()),
        pool_v6=np.array(v6),
        pool_svc=np.array(svc, dtype=np.int8),
        eni_id=pa.array([r[0] for r in eni_rows], pa.string()),
        instance_ids=pa.array([r[1] for r in eni_rows if r[1]], pa.string()),
        eni_instance_i=instance_i,
        subnet_ids=pa.array(subnet_ids, pa.string()),
        eni_subnet_i=np.array([r[2] for r in eni_rows]),
        az_ids=pa.array(list(az_ids), pa.string()),
        eni_addr=np.arange(len(eni_rows)),
        eni_window=windows,
        eni_az_i=np.array([r[3] for r in eni_rows]),
        private=private,
        public=public,
        nat=nat,
        albs=albs,
        backends=np.array([i for i in range(n_priv) if roles[i] == "app"][:6]),
        v6_addr=v6_addr,
        pair_c=pair_c,
        pair_s=pair_s,
        pair_port=np.array(pp_),
        pair_proto=proto_arr,
        pair_req=pair_req,
        pair_resp=pair_resp,
        pair_cdf=pair_cdf,
        pair_rows=4.0 - 2.0 * float(np.diff(pair_cdf, prepend=0.0)[proto_arr == 17].sum()),
        novel_pairs=np.array(novel).reshape(-1, 2),
        novel_ports=np.array(novel_ports),
        dest=dest,
        dest_port=dest_port,
        dest_proto=dest_proto,
        dest_scale=dest_scale,
        dest_cdf=_zipf_cdf(n_dest, 1.0),
        novel_dest=novel_dest,
        v6_dest=v6_dest,
        s3=s3,
        ddb=ddb,
        client_cdf=client_cdf,
        scanners=scanners,
        scanner_cdf=_zipf_cdf(len(scanners), 0.9),
        web_clients=web_clients,
        web_cdf=_zipf_cdf(len(web_clients), 0.6),
        office=office,
    )


def _v6_tail(rng: np.random.Generator) -> str:
    return ":".join(f"{int(x):x}" for x in rng.integers(0, 0xFFFF, 4))


def network(seed: int = 0, profile: DayProfile | None = None) -> Network:
    """The VPC a seed generates (the same for every day of a series)."""
    return _layout(seed, _network_key(profile or DayProfile())).net


# ---------------------------------------------------------------------------------------
# Records. A block is a dict of equal-length numpy columns; -1 means null (AWS writes '-').

_BLOCK: dict[str, tuple[type, int]] = {
    "eni": (np.int32, -1), "src": (np.int32, -1), "dst": (np.int32, -1),
    "psrc": (np.int32, -1), "pdst": (np.int32, -1), "sport": (np.int32, -1),
    "dport": (np.int32, -1), "proto": (np.int32, -1), "packets": (np.int64, -1),
    "bytes": (np.int64, -1), "start": (np.int64, -1), "end": (np.int64, -1),
    "action": (np.int8, ACCEPT), "status": (np.int8, OK), "flags": (np.int32, -1),
    "dir": (np.int8, -1), "path": (np.int32, -1),
}
Block = dict[str, Arr]


def _legs(n: int, legs: list[dict[str, Any]]) -> Block:
    """Interleave per-conversation legs: row i*k+j is leg j of conversation i."""
    k = len(legs)
    out: Block = {}
    for name, (dtype, default) in _BLOCK.items():
        a: Arr = np.empty((n, k), dtype=dtype)
        for j, leg in enumerate(legs):
            a[:, j] = leg.get(name, default)
        out[name] = a.reshape(-1)
    return out


@dataclass
class _Ctx:
    rng: np.random.Generator
    lay: _Layout
    t0: int  # the file's slice of the hour, [t0, t1)
    t1: int
    day_start: int
    nat: bool = True  # the VPC has a NAT gateway (its ENI can be scanned, skip data, ...)


def _times(ctx: _Ctx, n: int) -> tuple[Arr, Arr]:
    end = ctx.rng.integers(ctx.t0, ctx.t1, n)
    frac = ctx.rng.random(n)
    return end, frac


def _start(ctx: _Ctx, end: Arr, frac: Arr, eni: Arr | int) -> Arr:
    # first packet within the ENI's aggregation window (60 s Nitro, up to 600 s otherwise)
    win = ctx.lay.eni_window[eni]
    out: Arr = np.maximum(end - (frac * (win - 1)).astype(np.int64), ctx.day_start)
    return out


def _packets(rng: np.random.Generator, nbytes: Arr, proto: Arr) -> tuple[Arr, Arr]:
    size = np.where(proto == 17, rng.integers(60, 300, len(nbytes)), rng.integers(300, 1400, len(nbytes)))
    packets = np.maximum(1, np.ceil(nbytes / size)).astype(np.int64)
    return packets, np.maximum(nbytes.astype(np.int64), 40 * packets)


def _sizes(rng: np.random.Generator, scale: Arr) -> Arr:
    out: Arr = np.minimum(scale * rng.lognormal(0.0, 1.0, len(scale)), 5e9).astype(np.int64)
    return out


def _flags(rng: np.random.Generator, proto: Arr) -> tuple[Arr, Arr]:
    # FIN 1, SYN 2, SYN-ACK 18 (AWS reports these OR-ed, no ACK); mid-flow windows show 0.
    c = rng.choice(np.array([0, 2, 1, 3]), len(proto), p=[0.35, 0.15, 0.15, 0.35])
    s = np.where(c & 2, c | 16, c)
    tcp = proto == 6
    return np.where(tcp, c, 0), np.where(tcp, s, 0)


def _ephemeral(rng: np.random.Generator, n: int) -> Arr:
    return rng.integers(32768, 61000, n)


def _internal(ctx: _Ctx, c: Arr, s: Arr, port: Arr, proto: Arr, req: Arr, resp: Arr) -> Block:
    """Instance to instance in the VPC: each direction on both ENIs."""
    n, rng, lay = len(c), ctx.rng, ctx.lay
    end, frac = _times(ctx, n)
    ca, sa = lay.eni_addr[c], lay.eni_addr[s]
    cport = _ephemeral(rng, n)
    qp, qb = _packets(rng, req, proto)
    rp, rb = _packets(rng, resp, proto)
    cf, sf = _flags(rng, proto)
    fwd = dict(src=ca, dst=sa, psrc=ca, pdst=sa, sport=cport, dport=port, proto=proto,
               packets=qp, bytes=qb, flags=cf, end=end)
    back = dict(src=sa, dst=ca, psrc=sa, pdst=ca, sport=port, dport=cport, proto=proto,
                packets=rp, bytes=rb, flags=sf, end=end)
    legs = [
        {**fwd, "eni": c, "dir": EGRESS, "path": PATH_IN_VPC, "start": _start(ctx, end, frac, c)},
        {**fwd, "eni": s, "dir": INGRESS, "start": _start(ctx, end, frac, s)},
        {**back, "eni": s, "dir": EGRESS, "path": PATH_IN_VPC, "start": _start(ctx, end, frac, s)},
        {**back, "eni": c, "dir": INGRESS, "start": _start(ctx, end, frac, c)},
    ]
    b = _legs(n, legs)
    one_way = np.repeat(resp == 0, 4) & np.tile(np.array([False, False, True, True]), n)
    return _drop(b, one_way)


def _drop(b: Block, mask: Arr) -> Block:
    if not mask.any():
        return b
    keep = ~mask
    return {k: v[keep] for k, v in b.items()}


def _via_nat(ctx: _Ctx, c: Arr, ext: Arr, port: Arr, proto: Arr, req: Arr, resp: Arr) -> Block:
    """Private instance to a public address through the NAT gateway (AWS's documented legs)."""
    n, rng, lay = len(c), ctx.rng, ctx.lay
    end, frac = _times(ctx, n)
    i, nat = lay.eni_addr[c], lay.eni_addr[lay.nat]
    cport = _ephemeral(rng, n)
    nport = rng.integers(1024, 65536, n)  # the NAT gateway translates the source port too
    qp, qb = _packets(rng, req, proto)
    rp, rb = _packets(rng, resp, proto)
    cf, sf = _flags(rng, proto)
    st_i, st_n = _start(ctx, end, frac, c), _start(ctx, end, frac, lay.nat)
    q = dict(proto=proto, packets=qp, bytes=qb, flags=cf, end=end)
    r = dict(proto=proto, packets=rp, bytes=rb, flags=sf, end=end)
    legs = [
        # instance ENI: sees the public address directly; the NAT gateway is "another resource"
        {**q, "eni": c, "dir": EGRESS, "path": PATH_IN_VPC, "start": st_i,
         "src": i, "dst": ext, "psrc": i, "pdst": ext, "sport": cport, "dport": port},
        {**r, "eni": c, "dir": INGRESS, "start": st_i,
         "src": ext, "dst": i, "psrc": ext, "pdst": i, "sport": port, "dport": cport},
        # NAT ENI, private leg in: addressed to the NAT gateway, packet bound for the public host
        {**q, "eni": lay.nat, "dir": INGRESS, "start": st_n,
         "src": i, "dst": nat, "psrc": i, "pdst": ext, "sport": cport, "dport": port},
        # NAT ENI, public leg out to the internet gateway
        {**q, "eni": lay.nat, "dir": EGRESS, "path": PATH_IGW, "start": st_n,
         "src": nat, "dst": ext, "psrc": nat, "pdst": ext, "sport": nport, "dport": port},
        # NAT ENI, public leg response in
        {**r, "eni": lay.nat, "dir": INGRESS, "start": st_n,
         "src": ext, "dst": nat, "psrc": ext, "pdst": nat, "sport": port, "dport": nport},
        # NAT ENI, private leg response out to the instance
        {**r, "eni": lay.nat, "dir": EGRESS, "path": PATH_IN_VPC, "start": st_n,
         "src": nat, "dst": i, "psrc": ext, "pdst": i, "sport": port, "dport": cport},
    ]
    return _legs(n, legs)


def _direct(ctx: _Ctx, eni: Arr, ext: Arr, port: Arr, proto: Arr, req: Arr, resp: Arr,
            path: Arr, inbound: Arr | bool = False) -> Block:
    """An ENI talking straight to an outside address (gateway endpoint, internet gateway).

    inbound: the outside address opened the connection (to `port` on the ENI).
    """
    n, rng, lay = len(eni), ctx.rng, ctx.lay
    end, frac = _times(ctx, n)
    a = lay.eni_addr[eni].copy()
    v6 = lay.pool_v6[ext]
    a[v6] = lay.v6_addr
    eport = _ephemeral(rng, n)
    inbound = np.broadcast_to(np.asarray(inbound), (n,))
    # ports on the ENI / on the outside address
    my_port = np.where(inbound, port, eport)
    far_port = np.where(inbound, eport, port)
    qp, qb = _packets(rng, req, proto)
    rp, rb = _packets(rng, resp, proto)
    cf, sf = _flags(rng, proto)
    out_p, out_b, out_f = np.where(inbound, rp, qp), np.where(inbound, rb, qb), np.where(inbound, sf, cf)
    in_p, in_b, in_f = np.where(inbound, qp, rp), np.where(inbound, qb, rb), np.where(inbound, cf, sf)
    st = _start(ctx, end, frac, eni)
    legs = [
        {"eni": eni, "dir": EGRESS, "path": path, "start": st, "end": end, "proto": proto,
         "src": a, "dst": ext, "psrc": a, "pdst": ext, "sport": my_port, "dport": far_port,
         "packets": out_p, "bytes": out_b, "flags": out_f},
        {"eni": eni, "dir": INGRESS, "start": st, "end": end, "proto": proto,
         "src": ext, "dst": a, "psrc": ext, "pdst": a, "sport": far_port, "dport": my_port,
         "packets": in_p, "bytes": in_b, "flags": in_f},
    ]
    return _legs(n, legs)


# --- the categories ----------------------------------------------------------------------

def _east_west(ctx: _Ctx, n: int) -> Block:
    lay, rng = ctx.lay, ctx.rng
    k = _pick(rng, lay.pair_cdf, n)
    return _internal(ctx, lay.pair_c[k], lay.pair_s[k], lay.pair_port[k], lay.pair_proto[k],
                     _sizes(rng, lay.pair_req[k]), _sizes(rng, lay.pair_resp[k]))


def _east_west_rejected(ctx: _Ctx, n: int) -> Block:
    """A security group that forgot one client: SYNs leave (ACCEPT) and are dropped on arrival."""
    lay, rng = ctx.lay, ctx.rng
    k = rng.integers(len(lay.pair_c) - 3, len(lay.pair_c), n)  # three quiet pairs
    c, s = lay.pair_c[k], lay.pair_s[k]
    end, frac = _times(ctx, n)
    ca, sa = lay.eni_addr[c], lay.eni_addr[s]
    pk = rng.integers(1, 4, n)
    base = dict(src=ca, dst=sa, psrc=ca, pdst=sa, sport=_ephemeral(rng, n), dport=lay.pair_port[k],
                proto=6, packets=pk, bytes=60 * pk, flags=2, end=end)
    return _legs(n, [
        {**base, "eni": c, "dir": EGRESS, "path": PATH_IN_VPC, "start": _start(ctx, end, frac, c)},
        {**base, "eni": s, "dir": INGRESS, "action": REJECT, "start": _start(ctx, end, frac, s)},
    ])


def _web(ctx: _Ctx, n: int) -> Block:
    """HTTPS clients -> load balancer ENI (443) -> backend instance (8080)."""
    lay, rng = ctx.lay, ctx.rng
    client = lay.web_clients[_pick(rng, lay.web_cdf, n)]
    alb = lay.albs[rng.integers(0, len(lay.albs), n)]
    req = _sizes(rng, np.full(n, 2_000.0))
    resp = _sizes(rng, np.full(n, 60_000.0))
    front = _direct(ctx, alb, client, np.full(n, 443), np.full(n, 6), req, resp,
                    path=np.full(n, PATH_IGW), inbound=True)
    be = lay.backends[rng.integers(0, len(lay.backends), n)]
    back = _internal(ctx, alb, be, np.full(n, 8080), np.full(n, 6), req, resp)
    return {k: np.concatenate([front[k], back[k]]) for k in _BLOCK}


def _nat_internet(ctx: _Ctx, n: int) -> Block:
    lay, rng = ctx.lay, ctx.rng
    c = lay.private[_pick(rng, lay.client_cdf, n)]
    d = _pick(rng, lay.dest_cdf, n)
    resp = _sizes(rng, lay.dest_scale[d])
    req = _sizes(rng, np.maximum(lay.dest_scale[d] / 20, 76))
    return _via_nat(ctx, c, lay.dest[d], lay.dest_port[d], lay.dest_proto[d], req, resp)


def _aws_dest(ctx: _Ctx, n: int) -> tuple[Arr, Arr, Arr]:
    lay, rng = ctx.lay, ctx.rng
    is_ddb = rng.random(n) < 0.25
    ext = np.where(is_ddb, lay.ddb[rng.integers(0, len(lay.ddb), n)], lay.s3[rng.integers(0, len(lay.s3), n)])
    # S3 GETs dominate; DynamoDB items are small
    resp = _sizes(rng, np.where(is_ddb, 6_000.0, 6_000_000.0))
    req = _sizes(rng, np.where(is_ddb, 1_500.0, 40_000.0))
    return ext, req, resp


def _aws_clients(ctx: _Ctx, n: int, az: int | None) -> Arr:
    lay = ctx.lay
    c = lay.private[_pick(ctx.rng, lay.client_cdf, n)]
    if az is not None:  # keep the client in the given AZ: move it to its neighbour
        wrong = lay.eni_az_i[c] != az
        c = np.where(wrong, np.where(c + 1 < len(lay.private), c + 1, c - 1), c)
    out: Arr = c
    return out


def _aws_via_nat(ctx: _Ctx, n: int, only_az: int | None) -> Block:
    c = _aws_clients(ctx, n, only_az)
    ext, req, resp = _aws_dest(ctx, n)
    return _via_nat(ctx, c, ext, np.full(n, 443), np.full(n, 6), req, resp)


def _aws_via_endpoint(ctx: _Ctx, n: int, only_az: int | None) -> Block:
    lay = ctx.lay
    c = _aws_clients(ctx, n, only_az)
    ext, req, resp = _aws_dest(ctx, n)
    path = np.where(lay.eni_window[c] == 600, PATH_IGW_OR_GWE, PATH_GATEWAY_ENDPOINT)
    return _direct(ctx, c, ext, np.full(n, 443), np.full(n, 6), req, resp, path)


def _public_igw(ctx: _Ctx, n: int) -> Block:
    """Public-subnet instances: outbound through the internet gateway, SSH in to the bastion."""
    lay, rng = ctx.lay, ctx.rng
    which = rng.integers(0, len(lay.public), n)
    eni = lay.public[which]
    d = _pick(rng, lay.dest_cdf, n)
    ext, port, proto = lay.dest[d].copy(), lay.dest_port[d].copy(), lay.dest_proto[d].copy()
    v6 = (which == 0) & (rng.random(n) < 0.3)
    ext[v6] = lay.v6_dest[rng.integers(0, len(lay.v6_dest), int(v6.sum()))]
    port[v6], proto[v6] = 443, 6
    ssh = (which == 1) & (rng.random(n) < 0.5)
    ext[ssh] = lay.office[rng.integers(0, len(lay.office), int(ssh.sum()))]
    port[ssh], proto[ssh] = 22, 6
    scale = np.where(ssh, 30_000.0, lay.dest_scale[d])
    path = np.where(lay.eni_window[eni] == 600, PATH_IGW_OR_GWE, PATH_IGW)
    return _direct(ctx, eni, ext, port, proto, _sizes(rng, scale / 10), _sizes(rng, scale), path,
                   inbound=ssh)


def _scanners(ctx: _Ctx, n: int) -> Block:
    """Internet background noise on public ENIs, dropped by security groups."""
    lay, rng = ctx.lay, ctx.rng
    src = lay.scanners[_pick(rng, lay.scanner_cdf, n)]
    targets = np.concatenate([[lay.nat] if ctx.nat else [], lay.albs, lay.public]).astype(np.int64)
    w = np.array(([0.3] if ctx.nat else []) + [0.15, 0.15] + [0.1] * len(lay.public))
    eni = targets[np.minimum(np.searchsorted(np.cumsum(w / w.sum()), rng.random(n)), len(targets) - 1)]
    dport = np.asarray(SCAN_PORTS)[_pick(rng, np.cumsum(_SCAN_PORT_P), n)]
    kind = rng.random(n)
    proto = np.where(kind < 0.05, 1, np.where(kind < 0.08, 17, 6))
    udp_port = np.array([161, 1900, 5060, 123])[rng.integers(0, 4, n)]
    dport = np.where(proto == 1, 0, np.where(proto == 17, udp_port, dport))
    sport = np.where(proto == 1, 0, rng.integers(1024, 65536, n))
    pk = rng.choice(np.array([1, 1, 1, 2, 3]), n)
    per = np.where(proto == 6, rng.choice(np.array([40, 44, 60]), n), np.where(proto == 1, 84, 72))
    end = ctx.rng.integers(ctx.t0, ctx.t1, n)
    start = np.maximum(end - rng.integers(0, 6, n) * (pk > 1), ctx.day_start)
    a = lay.eni_addr[eni]
    return _legs(n, [{"eni": eni, "dir": INGRESS, "action": REJECT, "src": src, "dst": a, "psrc": src,
                      "pdst": a, "sport": sport, "dport": dport, "proto": proto, "packets": pk,
                      "bytes": pk * per, "flags": np.where(proto == 6, 2, 0), "start": start, "end": end}])


def _no_data(ctx: _Ctx, n: int, force_skip: bool) -> Block:
    """NODATA on idle ENIs, SKIPDATA (capacity exceeded) on the busiest ones."""
    lay, rng = ctx.lay, ctx.rng
    skip = rng.random(n) < 0.2
    if force_skip and n:
        skip[0] = True
    busy = np.concatenate([[lay.nat] if ctx.nat else [], lay.pair_c[:3]]).astype(np.int64)
    eni = np.where(skip, busy[rng.integers(0, len(busy), n)],
                   lay.private[rng.integers(len(lay.private) // 2, len(lay.private), n)])
    # the window closes inside the file's slice, like every other record's
    end = rng.integers(ctx.t0, ctx.t1, n)
    start = np.maximum(end - lay.eni_window[eni] + 1 + rng.integers(0, 3, n), ctx.day_start)
    return _legs(n, [{"eni": eni, "status": np.where(skip, SKIPDATA, NODATA), "action": -1,
                      "start": start, "end": end}])


# ---------------------------------------------------------------------------------------
# The day plan: rows per category per hour, shaped by a diurnal curve.

# name, records per conversation, share of the day's records, follows business hours
_CATEGORIES: tuple[tuple[str, int, float, bool], ...] = (
    ("east_west", 4, 0.40, True),
    ("east_west_rejected", 2, 0.01, True),
    ("web", 6, 0.12, True),
    ("nat_internet", 6, 0.12, True),
    ("aws_via_nat", 6, 0.05, True),
    ("aws_via_endpoint", 2, 0.10, True),
    ("public_igw", 2, 0.04, True),
    ("scanners", 1, 0.15, False),
    ("no_data", 1, 0.001, False),
)


def _diurnal(hours: Arr) -> Arr:
    # low at night UTC, peak mid-afternoon UTC (US business hours)
    out: Arr = 0.2 + 0.8 * np.exp(-0.5 * ((hours - 15.0) / 4.0) ** 2)
    return out


def _shares(p: DayProfile) -> dict[str, float]:
    s = {name: share for name, _, share, _ in _CATEGORIES}
    if not p.gateway_endpoint:
        s["aws_via_nat"] += s["aws_via_endpoint"]
        s["aws_via_endpoint"] = 0.0
    if not p.nat_traffic:
        s["aws_via_endpoint"] += s["aws_via_nat"]
        s["aws_via_nat"] = s["nat_internet"] = 0.0
        if not p.gateway_endpoint:
            s["aws_via_endpoint"] = 0.0
    if not p.rejects:
        s["scanners"] = s["east_west_rejected"] = 0.0
    if not p.nodata:
        s["no_data"] = 0.0
    total = sum(s.values())
    return {k: v / total for k, v in s.items()}


def _round(rng: np.random.Generator, x: float) -> int:
    # stochastic rounding keeps small days' expected counts right
    f = math.floor(x)
    return f + int(rng.random() < x - f)


def _file_block(ctx: _Ctx, p: DayProfile, conv: dict[str, int], novel: bool, force_skip: bool) -> Block:
    # Without the endpoint route the S3 traffic of the other AZ's subnet goes through NAT.
    nat_az = 1 if (p.gateway_endpoint and p.nat_traffic) else None
    gwe_az = 0 if (p.gateway_endpoint and p.nat_traffic) else None
    blocks: list[Block] = []
    for name, n in conv.items():
        if n <= 0 and not (name == "no_data" and force_skip):
            continue
        if name == "east_west":
            blocks.append(_east_west(ctx, n))
        elif name == "east_west_rejected":
            blocks.append(_east_west_rejected(ctx, n))
        elif name == "web":
            blocks.append(_web(ctx, n))
        elif name == "nat_internet":
            blocks.append(_nat_internet(ctx, n))
        elif name == "aws_via_nat":
            blocks.append(_aws_via_nat(ctx, n, nat_az))
        elif name == "aws_via_endpoint":
            blocks.append(_aws_via_endpoint(ctx, n, gwe_az))
        elif name == "public_igw":
            blocks.append(_public_igw(ctx, n))
        elif name == "scanners":
            blocks.append(_scanners(ctx, n))
        elif name == "no_data":
            blocks.append(_no_data(ctx, max(n, int(force_skip)), force_skip))
    if novel:
        blocks.extend(_novel(ctx, p))
    return {k: np.concatenate([b[k] for b in blocks]) for k in _BLOCK}


def _novel(ctx: _Ctx, p: DayProfile) -> list[Block]:
    """Talkers only a new-talker day has: new east-west pairs and new external addresses."""
    lay, rng = ctx.lay, ctx.rng
    k = min(p.new_talkers, len(lay.novel_pairs), len(lay.novel_dest))
    reps = 1 + rng.poisson(2, k)
    idx = np.repeat(np.arange(k), reps)
    n = len(idx)
    pairs = lay.novel_pairs[idx]
    port = lay.novel_ports[idx]
    big = np.full(n, float(np.median(lay.pair_req[:20])))
    out = [_internal(ctx, pairs[:, 0], pairs[:, 1], port, np.full(n, 6), _sizes(rng, big),
                     _sizes(rng, 4 * big))]
    c = lay.private[_pick(rng, lay.client_cdf, n)]
    ext = lay.novel_dest[idx]
    req, resp = _sizes(rng, np.full(n, 50_000.0)), _sizes(rng, np.full(n, 5_000_000.0))
    if p.nat_traffic:
        out.append(_via_nat(ctx, c, ext, np.full(n, 443), np.full(n, 6), req, resp))
    else:
        pub = lay.public[np.zeros(n, dtype=np.int64) + 2]
        out.append(_direct(ctx, pub, ext, np.full(n, 443), np.full(n, 6), req, resp,
                           np.full(n, PATH_IGW)))
    return out


def _dict(vocab: pa.Array, codes: Arr) -> pa.DictionaryArray:
    m = codes < 0
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=m if m.any() else None), vocab)


def _table(b: Block, lay: _Layout, account_id: str, region: str) -> pa.Table:
    """The file's Arrow table. String columns are dictionary arrays: the Parquet writer then
    skips hashing millions of strings (written with store_schema=False they read back as
    plain strings, exactly `SCHEMA`)."""
    order = np.argsort(b["end"], kind="stable")
    b = {k: v[order] for k, v in b.items()}
    n = len(order)

    def ints(name: str, typ: pa.DataType) -> pa.Array:
        a = b[name]
        m = a < 0
        return pa.array(a, type=typ, mask=m if m.any() else None)

    # One compact dictionary for the four address columns: the addresses this file uses.
    addr = {k: b[k] for k in ("src", "dst", "psrc", "pdst")}
    used = np.zeros(len(lay.pool), dtype=bool)
    for a in addr.values():
        used[a[a >= 0]] = True
    remap = np.cumsum(used, dtype=np.int32) - 1
    pool = lay.pool.take(pa.array(np.flatnonzero(used)))
    local = {k: np.where(a < 0, -1, remap[a]) for k, a in addr.items()}

    src = b["src"]
    svc_src = np.where(b["psrc"] < 0, -1, lay.pool_svc[b["psrc"]])
    svc_dst = np.where(b["pdst"] < 0, -1, lay.pool_svc[b["pdst"]])
    typ = np.where(src < 0, -1, lay.pool_v6[src].astype(np.int8))
    eni = b["eni"]
    zeros = np.zeros(n, dtype=np.int8)
    cols: dict[str, pa.Array] = {
        "version": pa.array(np.full(n, 5, dtype=np.int32)),
        "account_id": _dict(pa.array([account_id]), zeros),
        "interface_id": _dict(lay.eni_id, eni),
        "srcaddr": _dict(pool, local["src"]),
        "dstaddr": _dict(pool, local["dst"]),
        "srcport": ints("sport", pa.int32()),
        "dstport": ints("dport", pa.int32()),
        "protocol": ints("proto", pa.int32()),
        "packets": ints("packets", pa.int64()),
        "bytes": ints("bytes", pa.int64()),
        "start": pa.array(b["start"], pa.int64()),
        "end": pa.array(b["end"], pa.int64()),
        "action": _dict(_ACTIONS, b["action"]),
        "log_status": _dict(_STATUSES, b["status"]),
        "vpc_id": _dict(pa.array([lay.net.vpc_id]), zeros),
        "subnet_id": _dict(lay.subnet_ids, lay.eni_subnet_i[eni]),
        "instance_id": _dict(lay.instance_ids, lay.eni_instance_i[eni]),
        "tcp_flags": ints("flags", pa.int32()),
        "type": _dict(_TYPES, typ),
        "pkt_srcaddr": _dict(pool, local["psrc"]),
        "pkt_dstaddr": _dict(pool, local["pdst"]),
        "region": _dict(pa.array([region]), zeros),
        "az_id": _dict(lay.az_ids, lay.eni_az_i[eni]),
        "sublocation_type": pa.nulls(n, pa.string()),
        "sublocation_id": pa.nulls(n, pa.string()),
        "pkt_src_aws_service": _dict(_SERVICES, svc_src),
        "pkt_dst_aws_service": _dict(_SERVICES, svc_dst),
        "flow_direction": _dict(_DIRECTIONS, b["dir"]),
        "traffic_path": ints("path", pa.int32()),
    }
    return pa.Table.from_arrays([cols[c] for c in COLUMNS], names=list(COLUMNS))


def _write_parquet(table: pa.Table, path: Path, level: int) -> None:
    # No ARROW:schema in the footer (AWS's writer is not Arrow): readers see SCHEMA's types.
    pq.write_table(table, path, compression="gzip", compression_level=level, store_schema=False)


def hour_prefix(root: Path, day: dt.date, hour: int, account_id: str = "123456789012",
                region: str = "us-east-1") -> Path:
    """The Hive-compatible folder AWS delivers one hour's files to."""
    return (root / "AWSLogs" / f"aws-account-id={account_id}" / "aws-service=vpcflowlogs"
            / f"aws-region={region}" / f"year={day:%Y}" / f"month={day:%m}" / f"day={day:%d}"
            / f"hour={hour:02d}")


def _write_day(root: Path, day: dt.date, records: int, seed: int, p: DayProfile,
               workers: int | None = None) -> tuple[list[Path], int]:
    lay = _layout(seed, _network_key(p))
    net = lay.net
    day_start = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    shares = _shares(p)
    per_conv = {name: float(k) for name, k, _, _ in _CATEGORIES}
    per_conv["east_west"] = lay.pair_rows
    curve = _diurnal(np.arange(24, dtype=float))
    # rows per (category, hour)
    rows = {name: records * shares[name] * (curve / curve.sum() if diurnal else np.full(24, 1 / 24))
            for name, _, _, diurnal in _CATEGORIES}
    day_dir = hour_prefix(root, day, 0, net.account_id, net.region).parent
    if day_dir.exists():  # a re-run replaces the day instead of adding to it
        for old in day_dir.glob("hour=*/*.log.parquet"):
            old.unlink()
    delivered = [h for h in range(24) if h not in set(p.missing_hours)]
    jobs: list[tuple[int, int, int]] = []
    for h in delivered:
        hour_rows = sum(float(r[h]) for r in rows.values())
        n_files = p.files_per_hour or min(6, max(2, math.ceil(hour_rows / 100_000)))
        hour_prefix(root, day, h, net.account_id, net.region).mkdir(parents=True, exist_ok=True)
        jobs.extend((h, k, n_files) for k in range(n_files))

    def one_file(job: tuple[int, int, int]) -> tuple[Path, int]:
        h, k, n_files = job
        rng = np.random.default_rng([seed, day.toordinal(), h, k])
        t0 = day_start + h * 3600 + k * 3600 // n_files
        t1 = day_start + h * 3600 + (k + 1) * 3600 // n_files
        ctx = _Ctx(rng, lay, t0, t1, day_start, nat=p.nat_traffic)
        conv = {name: _round(rng, float(rows[name][h]) / per_conv[name] / n_files) for name in rows}
        if p.nodata:  # a few on every file, as idle ENIs report them all day
            conv["no_data"] = max(1, conv["no_data"])
        novel = p.new_talkers > 0 and 9 <= h <= 20 and k == 0
        block = _file_block(ctx, p, conv, novel, force_skip=p.nodata and h == delivered[0] and k == 0)
        table = _table(block, lay, net.account_id, net.region)
        minute = min(55, (k + 1) * 60 // n_files // 5 * 5)
        name = (f"{net.account_id}_vpcflowlogs_{net.region}_{net.flow_log_id}_"
                f"{day:%Y%m%d}T{h:02d}{minute:02d}Z_{int(rng.integers(0, 2**32)):08x}.log.parquet")
        path = hour_prefix(root, day, h, net.account_id, net.region) / name
        _write_parquet(table, path, p.compression_level)
        return path, table.num_rows

    # Files are independent (own random stream), so threads change speed, not content; numpy
    # and the Parquet writer release the GIL. map() keeps at most `workers` files in memory.
    n_workers = workers or min(2, os.cpu_count() or 1)
    if n_workers > 1:
        with ThreadPoolExecutor(n_workers) as pool:
            done = list(pool.map(one_file, jobs))
    else:
        done = [one_file(j) for j in jobs]
    return [d[0] for d in done], sum(d[1] for d in done)


def generate_day(root: Path, day: dt.date, *, records: int = 200_000, seed: int = 0,
                 profile: DayProfile | None = None, workers: int | None = None) -> list[Path]:
    """Write one day of flow logs under `root` as AWS delivers them; return the files.

    `records` is the target for a full day (missing hours drop theirs). Re-running replaces
    the day's files. What the records hold, per ENI (egress = leaving the ENI):

    - east-west (client instance C -> server S): C egress C->S traffic_path 1; S ingress C->S;
      S egress S->C traffic_path 1; C ingress S->C. pkt_* equal the record addresses.
    - internet through the NAT gateway (instance I, NAT private IP N, public host P):
      I egress I->P traffic_path 1; I ingress P->I; NAT ENI ingress I->N with pkt_dstaddr P
      (private leg); NAT ENI egress N->P traffic_path 8 (public leg, translated source port);
      NAT ENI ingress P->N; NAT ENI egress N->I with pkt_srcaddr P, traffic_path 1.
      S3/DynamoDB through the NAT gateway are the same legs with P in the S3/DynamoDB ranges.
    - S3/DynamoDB through the gateway endpoint: I egress I->P traffic_path 7 (2 on non-Nitro
      instances); I ingress P->I. No NAT records.
    - public instances: egress to the internet traffic_path 8 (2 on the non-Nitro one), some
      IPv6; SSH in from office addresses. Load balancer ENIs: 443 in from clients, egress
      responses traffic_path 8, and east-west legs to backends on 8080.
    - scanners: one ingress REJECT record on a public ENI (NAT, load balancer, public instances).
    - pkt_src/dst_aws_service is set whenever pkt_srcaddr/pkt_dstaddr is in a published AWS
      range (S3, DYNAMODB, and EC2/AMAZON/CLOUDFRONT for some other addresses), on every ENI
      and direction; traffic_path is null on ingress records.
    """
    return _write_day(root, day, records, seed, profile or DayProfile(), workers)[0]


def generate_days(root: Path, last_day: dt.date, *, days: int = 8, records: int = 200_000, seed: int = 0,
                  profile: DayProfile | None = None, workers: int | None = None,
                  progress: Callable[[dt.date, list[Path], int, float], None] | None = None) -> list[Path]:
    """The report day and the `days - 1` before it, oldest first; returns every file written.

    Earlier days vary in volume (weekends are quieter); the last day also has a few east-west
    pairs and external addresses that no earlier day has. `progress(day, files, rows, seconds)`
    is called after each day.
    """
    base = profile or DayProfile()
    out: list[Path] = []
    for back in range(days - 1, -1, -1):
        day = last_day - dt.timedelta(days=back)
        t = time.perf_counter()
        if back == 0:
            n, p = records, replace(base, new_talkers=base.new_talkers or 5)
        else:
            vr = np.random.default_rng([seed, day.toordinal(), 0xDA7])
            factor = (0.8 if day.weekday() >= 5 else 1.0) * float(np.clip(vr.normal(1.0, 0.06), 0.85, 1.15))
            n, p = round(records * factor), base
        paths, rows = _write_day(root, day, n, seed, p, workers)
        out.extend(paths)
        if progress:
            progress(day, paths, rows, time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flowdigest.sample",
        description="Write seeded sample days of VPC Flow Logs (Parquet, AWS's S3 layout).")
    parser.add_argument("--out", type=Path, required=True, help="root folder (AWSLogs/... goes under it)")
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True,
                        help="the report day, YYYY-MM-DD (the last day written)")
    parser.add_argument("--days", type=int, default=8, help="days ending with --date (default 8)")
    parser.add_argument("--records", type=int, default=200_000, help="records on the report day")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--files-per-hour", type=int, default=None, help="default: 2-6 by volume")
    parser.add_argument("--workers", type=int, default=None, help="files written at once (default 2)")
    parser.add_argument("--missing-hours", default="", help="comma-separated UTC hours with no files")
    for flag, what in (("nat", "NAT gateway traffic"), ("rejects", "rejected traffic"),
                       ("gateway-endpoint", "gateway endpoint"), ("nodata", "NODATA/SKIPDATA records")):
        parser.add_argument(f"--no-{flag}", action="store_true", help=f"no {what}")
    a = parser.parse_args(argv)
    if a.days < 1 or a.records < 0:
        parser.error("--days must be >= 1 and --records >= 0")
    profile = DayProfile(
        nat_traffic=not a.no_nat, rejects=not a.no_rejects, gateway_endpoint=not a.no_gateway_endpoint,
        nodata=not a.no_nodata, files_per_hour=a.files_per_hour,
        missing_hours=tuple(int(h) for h in a.missing_hours.split(",") if h.strip()))

    def report(day: dt.date, paths: list[Path], rows: int, seconds: float) -> None:
        size = sum(f.stat().st_size for f in paths)
        print(f"{day}: {rows:,} records in {len(paths)} files ({size / 2**20:.1f} MiB) in {seconds:.1f} s",
              flush=True)

    generate_days(a.out, a.date, days=a.days, records=a.records, seed=a.seed, profile=profile,
                  workers=a.workers, progress=report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
