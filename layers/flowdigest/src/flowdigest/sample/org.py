"""An organisation's sample days: N accounts × M Regions × K VPCs, each VPC a sample network
of its own (sample.network), written under its account's and Region's own AWSLogs/ prefix
as a central log-archive bucket receives them.

Deterministic by seed: the account ids, each VPC's network and its share of the records
come from the seed alone. The busiest VPC carries the most records (a Zipf-like split),
so the per-account and per-VPC views have an order to show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from flowdigest.sample.days import clear_day, generate_days
from flowdigest.sample.network import network
from flowdigest.sample.profile import DayProfile
from flowdigest.sample.tgw import TgwVpc

# Regions in the order an organisation's day uses them, with their AZ-id prefix.
REGIONS: tuple[tuple[str, str], ...] = (
    ("us-east-1", "use1"), ("eu-west-1", "euw1"), ("ap-southeast-2", "apse2"), ("us-west-2", "usw2"),
    ("eu-central-1", "euc1"), ("ap-northeast-1", "apne1"), ("ca-central-1", "cac1"), ("sa-east-1", "sae1"),
)


@dataclass(frozen=True)
class OrgVpc:
    account_id: str
    region: str
    index: int  # the VPC's number in its account and Region
    seed: int  # its network's and records' seed
    share: float  # its part of the day's records


def org_vpcs(accounts: int, regions: int, vpcs: int, seed: int) -> list[OrgVpc]:
    """The organisation's VPCs, account by account, Region by Region."""
    if regions > len(REGIONS):
        raise ValueError(f"at most {len(REGIONS)} Regions")
    rng = np.random.default_rng([seed, 0x0A6])
    ids = rng.choice(9 * 10**11, size=accounts, replace=False) + 10**11  # distinct, 12 digits
    n = accounts * regions * vpcs
    weights = 1.0 / np.arange(1, n + 1) ** 0.8
    weights = weights[rng.permutation(n)] / weights.sum()
    seeds = rng.integers(0, 2**31, size=n)
    out = []
    for i, account in enumerate(ids):
        for j in range(regions):
            for k in range(vpcs):
                x = (i * regions + j) * vpcs + k
                out.append(OrgVpc(str(account), REGIONS[j][0], k, int(seeds[x]), float(weights[x])))
    return out


def vpc_profile(base: DayProfile, v: OrgVpc) -> DayProfile:
    az = dict(REGIONS)[v.region]
    return replace(base, account_id=v.account_id, region=v.region, vpc_cidr=f"10.{v.index}.0.0/16",
                   az_ids=(f"{az}-az1", f"{az}-az2"))


def generate_org_days(root: Path, last_day: dt.date, *, accounts: int, regions: int, vpcs: int,
                      days: int = 8, records: int = 200_000, seed: int = 0, profile: DayProfile | None = None,
                      workers: int | None = None,
                      progress: Callable[[dt.date, list[Path], int, float], None] | None = None) -> list[Path]:
    """Write the organisation's days (`records` on the last day, over all its VPCs); returns the files.

    `progress(day, files, rows, seconds)` is called after each VPC's day.
    """
    base = profile or DayProfile()
    org = org_vpcs(accounts, regions, vpcs, seed)
    for v in org:
        if v.index == 0:  # the prefix's days, once, before any of its VPCs writes
            for back in range(days):
                clear_day(root, last_day - dt.timedelta(days=back), v.account_id, v.region)
    out: list[Path] = []
    for v in org:
        out += generate_days(root, last_day, days=days, records=max(1, round(records * v.share)), seed=v.seed,
                             profile=vpc_profile(base, v), workers=workers, progress=progress, clear=False)
    return out


def tgw_vpcs(org: list[OrgVpc], profile: DayProfile | None = None) -> list[TgwVpc]:
    """The organisation's VPCs as a Transit Gateway sees them (flowdigest.sample.tgw): each
    one's private subnets and their AZs, from the network its seed generates."""
    base = profile or DayProfile()
    out = []
    for v in org:
        net = network(v.seed, vpc_profile(base, v))
        private = tuple(s for s, (_, _, public) in net.subnets.items() if not public)
        out.append(TgwVpc(v.account_id, v.region, net.vpc_id, private, tuple(net.subnets[s][1] for s in private),
                          cidr_octet=v.index))
    return out
