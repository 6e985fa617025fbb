"""Sample days: the plan of a day (records per category per hour, files per hour) and its files."""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from flowdigest import s3layout
from flowdigest.sample.codes import Arr
from flowdigest.sample.draws import stochastic_round
from flowdigest.sample.network import Layout, layout, network_key
from flowdigest.sample.profile import DayProfile
from flowdigest.sample.records import Ctx
from flowdigest.sample.traffic import (
    CATEGORIES,
    PLANTED_HOURS,
    PLANTED_MIN_RECORDS,
    NewTalkers,
    category_shares,
    diurnal_curve,
    file_block,
    new_talkers_plan,
)
from flowdigest.sample.writer import arrow_table, write_parquet

# Below this a day has one file an hour: every file has a NODATA record, and 48 of them
# would be more than the records asked for.
_ONE_FILE_AN_HOUR_RECORDS = 1000


def hour_prefix(root: Path, day: dt.date, hour: int, account_id: str = "123456789012",
                region: str = "us-east-1") -> Path:
    """The Hive-compatible folder AWS delivers one hour's files to."""
    return root / s3layout.hive_hour_prefix(account_id, region, day, hour)


@dataclass
class _DayPlan:
    """What each file of a day holds: rows per (category, hour) and the files of each hour."""

    day: dt.date
    seed: int
    profile: DayProfile
    lay: Layout
    rows: dict[str, Arr]  # category -> expected rows in each of the 24 hours
    per_conv: dict[str, float]  # category -> records per conversation
    delivered: list[int]  # hours with files
    jobs: list[tuple[int, int, int]]  # (hour, file index, files that hour)
    new_talkers: NewTalkers | None
    planted: bool  # the planted findings (traffic.planted_findings) are in this day

    @property
    def day_start(self) -> int:
        d = self.day
        return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp())


def _plan(day: dt.date, records: int, seed: int, p: DayProfile) -> _DayPlan:
    lay = layout(seed, network_key(p))
    shares = category_shares(p)
    per_conv = {c.name: float(c.rows) for c in CATEGORIES}
    per_conv["east_west"] = lay.pair_rows
    curve = diurnal_curve(np.arange(24, dtype=float))
    rows = {c.name: records * shares[c.name] * (curve / curve.sum() if c.business_hours else np.full(24, 1 / 24))
            for c in CATEGORIES}
    delivered = [h for h in range(24) if h not in set(p.missing_hours)]
    jobs: list[tuple[int, int, int]] = []
    for h in delivered:
        hour_rows = sum(float(r[h]) for r in rows.values())
        n_files = p.files_per_hour or (1 if records < _ONE_FILE_AN_HOUR_RECORDS else
                                       min(6, max(2, math.ceil(hour_rows / 100_000))))
        jobs.extend((h, k, n_files) for k in range(n_files))
    planted = p.planted_findings and records >= PLANTED_MIN_RECORDS  # a tiny day keeps about its record count
    return _DayPlan(day, seed, p, lay, rows, per_conv, delivered, jobs, new_talkers_plan(p, records, delivered),
                    planted)


def _write_file(root: Path, plan: _DayPlan, job: tuple[int, int, int]) -> tuple[Path | None, int]:
    """One delivered file (none when it would be empty, as AWS writes none). Its own random
    stream: its content depends on the seed, day, hour, file index and profile only."""
    h, k, n_files = job
    day, p, net = plan.day, plan.profile, plan.lay.net
    rng = np.random.default_rng([plan.seed, day.toordinal(), h, k])
    t0 = plan.day_start + h * 3600 + k * 3600 // n_files
    t1 = plan.day_start + h * 3600 + (k + 1) * 3600 // n_files
    ctx = Ctx(rng, plan.lay, t0, t1, plan.day_start, nat=p.nat_traffic,
              split_aws=p.gateway_endpoint and p.nat_traffic,
              force_skip=p.nodata and h == plan.delivered[0] and k == 0)
    conv = {name: stochastic_round(rng, float(plan.rows[name][h]) / plan.per_conv[name] / n_files)
            for name in plan.rows}
    if p.nodata:  # a few on every file, as idle ENIs report them all day
        conv["no_data"] = max(1, conv["no_data"])
    novel = plan.new_talkers if plan.new_talkers and h in plan.new_talkers.hours and k == 0 else None
    planted = plan.planted and h in PLANTED_HOURS and k == 0
    table = arrow_table(file_block(ctx, p, conv, novel, planted), plan.lay, net.account_id, net.region)
    minute = min(55, (k + 1) * 60 // n_files // 5 * 5)
    at = dt.datetime(day.year, day.month, day.day, h, minute)
    name = s3layout.object_name(net.account_id, net.region, net.flow_log_id, at, int(rng.integers(0, 2**32)),
                                "log.parquet")
    if table.num_rows == 0:  # a tiny day without NODATA records
        return None, 0
    path = hour_prefix(root, day, h, net.account_id, net.region) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(table, path, p.compression_level)
    return path, table.num_rows


def clear_day(root: Path, day: dt.date, account_id: str, region: str) -> None:
    """Remove a prefix's files of the day: a re-run replaces the day instead of adding to it."""
    day_dir = hour_prefix(root, day, 0, account_id, region).parent
    if day_dir.exists():
        for old in day_dir.glob("hour=*/*.log.parquet"):
            old.unlink()


def _write_day(root: Path, day: dt.date, records: int, seed: int, p: DayProfile,
               workers: int | None = None, clear: bool = True) -> tuple[list[Path], int]:
    plan = _plan(day, records, seed, p)
    if clear:  # not when several VPCs share the prefix (sample.org clears it once)
        clear_day(root, day, p.account_id, p.region)

    def one_file(job: tuple[int, int, int]) -> tuple[Path | None, int]:
        return _write_file(root, plan, job)

    # Files are independent (own random stream), so threads change speed, not content; numpy
    # and the Parquet writer release the GIL. map() keeps at most `workers` files in memory.
    n_workers = workers or min(2, os.cpu_count() or 1)
    if n_workers > 1:
        with ThreadPoolExecutor(n_workers) as pool:
            done = list(pool.map(one_file, plan.jobs))
    else:
        done = [one_file(j) for j in plan.jobs]
    return [d[0] for d in done if d[0]], sum(d[1] for d in done)
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
                  progress: Callable[[dt.date, list[Path], int, float], None] | None = None,
                  clear: bool = True) -> list[Path]:
    """The report day and the `days - 1` before it, oldest first; returns every file written
    (`clear=False`: the days' earlier files in the prefix stay, another VPC's).

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
        paths, rows = _write_day(root, day, n, seed, p, workers, clear)
        out.extend(paths)
        if progress:
            progress(day, paths, rows, time.perf_counter() - t)
    return out

