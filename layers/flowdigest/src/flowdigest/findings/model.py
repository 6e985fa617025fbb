"""A finding as report.json carries it, its ranking and the summary line's figures.

Import-light on purpose (pydantic and the money constants only): the report, the message and the
tests all read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, model_validator

from flowdigest.pricing import usd_per_month

Severity = Literal["high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low", "info")
Kind = Literal["gateway_endpoint_bypass", "nat_cross_az", "cross_az", "internet_egress", "aws_service_via_nat",
               "exposed_port", "port_scan", "new_external_destination", "flow_log_cost"]
KINDS: tuple[str, ...] = get_args(Kind)


class Resource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str  # subnet, interface, az_pair, address, service, ...
    id: str
    name: str | None = None  # from the inventory when there is one
    subnet_id: str | None = None
    vpc_id: str | None = None
    az_id: str | None = None
    account_id: str | None = None  # the AWS account the resource is in, when the logs say
    region: str | None = None


class Finding(BaseModel):
    """One thing to change. Money is None where it does not apply or a price is unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    severity: Severity
    title: str
    resource: Resource
    bytes: int | None = None
    usd_per_day: float | None = None
    usd_per_month: float | None = None  # filled from usd_per_day (× 730 / 24) when not given
    fix: str
    evidence: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _month_from_day(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("usd_per_day") is not None and data.get("usd_per_month") is None:
            data = {**data, "usd_per_month": usd_per_month(data["usd_per_day"])}
        return data

    @model_validator(mode="after")
    def _one_month(self) -> Self:
        if self.usd_per_day is not None and self.usd_per_month is not None:
            expected = usd_per_month(self.usd_per_day)
            if abs(self.usd_per_month - expected) > 1e-9 * max(1.0, abs(expected)):
                raise ValueError(f"usd_per_month {self.usd_per_month} is not usd_per_day × 730 / 24 ({expected})")
        return self


def rank_key(f: Finding) -> tuple[int, float, int, str, str]:
    # Findings without a dollar figure come after every priced one; then severity; then a stable order.
    priced = f.usd_per_month is not None
    return (0 if priced else 1, -(f.usd_per_month or 0.0), SEVERITIES.index(f.severity), f.kind, f.resource.id)


def rank(findings: Iterable[Finding]) -> list[Finding]:
    """Largest usd_per_month first; ties by severity high > medium > low > info."""
    return sorted(findings, key=rank_key)


def findings_summary(findings: Iterable[Finding]) -> dict[str, Any]:
    """report.json's findings_summary: the avoidable $/month and the count per severity.

    Info findings are not avoidable cost: the digest's own flow-log and Athena cost, or AWS-service
    traffic below the interface endpoint's break-even, where acting would not save money.
    """
    items = list(findings)
    by_severity = {s: sum(1 for f in items if f.severity == s) for s in SEVERITIES}
    avoidable = sum(f.usd_per_month or 0.0 for f in items if f.severity != "info")
    return {"avoidable_usd_per_month": avoidable, "by_severity": by_severity}
