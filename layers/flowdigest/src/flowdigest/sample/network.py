"""The network model: the VPC, its ENIs, the address pool and the talker populations.

They are fixed for a seed, so every day of a series shares them (that is what gives "new
talkers" something to be new against). Every draw comes from one random stream, in a fixed
order: the steps below run in that order.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

from flowdigest.sample.addresses import aws_id, hosts_in, internet_ipv4, ipv4_strings, v6_tail
from flowdigest.sample.codes import (
    AMAZON,
    AMAZON_CIDRS,
    CLOUDFRONT,
    CLOUDFRONT_CIDRS,
    DYNAMODB,
    DYNAMODB_CIDRS,
    EC2,
    EC2_CIDRS,
    S3,
    S3_CIDRS,
    Arr,
)
from flowdigest.sample.draws import zipf_cdf
from flowdigest.sample.profile import DayProfile, Network


@dataclass
class Layout:
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
    eks_node: int  # ENI index of the private instance that is an EKS node (sample/eks.py)
    eks_pods: Arr  # pool indexes of its pods' addresses


# Roles of private instances, cycled: clients call servers on the role's port.
_ROLE_CYCLE = ("app", "app", "api", "db", "app", "cache", "api", "kafka", "app", "batch",
               "app", "api", "db", "cache", "app", "kafka", "search", "api", "metrics", "app")
_ROLE_PORT = {"api": (8443, 6), "db": (5432, 6), "cache": (6379, 6), "kafka": (9092, 6),
              "search": (9200, 6), "metrics": (8125, 17), "app": (8080, 6), "batch": (8080, 6)}
_CALLS = {"app": ("api", "db", "cache", "kafka", "search", "metrics"),
          "api": ("db", "cache", "kafka", "search", "metrics"),
          "batch": ("db", "kafka", "search", "api"),
          "kafka": ("kafka",), "db": ("db",)}
_N_PUBLIC = 4  # public instances: 0 web+IPv6, 1 bastion, 2 web, 3 legacy (non-Nitro)
_N_PAIRS = 300  # east-west pairs, at most
_N_NOVEL = 16  # pairs kept for new-talker days
_N_PODS = 12  # pods on the EKS node

EniRow = tuple[str, str | None, int, int, int, int]  # eni, instance, subnet, AZ, address, window s


def network_key(p: DayProfile) -> tuple[Any, ...]:
    return (p.account_id, p.region, p.vpc_cidr, p.az_ids, p.private_instances)


def _subnet_cidrs(vpc_cidr: str) -> list[ipaddress.IPv4Network]:
    vpc = ipaddress.IPv4Network(vpc_cidr)
    if vpc.prefixlen > 20:
        raise ValueError("vpc_cidr must be /20 or larger")
    blocks = list(vpc.subnets(new_prefix=vpc.prefixlen + 4))
    # Public subnets first in the range, private ones from its middle (10.0.128.0/18 here).
    return [blocks[0], blocks[1], blocks[8], blocks[9]]


def _eni_rows(rng: np.random.Generator, cidrs: list[ipaddress.IPv4Network], n_priv: int) -> list[EniRow]:
    """Private instances, public instances, the NAT gateway (az1), the load balancer (both AZs)."""
    used: dict[int, set[int]] = {i: set() for i in range(len(cidrs))}

    def host(sub: int) -> int:
        net = cidrs[sub]
        while True:  # AWS reserves the first four and the last address of a subnet
            off = int(rng.integers(4, min(net.num_addresses - 1, 4000)))
            if off not in used[sub]:
                used[sub].add(off)
                return int(net.network_address) + off

    rows: list[EniRow] = []
    for i in range(n_priv):
        az = i % 2
        rows.append((aws_id(rng, "eni"), aws_id(rng, "i"), 2 + az, az, host(2 + az), 60))
    for j in range(_N_PUBLIC):
        az = j % 2
        rows.append((aws_id(rng, "eni"), aws_id(rng, "i"), az, az, host(az), 60))
    rows.append((aws_id(rng, "eni"), None, 0, 0, host(0), 60))  # NAT gateway in az1
    for az in (0, 1):
        rows.append((aws_id(rng, "eni"), None, az, az, host(az), 60))  # load balancer
    return rows


def _non_nitro(roles: list[str], legacy_public: int) -> list[int]:
    # Older instance families: two batch/app boxes in az1 and the legacy public host.
    out = [i for i, r in enumerate(roles) if r in ("batch", "app") and i % 2 == 0][-2:]
    out.append(legacy_public)
    return out


class _Pool:
    """The address pool: every address a day can use (records hold indexes into it)."""

    def __init__(self, enis: list[EniRow]) -> None:
        self.addrs: list[str] = [ipv4_strings(np.array([r[4]]))[0] for r in enis]
        self.svc: list[int] = [-1] * len(self.addrs)
        self.v6: list[bool] = [False] * len(self.addrs)

    def add(self, strs: list[str], service: int = -1, is_v6: bool = False) -> Arr:
        start = len(self.addrs)
        self.addrs.extend(strs)
        self.svc.extend([service] * len(strs))
        self.v6.extend([is_v6] * len(strs))
        return np.arange(start, len(self.addrs))


@dataclass
class _Outside:
    """Pool indexes of the populations outside the VPC."""

    v6_addr: int  # public instance 0's IPv6 address (inside, but allocated with these)
    dest: Arr
    novel_dest: Arr
    scanners: Arr
    web_clients: Arr
    office: Arr
    s3: Arr
    ddb: Arr
    v6_dest: Arr


def _outside(rng: np.random.Generator, pool: _Pool) -> _Outside:
    v6_prefix = f"2600:1f18:{int(rng.integers(0x100, 0xfff)):x}:{int(rng.integers(0, 0xff)):x}00"
    v6_addr = int(pool.add([f"{v6_prefix}:{v6_tail(rng)}"], is_v6=True)[0])
    generic = internet_ipv4(rng, 400 + 32 + 20000 + 18000 + 3)
    dest = pool.add(ipv4_strings(generic[:340]))
    dest = np.concatenate([dest, pool.add(ipv4_strings(hosts_in(rng, AMAZON_CIDRS, 30)), AMAZON),
                           pool.add(ipv4_strings(hosts_in(rng, CLOUDFRONT_CIDRS, 30)), CLOUDFRONT)])
    dest = rng.permutation(dest)
    novel_dest = pool.add(ipv4_strings(generic[400:432]))
    scanners = np.concatenate([pool.add(ipv4_strings(generic[432:20432])),
                               pool.add(ipv4_strings(hosts_in(rng, EC2_CIDRS, 2000)), EC2)])
    scanners = rng.permutation(scanners)
    web_clients = pool.add(ipv4_strings(generic[20432:38432]))
    office = pool.add(ipv4_strings(generic[38432:38435]))
    s3 = pool.add(ipv4_strings(hosts_in(rng, S3_CIDRS, 48)), S3)
    ddb = pool.add(ipv4_strings(hosts_in(rng, DYNAMODB_CIDRS, 12)), DYNAMODB)
    v6_dest = pool.add([f"2606:4700:{int(rng.integers(0, 0xffff)):x}::{int(rng.integers(1, 0xffff)):x}"
                        for _ in range(40)], is_v6=True)
    return _Outside(v6_addr, dest, novel_dest, scanners, web_clients, office, s3, ddb, v6_dest)


@dataclass
class _Pairs:
    """East-west client/server pairs, by rank (rank 0 talks most)."""

    c: Arr
    s: Arr
    port: Arr
    proto: Arr
    req: Arr  # bytes per window, scale
    resp: Arr
    cdf: Arr
    seen: set[tuple[int, int]]


def _role_pairs(rng: np.random.Generator, roles: list[str], by_role: dict[str, list[int]],
                clients: list[int]) -> tuple[list[tuple[int, int, int, int]], set[tuple[int, int]]]:
    """Up to _N_PAIRS distinct (client, server, port, protocol), each client calling its role's callees."""
    seen: set[tuple[int, int]] = set()
    out: list[tuple[int, int, int, int]] = []
    attempts = 0
    while len(out) < _N_PAIRS and attempts < 20000:
        attempts += 1
        c = int(rng.choice(clients))
        callee = str(rng.choice(_CALLS[roles[c]]))
        s = int(rng.choice(by_role[callee]))
        if s == c or (c, s) in seen:
            continue
        seen.add((c, s))
        out.append((c, s, *_ROLE_PORT[callee]))
    return out, seen


