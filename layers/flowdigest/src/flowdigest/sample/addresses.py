"""Addresses and AWS resource ids for the generated VPC and the internet around it."""

from __future__ import annotations

import ipaddress

import numpy as np

from flowdigest.sample.codes import Arr


def aws_id(rng: np.random.Generator, prefix: str) -> str:
    # Current AWS resource ids: 17 hex digits, in practice starting with 0.
    return f"{prefix}-0{int(rng.integers(0, 2**62)):016x}"


def ipv4_strings(ints: Arr) -> list[str]:
    return [f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}" for a in ints.tolist()]


def hosts_in(rng: np.random.Generator, cidrs: tuple[str, ...], n: int) -> Arr:
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


def internet_ipv4(rng: np.random.Generator, n: int) -> Arr:
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


def v6_tail(rng: np.random.Generator) -> str:
    return ":".join(f"{int(x):x}" for x in rng.integers(0, 0xFFFF, 4))
