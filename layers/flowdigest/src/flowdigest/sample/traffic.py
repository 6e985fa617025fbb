"""Traffic: the categories of a day's records, their shares, and one file's records.

Each category draws `n` conversations for one file (ctx: the file's time slice and stream)
and returns their records on every ENI they cross.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from flowdigest.sample.codes import (
    EGRESS,
    INGRESS,
    NODATA,
    PATH_GATEWAY_ENDPOINT,
    PATH_IGW,
    PATH_IGW_OR_GWE,
    PATH_IN_VPC,
    REJECT,
    SCAN_PORTS,
    SKIPDATA,
    Arr,
)
from flowdigest.sample.draws import draw_sizes, ephemeral_ports, pick
from flowdigest.sample.eks import eks_pods
from flowdigest.sample.profile import DayProfile
from flowdigest.sample.records import (
    BLOCK,
    Block,
    Ctx,
    direct,
    draw_times,
    interleave,
    internal,
    via_nat,
    window_start,
)

_SCAN_PORT_P = (0.28, 0.14, 0.14, 0.1, 0.06, 0.08, 0.04, 0.04, 0.04, 0.04, 0.02, 0.02)


def _east_west(ctx: Ctx, n: int) -> Block:
    lay, rng = ctx.lay, ctx.rng
    k = pick(rng, lay.pair_cdf, n)
    return internal(ctx, lay.pair_c[k], lay.pair_s[k], lay.pair_port[k], lay.pair_proto[k],
                     draw_sizes(rng, lay.pair_req[k]), draw_sizes(rng, lay.pair_resp[k]))


def _east_west_rejected(ctx: Ctx, n: int) -> Block:
    """A security group that forgot one client: SYNs leave (ACCEPT) and are dropped on arrival."""
    lay, rng = ctx.lay, ctx.rng
    k = rng.integers(len(lay.pair_c) - 3, len(lay.pair_c), n)  # three quiet pairs
    c, s = lay.pair_c[k], lay.pair_s[k]
    end, frac = draw_times(ctx, n)
    ca, sa = lay.eni_addr[c], lay.eni_addr[s]
    pk = rng.integers(1, 4, n)
    base = dict(src=ca, dst=sa, psrc=ca, pdst=sa, sport=ephemeral_ports(rng, n), dport=lay.pair_port[k],
                proto=6, packets=pk, bytes=60 * pk, flags=2, end=end)
    return interleave(n, [
        {**base, "eni": c, "dir": EGRESS, "path": PATH_IN_VPC, "start": window_start(ctx, end, frac, c)},
        {**base, "eni": s, "dir": INGRESS, "action": REJECT, "start": window_start(ctx, end, frac, s)},
    ])


def _web(ctx: Ctx, n: int) -> Block:
    """HTTPS clients -> load balancer ENI (443) -> backend instance (8080)."""
    lay, rng = ctx.lay, ctx.rng
    client = lay.web_clients[pick(rng, lay.web_cdf, n)]
    alb = lay.albs[rng.integers(0, len(lay.albs), n)]
    req = draw_sizes(rng, np.full(n, 2_000.0))
    resp = draw_sizes(rng, np.full(n, 60_000.0))
    front = direct(ctx, alb, client, np.full(n, 443), np.full(n, 6), req, resp,
                    path=np.full(n, PATH_IGW), inbound=True)
    be = lay.backends[rng.integers(0, len(lay.backends), n)]
    back = internal(ctx, alb, be, np.full(n, 8080), np.full(n, 6), req, resp)
    return {k: np.concatenate([front[k], back[k]]) for k in BLOCK}


def _nat_internet(ctx: Ctx, n: int) -> Block:
    lay, rng = ctx.lay, ctx.rng
    c = lay.private[pick(rng, lay.client_cdf, n)]
    d = pick(rng, lay.dest_cdf, n)
    resp = draw_sizes(rng, lay.dest_scale[d])
    req = draw_sizes(rng, np.maximum(lay.dest_scale[d] / 20, 76))
    return via_nat(ctx, c, lay.dest[d], lay.dest_port[d], lay.dest_proto[d], req, resp)


def _aws_dest(ctx: Ctx, n: int) -> tuple[Arr, Arr, Arr]:
    lay, rng = ctx.lay, ctx.rng
    is_ddb = rng.random(n) < 0.25
    ext = np.where(is_ddb, lay.ddb[rng.integers(0, len(lay.ddb), n)], lay.s3[rng.integers(0, len(lay.s3), n)])
    # S3 GETs dominate; DynamoDB items are small
    resp = draw_sizes(rng, np.where(is_ddb, 6_000.0, 6_000_000.0))
    req = draw_sizes(rng, np.where(is_ddb, 1_500.0, 40_000.0))
    return ext, req, resp


def _aws_clients(ctx: Ctx, n: int, az: int | None) -> Arr:
    lay = ctx.lay
    c = lay.private[pick(ctx.rng, lay.client_cdf, n)]
    if az is not None:  # keep the client in the given AZ: move it to its neighbour
        wrong = lay.eni_az_i[c] != az
        c = np.where(wrong, np.where(c + 1 < len(lay.private), c + 1, c - 1), c)
    out: Arr = c
    return out


def _aws_via_nat(ctx: Ctx, n: int) -> Block:
    # Without the endpoint route the S3 traffic of the other AZ's subnet goes through NAT.
    c = _aws_clients(ctx, n, 1 if ctx.split_aws else None)
    ext, req, resp = _aws_dest(ctx, n)
    return via_nat(ctx, c, ext, np.full(n, 443), np.full(n, 6), req, resp)


def _aws_via_endpoint(ctx: Ctx, n: int) -> Block:
    lay = ctx.lay
    c = _aws_clients(ctx, n, 0 if ctx.split_aws else None)
    ext, req, resp = _aws_dest(ctx, n)
    path = np.where(lay.eni_window[c] == 600, PATH_IGW_OR_GWE, PATH_GATEWAY_ENDPOINT)
    return direct(ctx, c, ext, np.full(n, 443), np.full(n, 6), req, resp, path)


def _public_igw(ctx: Ctx, n: int) -> Block:
    """Public-subnet instances: outbound through the internet gateway, SSH in to the bastion."""
    lay, rng = ctx.lay, ctx.rng
    which = rng.integers(0, len(lay.public), n)
    eni = lay.public[which]
    d = pick(rng, lay.dest_cdf, n)
    ext, port, proto = lay.dest[d].copy(), lay.dest_port[d].copy(), lay.dest_proto[d].copy()
    v6 = (which == 0) & (rng.random(n) < 0.3)
    ext[v6] = lay.v6_dest[rng.integers(0, len(lay.v6_dest), int(v6.sum()))]
    port[v6], proto[v6] = 443, 6
    ssh = (which == 1) & (rng.random(n) < 0.5)
    ext[ssh] = lay.office[rng.integers(0, len(lay.office), int(ssh.sum()))]
    port[ssh], proto[ssh] = 22, 6
    scale = np.where(ssh, 30_000.0, lay.dest_scale[d])
    path = np.where(lay.eni_window[eni] == 600, PATH_IGW_OR_GWE, PATH_IGW)
    return direct(ctx, eni, ext, port, proto, draw_sizes(rng, scale / 10), draw_sizes(rng, scale), path,
                   inbound=ssh)


def _scanners(ctx: Ctx, n: int) -> Block:
    """Internet background noise on public ENIs, dropped by security groups."""
    lay, rng = ctx.lay, ctx.rng
    src = lay.scanners[pick(rng, lay.scanner_cdf, n)]
    targets = np.concatenate([[lay.nat] if ctx.nat else [], lay.albs, lay.public]).astype(np.int64)
    w = np.array(([0.3] if ctx.nat else []) + [0.15, 0.15] + [0.1] * len(lay.public))
    eni = targets[np.minimum(np.searchsorted(np.cumsum(w / w.sum()), rng.random(n)), len(targets) - 1)]
    dport = np.asarray(SCAN_PORTS)[pick(rng, np.cumsum(_SCAN_PORT_P), n)]
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
    return interleave(n, [{"eni": eni, "dir": INGRESS, "action": REJECT, "src": src, "dst": a, "psrc": src,
                      "pdst": a, "sport": sport, "dport": dport, "proto": proto, "packets": pk,
                      "bytes": pk * per, "flags": np.where(proto == 6, 2, 0), "start": start, "end": end}])


def _no_data(ctx: Ctx, n: int) -> Block:
    """NODATA on idle ENIs, SKIPDATA (capacity exceeded) on the busiest ones."""
    lay, rng = ctx.lay, ctx.rng
    n = max(n, int(ctx.force_skip))
    skip = rng.random(n) < 0.2
    if ctx.force_skip:
        skip[0] = True
    busy = np.concatenate([[lay.nat] if ctx.nat else [], lay.pair_c[:3]]).astype(np.int64)
    eni = np.where(skip, busy[rng.integers(0, len(busy), n)],
                   lay.private[rng.integers(len(lay.private) // 2, len(lay.private), n)])
    # the window closes inside the file's slice, like every other record's
    end = rng.integers(ctx.t0, ctx.t1, n)
    start = np.maximum(end - lay.eni_window[eni] + 1 + rng.integers(0, 3, n), ctx.day_start)
    return interleave(n, [{"eni": eni, "status": np.where(skip, SKIPDATA, NODATA), "action": -1,
                      "start": start, "end": end}])


# ---------------------------------------------------------------------------------------
# The day plan: rows per category per hour, shaped by a diurnal curve.


class Category(NamedTuple):
    name: str
    rows: int  # records per conversation
    share: float  # of the day's records
    business_hours: bool  # follows the diurnal curve (else flat over the day)
    make: Callable[[Ctx, int], Block]


CATEGORIES: tuple[Category, ...] = (
    Category("east_west", 4, 0.40, True, _east_west),
    Category("east_west_rejected", 2, 0.01, True, _east_west_rejected),
    Category("web", 6, 0.12, True, _web),
    Category("nat_internet", 6, 0.12, True, _nat_internet),
    Category("aws_via_nat", 6, 0.05, True, _aws_via_nat),
    Category("aws_via_endpoint", 2, 0.10, True, _aws_via_endpoint),
    Category("public_igw", 2, 0.04, True, _public_igw),
    Category("scanners", 1, 0.15, False, _scanners),
    Category("no_data", 1, 0.001, False, _no_data),
    Category("eks_pods", 4, 0.03, True, eks_pods),
)
_MAKERS = {c.name: c.make for c in CATEGORIES}


def diurnal_curve(hours: Arr) -> Arr:
    # low at night UTC, peak mid-afternoon UTC (US business hours)
    out: Arr = 0.2 + 0.8 * np.exp(-0.5 * ((hours - 15.0) / 4.0) ** 2)
    return out


def category_shares(p: DayProfile) -> dict[str, float]:
    s = {c.name: c.share for c in CATEGORIES}
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


# From this size the report day's new talkers talk repeatedly over 12 hours (~8 % of its
# records); smaller days get fewer, once each, so they hold about the records asked for.
FULL_NEW_TALKERS_RECORDS = 20_000


@dataclass(frozen=True)
class NewTalkers:
    """Where a day's new talkers appear: the first file of each of `hours`."""

    hours: frozenset[int]
    count: int  # talkers (each a new east-west pair and a new external address)
    repeat: bool  # 1 + Poisson(2) conversations each per file, else one (about 10 records)


