"""Thresholds and suppressions for the findings: one TOML file, defaults that keep a healthy day quiet.

The file is `--config FILE`, else $FLOWDIGEST_CONFIG, else ./flowdigest.toml, else
~/.config/flowdigest/config.toml; with none, the defaults below. docs/prices.md shows the format.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flowdigest.findings.model import KINDS, Finding
from flowdigest.pricing import GIB

# Admin and database ports: SSH, RDP, MySQL, PostgreSQL, MSSQL, Oracle, MongoDB, Redis,
# Elasticsearch, Docker API, etcd, memcached.
ADMIN_PORTS = (22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 2375, 2379, 11211)
ENV_VAR = "FLOWDIGEST_CONFIG"


class ConfigError(ValueError):
    """A config file flowdigest cannot use: one line naming the file, key and value."""


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # a cost finding below this is not reported: $5/month is ~111 GB through a NAT at $0.045/GB
    min_usd_per_month: float = Field(default=5.0, ge=0)
    # the flow logs' own cost (flow_log_cost, info) is shown from this much (`flowdigest demo`: 0)
    flow_log_min_usd_per_month: float = Field(default=5.0, ge=0)
    port_scan_min_distinct: int = Field(default=10, ge=1)  # distinct ports or addresses one rejected source tried
    new_destination_min_gib: float = Field(default=1.0, ge=0)  # a never-seen public destination's GiB that day
    admin_ports: tuple[int, ...] = ADMIN_PORTS

    @property
    def new_destination_min_bytes(self) -> int:
        return round(self.new_destination_min_gib * GIB)

    @field_validator("admin_ports")
    @classmethod
    def _ports(cls, ports: tuple[int, ...]) -> tuple[int, ...]:
        bad = [p for p in ports if not 0 <= p <= 65535]
        if bad:
            raise ValueError(f"{bad[0]} is not a port (0-65535)")
        return ports


class Suppression(BaseModel):
    """Hide findings of `kind` ("*": any) whose resource is `match`: an id, a name, an address or a CIDR."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    match: str
    reason: str | None = None
    expires: dt.date | None = None  # the last day it applies

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: str) -> str:
        if kind != "*" and kind not in KINDS:
            raise ValueError(f"{kind!r} is not a finding kind (one of *, {', '.join(KINDS)})")
        return kind

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        try:
            return ipaddress.ip_network(self.match, strict=False)
        except ValueError:
            return None

    def applies(self, f: Finding, today: dt.date) -> bool:
        if self.expires is not None and today > self.expires:
            return False
        if self.kind not in ("*", f.kind):
            return False
        candidates = _candidates(f)
        net = self.network()
        if net is None:
            return self.match in candidates
        return any(addr in net for addr in _addresses(candidates))


class FindingsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: Thresholds = Thresholds()
    suppress: tuple[Suppression, ...] = ()


def _candidates(f: Finding) -> set[str]:
    r = f.resource
    values = {r.id, r.name, r.subnet_id, r.vpc_id}
    # a finding about traffic also names the far end (a destination or a scanner's source address)
    values |= {v for k in ("address", "source", "destination") if isinstance(v := f.evidence.get(k), str)}
    return {v for v in values if v}


def _addresses(values: Iterable[str]) -> Iterable[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    for v in values:
        try:
            yield ipaddress.ip_address(v)
        except ValueError:
            continue


def apply_suppressions(findings: Iterable[Finding], config: FindingsConfig,
                       today: dt.date | None = None) -> tuple[list[Finding], dict[str, int]]:
    """The findings no suppression matches, and how many each reason hid (the first match counts)."""
    day = today or dt.datetime.now(dt.UTC).date()
    kept: list[Finding] = []
    hidden: Counter[str] = Counter()
    for f in findings:
        rule = next((s for s in config.suppress if s.applies(f, day)), None)
        if rule is None:
            kept.append(f)
        else:
            hidden[rule.reason or f"{rule.kind} {rule.match}"] += 1
    return kept, dict(hidden)


def locate(explicit: Path | None = None, environ: Mapping[str, str] | None = None,
           cwd: Path | None = None, home: Path | None = None) -> Path | None:
    """The config file to read: the one given, else $FLOWDIGEST_CONFIG, else the first that exists of
    ./flowdigest.toml and ~/.config/flowdigest/config.toml. A given file must exist; None = defaults."""
    env = os.environ if environ is None else environ
    given = explicit or (Path(env[ENV_VAR]) if env.get(ENV_VAR) else None)
    if given is not None:
        return given
    for path in ((cwd or Path.cwd()) / "flowdigest.toml", (home or Path.home()) / ".config/flowdigest/config.toml"):
        if path.is_file():
            return path
    return None


def load(path: Path | None) -> FindingsConfig:
    """The config in `path` (None: the defaults). Raises ConfigError with one line."""
    if path is None:
        return FindingsConfig()
    try:
        data = tomllib.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    return parse(data, str(path))


def parse(data: Mapping[str, Any], origin: str) -> FindingsConfig:
    try:
        return FindingsConfig.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".") or "config"
        shown = f" = {e['input']!r}" if "input" in e and not isinstance(e["input"], dict) else ""
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        msg = e["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{origin}: {key}{shown}: {msg}{more}") from None
