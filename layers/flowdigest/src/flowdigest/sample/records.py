"""Records as AWS writes them for one conversation, on every ENI it crosses.

A block is a dict of equal-length numpy columns holding codes and pool indexes; -1 means
null (AWS writes '-'). The writer turns a block into the file's Arrow table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from flowdigest.sample.codes import ACCEPT, EGRESS, INGRESS, OK, PATH_IGW, PATH_IN_VPC, Arr
from flowdigest.sample.draws import draw_flags, ephemeral_ports, to_packets
from flowdigest.sample.network import Layout

BLOCK: dict[str, tuple[type, int]] = {
    "eni": (np.int32, -1), "src": (np.int32, -1), "dst": (np.int32, -1),
    "psrc": (np.int32, -1), "pdst": (np.int32, -1), "sport": (np.int32, -1),
    "dport": (np.int32, -1), "proto": (np.int32, -1), "packets": (np.int64, -1),
    "bytes": (np.int64, -1), "start": (np.int64, -1), "end": (np.int64, -1),
    "action": (np.int8, ACCEPT), "status": (np.int8, OK), "flags": (np.int32, -1),
    "dir": (np.int8, -1), "path": (np.int32, -1),
}
Block = dict[str, Arr]

def interleave(n: int, legs: list[dict[str, Any]]) -> Block:
    """Interleave per-conversation legs: row i*k+j is leg j of conversation i."""
    k = len(legs)
    out: Block = {}
    for name, (dtype, default) in BLOCK.items():
        a: Arr = np.empty((n, k), dtype=dtype)
        for j, leg in enumerate(legs):
            a[:, j] = leg.get(name, default)
        out[name] = a.reshape(-1)
    return out

@dataclass
class Ctx:
    rng: np.random.Generator
    lay: Layout
    t0: int  # the file's slice of the hour, [t0, t1)
    t1: int
    day_start: int
    nat: bool = True  # the VPC has a NAT gateway (its ENI can be scanned, skip data, ...)
    # S3/DynamoDB of az1's private subnet uses the gateway endpoint, az2's the NAT gateway
    split_aws: bool = True
    force_skip: bool = False  # this file carries the day's guaranteed SKIPDATA record


def draw_times(ctx: Ctx, n: int) -> tuple[Arr, Arr]:
    end = ctx.rng.integers(ctx.t0, ctx.t1, n)
    frac = ctx.rng.random(n)
    return end, frac

def window_start(ctx: Ctx, end: Arr, frac: Arr, eni: Arr | int) -> Arr:
    # first packet within the ENI's aggregation window (60 s Nitro, up to 600 s otherwise)
    win = ctx.lay.eni_window[eni]
    out: Arr = np.maximum(end - (frac * (win - 1)).astype(np.int64), ctx.day_start)
    return out

def internal(ctx: Ctx, c: Arr, s: Arr, port: Arr, proto: Arr, req: Arr, resp: Arr) -> Block:
    """Instance to instance in the VPC: each direction on both ENIs."""
    n, rng, lay = len(c), ctx.rng, ctx.lay
    end, frac = draw_times(ctx, n)
    ca, sa = lay.eni_addr[c], lay.eni_addr[s]
    cport = ephemeral_ports(rng, n)
    qp, qb = to_packets(rng, req, proto)
    rp, rb = to_packets(rng, resp, proto)
    cf, sf = draw_flags(rng, proto)
    fwd = dict(src=ca, dst=sa, psrc=ca, pdst=sa, sport=cport, dport=port, proto=proto,
               packets=qp, bytes=qb, flags=cf, end=end)
    back = dict(src=sa, dst=ca, psrc=sa, pdst=ca, sport=port, dport=cport, proto=proto,
                packets=rp, bytes=rb, flags=sf, end=end)
    legs = [
        {**fwd, "eni": c, "dir": EGRESS, "path": PATH_IN_VPC, "start": window_start(ctx, end, frac, c)},
        {**fwd, "eni": s, "dir": INGRESS, "start": window_start(ctx, end, frac, s)},
        {**back, "eni": s, "dir": EGRESS, "path": PATH_IN_VPC, "start": window_start(ctx, end, frac, s)},
        {**back, "eni": c, "dir": INGRESS, "start": window_start(ctx, end, frac, c)},
    ]
    b = interleave(n, legs)
    one_way = np.repeat(resp == 0, 4) & np.tile(np.array([False, False, True, True]), n)
    return _drop(b, one_way)

def _drop(b: Block, mask: Arr) -> Block:
    if not mask.any():
        return b
    keep = ~mask
    return {k: v[keep] for k, v in b.items()}

def via_nat(ctx: Ctx, c: Arr, ext: Arr, port: Arr, proto: Arr, req: Arr, resp: Arr) -> Block:
    """Private instance to a public address through the NAT gateway (AWS's documented legs)."""
    n, rng, lay = len(c), ctx.rng, ctx.lay
    end, frac = draw_times(ctx, n)
    i, nat = lay.eni_addr[c], lay.eni_addr[lay.nat]
    cport = ephemeral_ports(rng, n)
    nport = rng.integers(1024, 65536, n)  # the NAT gateway translates the source port too
    qp, qb = to_packets(rng, req, proto)
    rp, rb = to_packets(rng, resp, proto)
    cf, sf = draw_flags(rng, proto)
    st_i, st_n = window_start(ctx, end, frac, c), window_start(ctx, end, frac, lay.nat)
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
    return interleave(n, legs)

def direct(ctx: Ctx, eni: Arr, ext: Arr, port: Arr, proto: Arr, req: Arr, resp: Arr,
            path: Arr, inbound: Arr | bool = False) -> Block:
    """An ENI talking straight to an outside address (gateway endpoint, internet gateway).

    inbound: the outside address opened the connection (to `port` on the ENI).
    """
    n, rng, lay = len(eni), ctx.rng, ctx.lay
    end, frac = draw_times(ctx, n)
    a = lay.eni_addr[eni].copy()
    v6 = lay.pool_v6[ext]
    a[v6] = lay.v6_addr
    eport = ephemeral_ports(rng, n)
    inbound = np.broadcast_to(np.asarray(inbound), (n,))
    # ports on the ENI / on the outside address
    my_port = np.where(inbound, port, eport)
    far_port = np.where(inbound, eport, port)
    qp, qb = to_packets(rng, req, proto)
    rp, rb = to_packets(rng, resp, proto)
    cf, sf = draw_flags(rng, proto)
    out_p, out_b, out_f = np.where(inbound, rp, qp), np.where(inbound, rb, qb), np.where(inbound, sf, cf)
    in_p, in_b, in_f = np.where(inbound, qp, rp), np.where(inbound, qb, rb), np.where(inbound, cf, sf)
    st = window_start(ctx, end, frac, eni)
    legs = [
        {"eni": eni, "dir": EGRESS, "path": path, "start": st, "end": end, "proto": proto,
         "src": a, "dst": ext, "psrc": a, "pdst": ext, "sport": my_port, "dport": far_port,
         "packets": out_p, "bytes": out_b, "flags": out_f},
        {"eni": eni, "dir": INGRESS, "start": st, "end": end, "proto": proto,
         "src": ext, "dst": a, "psrc": ext, "pdst": a, "sport": far_port, "dport": my_port,
         "packets": in_p, "bytes": in_b, "flags": in_f},
    ]
    return interleave(n, legs)

