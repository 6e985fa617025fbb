"""The run's filters of an organisation's bucket: accounts, Regions, VPCs.

They act where the raw logs are read, in the daily rollup's SQL (`{scope}`), so Athena
reads only the filtered accounts' and Regions' partitions (enum projection) and the logs
are still read once. A filtered run's rollups are its own (rollup_key): a rollup built
for one filter is never read for another.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_PATTERNS = {
    "account": (re.compile(r"\d{12}"), "an account ID is 12 digits"),
    "region": (re.compile(r"[a-z]{2}(-[a-z]+)+-\d"), "a Region looks like eu-west-1"),
    "vpc": (re.compile(r"vpc-[0-9a-f]{8,17}"), "a VPC ID looks like vpc-0123456789abcdef0"),
}
KINDS: tuple[str, ...] = tuple(_PATTERNS)
# The raw-log columns each filter tests: the partitions for accounts and Regions (what
# Athena prunes by), the record's vpc-id for VPCs.
_COLUMNS = {"account": "aws_account_id", "region": "aws_region", "vpc": "vpc_id"}


class ScopeError(ValueError):
    pass


def parse_ids(kind: str, value: str | list[str] | None) -> tuple[str, ...]:
    """`111122223333,444455556666` (or a list) as ids; ScopeError names the bad one."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    ids = tuple(dict.fromkeys(i.strip() for i in items))
    pattern, hint = _PATTERNS[kind]
    for i in ids:
        if not pattern.fullmatch(i):
            raise ScopeError(f"{kind} {i!r} is not valid ({hint})")
    return ids


@dataclass(frozen=True)
class Scope:
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    vpcs: tuple[str, ...] = ()

    @classmethod
    def parse(cls, account: str | list[str] | None = None, region: str | list[str] | None = None,
              vpc: str | list[str] | None = None) -> Scope:
        return cls(parse_ids("account", account), parse_ids("region", region), parse_ids("vpc", vpc))

    @classmethod
    def from_dict(cls, d: dict[str, list[str]]) -> Scope:
        return cls.parse(d.get("account"), d.get("region"), d.get("vpc"))

    def as_dict(self) -> dict[str, list[str]]:
        """report.json's `scope`: only the filters given."""
        pairs = zip(KINDS, (self.accounts, self.regions, self.vpcs), strict=True)
        return {k: list(v) for k, v in pairs if v}

    def __bool__(self) -> bool:
        return bool(self.accounts or self.regions or self.vpcs)

    def describe(self) -> str:
        """`account 111122223333, vpc vpc-0a…` for the report's lines."""
        return "; ".join(f"{k} {', '.join(v)}" for k, v in self.as_dict().items())

    def admits(self, account: str | None, region: str | None) -> bool:
        """Whether a prefix of this account and Region can hold records in scope (None: unknown)."""
        return ((account is None or not self.accounts or account in self.accounts)
                and (region is None or not self.regions or region in self.regions))

    def predicate(self) -> str:
        """The rollup's filter on the raw logs (ids are validated: safe to inline)."""
        tests = [f"{_COLUMNS[k]} IN ({', '.join(repr(i) for i in v)})" for k, v in self.as_dict().items()]
        return " AND ".join(tests) or "TRUE"

    def tgw_predicate(self) -> str:
        """The same filter on Transit Gateway records: the gateway's account and Region
        partitions, and a VPC on either side of the flow."""
        tests = [f"{_COLUMNS[k]} IN ({', '.join(repr(i) for i in v)})" for k, v in self.as_dict().items() if k != "vpc"]
        if self.vpcs:
            ids = ", ".join(repr(i) for i in self.vpcs)
            tests.append(f"(tgw_src_vpc_id IN ({ids}) OR tgw_dst_vpc_id IN ({ids}))")
        return " AND ".join(tests) or "TRUE"

    def rollup_key(self) -> str:
        """Where a filtered run keeps its rollups: `scope=<hash>` ('' for the whole bucket)."""
        if not self:
            return ""
        return "scope=" + hashlib.sha256(self.predicate().encode()).hexdigest()[:16]