def _east_west_pairs(rng: np.random.Generator, roles: list[str], by_role: dict[str, list[int]],
                     clients: list[int]) -> _Pairs:
    # Frequency is Zipf and per-window size Pareto, so the bytes per pair are heavy-tailed
    # and a handful of pairs dominate.
    found, seen = _role_pairs(rng, roles, by_role, clients)
    pair_c, pair_s = np.array([f[0] for f in found]), np.array([f[1] for f in found])
    pp_, pr_ = [f[2] for f in found], [f[3] for f in found]
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
    proto = np.array(pr_)
    resp = scale * np.sqrt(ratio)
    resp[proto == 17] = 0  # statsd: one-way UDP
    return _Pairs(pair_c, pair_s, np.array(pp_), proto, scale / np.sqrt(ratio), resp,
                  zipf_cdf(n_pairs, 1.0), seen)


def _novel_pairs(rng: np.random.Generator, clients: list[int], by_role: dict[str, list[int]],
                 seen: set[tuple[int, int]]) -> tuple[Arr, Arr]:
    """(k, 2) client/server pairs no ordinary day has, in either direction, and their ports."""
    novel: list[tuple[int, int]] = []
    ports: list[int] = []
    for c in rng.permutation(clients).tolist():
        for callee in ("db", "cache", "search", "api"):
            s = int(rng.choice(by_role[callee]))
            if s != c and not {(c, s), (s, c)} & (seen | set(novel)):
                novel.append((c, s))
                ports.append(_ROLE_PORT[callee][0])
                break
        if len(novel) >= _N_NOVEL:
            break
    return np.array(novel).reshape(-1, 2), np.array(ports)