def new_talkers_plan(p: DayProfile, records: int, delivered: list[int]) -> NewTalkers | None:
    if p.new_talkers <= 0:
        return None
    hours = [h for h in delivered if 9 <= h <= 20]
    if records >= FULL_NEW_TALKERS_RECORDS:
        return NewTalkers(frozenset(hours), p.new_talkers, True)
    # one file per 1,500 records and a talker per 300: at most ~3 % of the day
    return NewTalkers(frozenset(hours[:max(1, records // 1500)]), min(p.new_talkers, max(1, records // 300)),
                      False)


def file_block(ctx: Ctx, p: DayProfile, conv: dict[str, int], novel: NewTalkers | None,
               planted: bool = False) -> Block:
    """One file's records: `conv[name]` conversations of each category, plus the new talkers
    and the planted findings."""
    blocks = [_MAKERS[name](ctx, n) for name, n in conv.items()
              if n > 0 or (name == "no_data" and ctx.force_skip)]
    if novel:
        blocks.extend(_novel(ctx, p, novel))
    if planted:
        blocks.extend(planted_findings(ctx, p))
    if not blocks:
        return {k: np.empty(0, dtype) for k, (dtype, _) in BLOCK.items()}
    return {k: np.concatenate([b[k] for b in blocks]) for k in BLOCK}


def _novel(ctx: Ctx, p: DayProfile, plan: NewTalkers) -> list[Block]:
    """Talkers only a new-talker day has: new east-west pairs and new external addresses."""
    lay, rng = ctx.lay, ctx.rng
    k = min(plan.count, len(lay.novel_pairs), len(lay.novel_dest))
    reps = 1 + rng.poisson(2, k) if plan.repeat else np.ones(k, dtype=np.int64)
    idx = np.repeat(np.arange(k), reps)
    n = len(idx)
    pairs = lay.novel_pairs[idx]
    port = lay.novel_ports[idx]
    big = np.full(n, float(np.median(lay.pair_req[:20])))
    out = [internal(ctx, pairs[:, 0], pairs[:, 1], port, np.full(n, 6), draw_sizes(rng, big),
                     draw_sizes(rng, 4 * big))]
    c = lay.private[pick(rng, lay.client_cdf, n)]
    ext = lay.novel_dest[idx]
    req, resp = draw_sizes(rng, np.full(n, 50_000.0)), draw_sizes(rng, np.full(n, 5_000_000.0))
    if p.nat_traffic:
        out.append(via_nat(ctx, c, ext, np.full(n, 443), np.full(n, 6), req, resp))
    else:
        pub = lay.public[np.zeros(n, dtype=np.int64) + 2]
        out.append(direct(ctx, pub, ext, np.full(n, 443), np.full(n, 6), req, resp,
                           np.full(n, PATH_IGW)))
    return out



# The planted findings: fixed amounts in the first file of each of these hours, whatever the day's
# size, so every finding kind shows with a known figure (README, "Findings"). Per hour:
PLANTED_HOURS = frozenset(range(9, 17))
PLANTED_MIN_RECORDS = FULL_NEW_TALKERS_RECORDS  # smaller days have none (they hold about the records asked for)
MIB = 2**20
BACKUP_MIB = 512  # a private instance's backup upload through the NAT: internet egress
EC2_API_MIB = (64, 512)  # requests / responses to an EC2 address through the NAT: below the break-even
NEW_DESTINATION_MIB = 160  # to an address only the report day has (a new-talker day): 1.25 GiB
# A sync from S3 to the private subnet whose route table lacks the gateway endpoint (AZ index 1, as
# in _aws_via_nat): 1 GiB in each planted hour, 8 GiB a day through the NAT, $11/month at
# $0.045/GB, clearly above the $5/month default threshold of gateway_endpoint_bypass.
S3_SYNC_MIB = 1024
NAT_ROUTED_AZ = 1
SCAN_PORTS_TRIED = SCAN_PORTS  # 12 ports rejected on public instance 0; then SSH accepted on the bastion


def planted_findings(ctx: Ctx, p: DayProfile) -> list[Block]:
    lay, at = ctx.lay, ctx.lay.planted
    one, tcp, https = np.ones(1, dtype=np.int64), np.full(1, 6), np.full(1, 443)

    def nat(client: int, ext: int, req_mib: int, resp_mib: float) -> Block:
        return via_nat(ctx, lay.private[client] * one, ext * one, https, tcp, req_mib * MIB * one,
                       np.round(resp_mib * MIB) * one)

    out = [nat(1, at["backup"], BACKUP_MIB, 1 / 16), nat(2, at["ec2_api"], *EC2_API_MIB)] if p.nat_traffic else []
    if p.nat_traffic:
        syncing = next(i for i, eni in enumerate(lay.private) if lay.eni_az_i[eni] == NAT_ROUTED_AZ)
        out.append(nat(syncing, int(lay.s3[0]), 1, S3_SYNC_MIB))
    if p.new_talkers > 0 and p.nat_traffic:
        out.append(nat(3, at["new_destination"], NEW_DESTINATION_MIB, 1 / 16))
    if not p.rejects:  # the scanner is rejected first: a day without rejects has none
        return out
    n = len(SCAN_PORTS_TRIED)
    end = ctx.rng.integers(ctx.t0, ctx.t1, n)
    target, src = lay.eni_addr[lay.public[0]], at["scanner"]
    out.append(interleave(n, [{"eni": lay.public[0], "dir": INGRESS, "action": REJECT, "src": src, "dst": target,
                               "psrc": src, "pdst": target, "sport": ctx.rng.integers(1024, 65536, n),
                               "dport": np.asarray(SCAN_PORTS_TRIED), "proto": 6, "packets": 1, "bytes": 44,
                               "flags": 2, "start": end, "end": end}]))
    out.append(direct(ctx, lay.public[1] * one, src * one, np.full(1, 22), tcp, 4_000 * one, 9_000 * one,
                      np.full(1, PATH_IGW), inbound=True))
    return out
