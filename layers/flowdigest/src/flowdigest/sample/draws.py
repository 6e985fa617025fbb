"""Random draws shared by the network layout and the traffic: ranks, sizes, packets, flags."""

from __future__ import annotations

import math

import numpy as np

from flowdigest.sample.codes import Arr


def zipf_cdf(n: int, s: float) -> Arr:
    w = 1.0 / np.arange(1, n + 1) ** s
    c: Arr = np.cumsum(w / w.sum())
    c[-1] = 1.0
    return c


def pick(rng: np.random.Generator, cdf: Arr, n: int) -> Arr:
    out: Arr = np.searchsorted(cdf, rng.random(n), side="right")
    return np.minimum(out, len(cdf) - 1)


def draw_sizes(rng: np.random.Generator, scale: Arr) -> Arr:
    out: Arr = np.minimum(scale * rng.lognormal(0.0, 1.0, len(scale)), 5e9).astype(np.int64)
    return out


def to_packets(rng: np.random.Generator, nbytes: Arr, proto: Arr) -> tuple[Arr, Arr]:
    size = np.where(proto == 17, rng.integers(60, 300, len(nbytes)), rng.integers(300, 1400, len(nbytes)))
    packets = np.maximum(1, np.ceil(nbytes / size)).astype(np.int64)
    return packets, np.maximum(nbytes.astype(np.int64), 40 * packets)


def draw_flags(rng: np.random.Generator, proto: Arr) -> tuple[Arr, Arr]:
    # FIN 1, SYN 2, SYN-ACK 18 (AWS reports these OR-ed, no ACK); mid-flow windows show 0.
    c = rng.choice(np.array([0, 2, 1, 3]), len(proto), p=[0.35, 0.15, 0.15, 0.35])
    s = np.where(c & 2, c | 16, c)
    tcp = proto == 6
    return np.where(tcp, c, 0), np.where(tcp, s, 0)


def ephemeral_ports(rng: np.random.Generator, n: int) -> Arr:
    return rng.integers(32768, 61000, n)


def stochastic_round(rng: np.random.Generator, x: float) -> int:
    # stochastic rounding keeps small days' expected counts right
    f = math.floor(x)
    return f + int(rng.random() < x - f)