def _destination_traffic(rng: np.random.Generator, n_dest: int) -> tuple[Arr, Arr, Arr]:
    """Port, protocol and bytes-per-window scale of each internet destination."""
    port = rng.choice([443, 80, 22, 123], n_dest, p=[0.85, 0.07, 0.03, 0.05])
    proto = np.where(port == 123, 17, 6)
    scale = 100_000 * (1 + rng.pareto(1.3, n_dest))
    scale[port == 123] = 76
    return port, proto, scale


def _client_cdf(rng: np.random.Generator, n_priv: int, busy: int) -> Arr:
    # Which private instance talks to the internet / S3: Zipf, with `busy` (a non-Nitro
    # instance) among the busiest so the ambiguous traffic_path 2 shows up.
    order = list(rng.permutation(n_priv))
    order.remove(busy)
    order.insert(2, busy)
    weights = np.empty(n_priv)
    weights[order] = 1.0 / np.arange(1, n_priv + 1) ** 1.1
    cdf: Arr = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return cdf


def _network(key: tuple[Any, ...], ids: tuple[str, str, list[str]], cidrs: list[ipaddress.IPv4Network],
             enis: list[EniRow], pool: _Pool, non_nitro: list[int], eks_node: int) -> Network:
    account_id, region, _, az_ids, n_priv = key
    vpc_id, flow_log_id, subnet_ids = ids
    nat = n_priv + _N_PUBLIC
    return Network(
        account_id=account_id,
        region=region,
        vpc_id=vpc_id,
        flow_log_id=flow_log_id,
        subnets={sid: (str(cidrs[k]), az_ids[k % 2], k < 2) for k, sid in enumerate(subnet_ids)},
        nat_eni=enis[nat][0],
        nat_ip=pool.addrs[nat],
        nat_az=az_ids[0],
        alb_enis=(enis[nat + 1][0], enis[nat + 2][0]),
        public_instance_enis=tuple(r[0] for r in enis[n_priv:nat]),
        private_instance_enis=tuple(r[0] for r in enis[:n_priv]),
        non_nitro_enis=tuple(enis[i][0] for i in non_nitro),
        endpoint_az=az_ids[0],
        eks_node_eni=enis[eks_node][0],
    )


