"""List prices the report's dollar figures assume: a region's table (price_table.py), overridable by a file.

`resolve(region, file)` is the one way in: the region's figures, then the file's, checked. Today's four
keys must be known (the insights use them); the newer ones may be None, meaning "unknown", never 0.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flowdigest import price_table

GIB = 1024**3  # AWS bills data transfer and processing per GB of 2^30 bytes
HOURS_PER_MONTH = 730  # AWS's pricing month
DEFAULT_REGION = "us-east-1"
REQUIRED = ("nat_per_gb", "cross_az_per_gb", "internet_egress_per_gb", "athena_per_tb")


class PricesError(ValueError):
    """A region or prices file flowdigest cannot use: one line naming the file, key and value."""


class Prices(BaseModel):
    """USD list prices for one region. Defaults are us-east-1's (price_table.REGIONS)."""

    model_config = ConfigDict(extra="forbid")

    region: str = DEFAULT_REGION
    nat_per_gb: float = 0.045  # NAT gateway data processed, either direction
    cross_az_per_gb: float = 0.01  # each way
    internet_egress_per_gb: float = 0.09  # first tier
    athena_per_tb: float = 5.0
    nat_per_hour: float | None = 0.045
    endpoint_per_hour_per_az: float | None = 0.01  # interface endpoint (PrivateLink)
    endpoint_per_gb: float | None = 0.01  # first tier
    flow_logs_s3_per_gb: float | None = 0.25  # vended logs delivered to S3, first tier
    flow_logs_parquet_per_gb: float | None = None  # Parquet conversion surcharge: not found for us-east-1
    # key -> the AWS pricing page, or "override: <file>" for a figure a prices file gave
    sources: dict[str, str] = Field(default_factory=lambda: dict(price_table.SOURCES))

    def nat_cost(self, nbytes: float) -> float:
        return per_gb_cost(nbytes, self.nat_per_gb)

    @classmethod
    def for_region(cls, region: str) -> Prices:
        return resolve(region)


PRICE_KEYS = tuple(k for k in Prices.model_fields if k not in ("region", "sources"))


MB, TB = 2**20, 2**40
ATHENA_MIN_BILLED = 10 * MB  # Athena bills at least 10 MB a query


def athena_billed_bytes(scanned: int) -> int:
    """What Athena bills for one query that scanned `scanned` bytes: rounded up to a whole MB,
    10 MB at least (its pricing page)."""
    return max(ATHENA_MIN_BILLED, -(-scanned // MB) * MB)


def athena_cost(billed_bytes: int, prices: Prices) -> float:
    """Billed bytes at the price per TB (TB = 2^40 bytes, as the bench counts it)."""
    return billed_bytes / TB * prices.athena_per_tb


def per_gb_cost(nbytes: float, usd_per_gb: float) -> float:
    return nbytes / GIB * usd_per_gb


def usd_per_month(usd_per_day: float) -> float:
    """A day's cost as a month's: × 730 hours / 24."""
    return usd_per_day * HOURS_PER_MONTH / 24


def endpoint_break_even_gb_per_month(prices: Prices, azs: int) -> float | None:
    """The monthly GB through the NAT above which an interface endpoint costs less.

    The NAT's hourly charge is paid anyway (it still serves other traffic), so the comparison is
    NAT per GB against the endpoint's hours plus its per GB:
        V × nat_per_gb = endpoint_per_hour_per_az × azs × 730 + V × endpoint_per_gb
        V = endpoint_per_hour_per_az × azs × 730 / (nat_per_gb − endpoint_per_gb)
    None when a price is unknown, or when the endpoint's per GB is not below the NAT's (no volume
    breaks even).
    """
    if azs < 1:
        raise ValueError(f"azs must be at least 1, not {azs}")
    hourly, per_gb = prices.endpoint_per_hour_per_az, prices.endpoint_per_gb
    if hourly is None or per_gb is None or prices.nat_per_gb <= per_gb:
        return None
    return hourly * azs * HOURS_PER_MONTH / (prices.nat_per_gb - per_gb)


def known_regions() -> list[str]:
    return sorted(price_table.REGIONS)


def resolve(region: str | None = None, file: Path | None = None,
            overrides: dict[str, Any] | None = None, origin: str = "override") -> Prices:
    """The prices for `region` (else the file's `region`, else us-east-1), with the figures of
    `file` (the CLI's --prices) or else of `overrides` (the AWS settings, named by `origin`) on
    top. Raises PricesError when the region is unknown or a required price is missing for it."""
    given = load_file(file) if file is not None else check_overrides(overrides or {}, origin)
    origin = f"override: {file}" if file is not None else origin
    name = region or given.pop("region", None) or DEFAULT_REGION
    given.pop("region", None)
    if name not in price_table.REGIONS:
        raise PricesError(f"unknown region {name!r}: prices are known for {', '.join(known_regions())} "
                          "(give the rest with --prices FILE)")
    values: dict[str, Any] = {**price_table.REGIONS[name], **given}
    missing = [k for k in REQUIRED if values[k] is None]
    if missing:
        raise PricesError(f"{name}: {', '.join(missing)} not found in the stored AWS price pages; "
                          "give them with --prices FILE (FLOWDIGEST_PRICES_OVERRIDE in AWS)")
    sources = dict(price_table.SOURCES) | {k: origin for k in given}
    return Prices(region=name, sources=sources, **values)


def load_file(path: Path) -> dict[str, Any]:
    """A prices file (TOML or JSON, by suffix) holding any subset of the keys, plus `region`."""
    try:
        text = path.read_text()
    except OSError as e:
        raise PricesError(f"{path}: cannot read the prices file ({e.strerror})") from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise PricesError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    elif path.suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise PricesError(f"{path}: not valid TOML ({e})") from None
    else:
        raise PricesError(f"{path}: a prices file ends in .toml or .json")
    if not isinstance(data, dict):
        raise PricesError(f"{path}: expected a table of prices, found {type(data).__name__}")
    return check_overrides(data, str(path))


def check_overrides(data: dict[str, Any], origin: str) -> dict[str, Any]:
    """Validate override figures: known keys, numbers ≥ 0 (or null for "unknown")."""
    checked: dict[str, Any] = {}
    for key, value in data.items():
        if key == "region":
            if not isinstance(value, str):
                raise PricesError(f"{origin}: region = {value!r} is not a region name")
            checked[key] = value
            continue
        if key not in PRICE_KEYS:
            raise PricesError(f"{origin}: unknown key {key!r} (known: region, {', '.join(PRICE_KEYS)})")
        if value is None and key not in REQUIRED:
            checked[key] = None
            continue
        number_like = isinstance(value, int | float) and not isinstance(value, bool)
        if not number_like or not math.isfinite(value) or value < 0:
            raise PricesError(f"{origin}: {key} = {value!r} is not a price (a number ≥ 0, USD)")
        checked[key] = float(value)
    return checked