@lru_cache(maxsize=4)
def layout(seed: int, key: tuple[Any, ...]) -> Layout:
    """The network of `network_key(profile)` for a seed."""
    _, _, vpc_cidr, az_ids, n_priv = key
    if n_priv < 12:
        raise ValueError("private_instances must be at least 12")
    rng = np.random.default_rng([seed, 0x1A40])
    cidrs = _subnet_cidrs(vpc_cidr)
    subnet_ids = [aws_id(rng, "subnet") for _ in cidrs]
    ids = (aws_id(rng, "vpc"), aws_id(rng, "fl"), subnet_ids)
    enis = _eni_rows(rng, cidrs, n_priv)
    private = np.arange(n_priv)
    public = np.arange(n_priv, n_priv + _N_PUBLIC)
    nat = n_priv + _N_PUBLIC
    roles = [_ROLE_CYCLE[i % len(_ROLE_CYCLE)] for i in range(n_priv)]
    non_nitro = _non_nitro(roles, int(public[3]))
    windows = np.array([r[5] for r in enis], dtype=np.int64)
    windows[non_nitro] = 600
    pool = _Pool(enis)
    out = _outside(rng, pool)

    by_role: dict[str, list[int]] = {}
    for i, r in enumerate(roles):
        by_role.setdefault(r, []).append(i)
    clients = [i for i in range(n_priv) if roles[i] in _CALLS]
    pairs = _east_west_pairs(rng, roles, by_role, clients)
    novel_pairs, novel_ports = _novel_pairs(rng, clients, by_role, pairs.seen)
    dest_port, dest_proto, dest_scale = _destination_traffic(rng, len(out.dest))
    client_cdf = _client_cdf(rng, n_priv, non_nitro[0])
    # The EKS node is the busiest internet/S3 client; its pods take the top free addresses of
    # its subnet (no draw: the stream above is unchanged).
    eks_node = int(np.argmax(np.diff(client_cdf, prepend=0.0)))
    eks_net, taken = cidrs[enis[eks_node][2]], {r[4] for r in enis}
    free = (a for a in range(int(eks_net.broadcast_address) - 1, 0, -1) if a not in taken)
    eks_pods = pool.add(ipv4_strings(np.array([next(free) for _ in range(_N_PODS)])))

    with_instance = [k for k, r in enumerate(enis) if r[1]]
    instance_i = np.full(len(enis), -1)
    instance_i[with_instance] = np.arange(len(with_instance))
    return Layout(
        net=_network(key, ids, cidrs, enis, pool, non_nitro, eks_node),
        pool=pa.array(pool.addrs, pa.string()),
        pool_v6=np.array(pool.v6),
        pool_svc=np.array(pool.svc, dtype=np.int8),
        eni_id=pa.array([r[0] for r in enis], pa.string()),
        instance_ids=pa.array([r[1] for r in enis if r[1]], pa.string()),
        eni_instance_i=instance_i,
        subnet_ids=pa.array(subnet_ids, pa.string()),
        eni_subnet_i=np.array([r[2] for r in enis]),
        az_ids=pa.array(list(az_ids), pa.string()),
        eni_addr=np.arange(len(enis)),
        eni_window=windows,
        eni_az_i=np.array([r[3] for r in enis]),
        private=private,
        public=public,
        nat=nat,
        albs=np.array([nat + 1, nat + 2]),
        backends=np.array([i for i in range(n_priv) if roles[i] == "app"][:6]),
        v6_addr=out.v6_addr,
        pair_c=pairs.c,
        pair_s=pairs.s,
        pair_port=pairs.port,
        pair_proto=pairs.proto,
        pair_req=pairs.req,
        pair_resp=pairs.resp,
        pair_cdf=pairs.cdf,
        pair_rows=4.0 - 2.0 * float(np.diff(pairs.cdf, prepend=0.0)[pairs.proto == 17].sum()),
        novel_pairs=novel_pairs,
        novel_ports=novel_ports,
        dest=out.dest,
        dest_port=dest_port,
        dest_proto=dest_proto,
        dest_scale=dest_scale,
        dest_cdf=zipf_cdf(len(out.dest), 1.0),
        novel_dest=out.novel_dest,
        v6_dest=out.v6_dest,
        s3=out.s3,
        ddb=out.ddb,
        client_cdf=client_cdf,
        scanners=out.scanners,
        scanner_cdf=zipf_cdf(len(out.scanners), 0.9),
        web_clients=out.web_clients,
        web_cdf=zipf_cdf(len(out.web_clients), 0.6),
        office=out.office,
        eks_node=eks_node,
        eks_pods=eks_pods,
    )


def network(seed: int = 0, profile: DayProfile | None = None) -> Network:
    """The VPC a seed generates (the same for every day of a series)."""
    return layout(seed, network_key(profile or DayProfile())).net
