"""report.json's breakdown: the day's figures and findings per account and per VPC.

The figures come from the rollup (sql/breakdown.sql, one row per account, Region and VPC),
queried by the prepare step into the plan; each finding's account and Region from the
interface / subnet / VPC it names (sql/places.sql), filled in here, in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flowdigest.findings.model import Finding
from flowdigest.models import Breakdown, Report, ScopeFigures
from flowdigest.slack.limits import escape
from flowdigest.units import human_bytes, human_count, usd

# More interfaces than this and the plan (a Step Functions payload, 256 KiB) keeps only
# subnets and VPCs: a finding on an interface is then placed by its subnet or VPC.
MAX_INTERFACES = 2000
Place = list[str | None]  # [account, region, vpc]


def places(rows: list[dict[str, Any]]) -> dict[str, Place]:
    """id -> [account, Region, VPC] for every VPC, subnet and (up to a few thousand) interface."""
    out: dict[str, Place] = {}
    interfaces = {r["interface_id"] for r in rows if r["interface_id"]}
    keys = ("vpc_id", "subnet_id") + (("interface_id",) if len(interfaces) <= MAX_INTERFACES else ())
    for r in rows:
        for k in keys:
            if r[k]:
                out.setdefault(r[k], [r["account_id"], r["region"], r["vpc_id"]])
    return out


def _place(f: Finding, where: dict[str, Place]) -> Place:
    r = f.resource
    return next((where[k] for k in (r.id, r.subnet_id, r.vpc_id) if k and k in where), [None, None, None])


def locate(findings: Iterable[Finding], where: dict[str, Place]) -> list[Finding]:
    """The findings with their resource's account and Region filled in, where known."""
    out = []
    for f in findings:
        account, region, _ = _place(f, where)
        if account or region:
            r = f.resource
            f = f.model_copy(update={"resource": r.model_copy(
                update={"account_id": r.account_id or account, "region": r.region or region})})
        out.append(f)
    return out


def _rows(keyed: dict[str, list[int]], owner: dict[str, str | None], findings: dict[str, list[Finding]]
          ) -> list[ScopeFigures]:
    if len(keyed) <= 1:  # one account (or VPC): the headline already is its figures
        return []
    rows = [ScopeFigures(id=k, account_id=owner.get(k), flows=v[0], bytes=v[1], packets=v[2],
                         findings=len(findings[k]),
                         avoidable_usd_per_month=sum(f.usd_per_month or 0.0 for f in findings[k]
                                                     if f.severity != "info"))
            for k, v in keyed.items()]
    return sorted(rows, key=lambda r: (-r.bytes, r.id))


def build(scope_rows: list[dict[str, Any]], findings: list[Finding], where: dict[str, Place]) -> Breakdown:
    """Per account and per VPC: flows, bytes, packets, and the findings in it."""
    accounts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    vpcs: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    vpc_owner: dict[str, str | None] = {}
    for r in scope_rows:
        figures = (int(r["flows"] or 0), int(r["bytes"] or 0), int(r["packets"] or 0))
        for table, key in ((accounts, r["account_id"]), (vpcs, r["vpc_id"])):
            if key:
                table[key] = [a + b for a, b in zip(table[key], figures, strict=True)]
        if r["vpc_id"]:
            vpc_owner.setdefault(r["vpc_id"], r["account_id"])
    by_account: dict[str, list[Finding]] = defaultdict(list)
    by_vpc: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.resource.account_id:
            by_account[f.resource.account_id].append(f)
        if vpc := f.resource.vpc_id or _place(f, where)[2]:
            by_vpc[vpc].append(f)
    return Breakdown(accounts=_rows(accounts, {a: a for a in accounts}, by_account),
                     vpcs=_rows(vpcs, vpc_owner, by_vpc))


TOP = 5  # accounts / VPCs the message shows


def message_lines(report: Report) -> str | None:
    """The summary's per-account and per-VPC lines: the top few by bytes, when there is more than one."""
    parts = []
    for title, rows in (("account", report.breakdown.accounts), ("VPC", report.breakdown.vpcs)):
        if not rows:
            continue
        lines = [f"*By {title}* (top {min(TOP, len(rows))} of {len(rows)} by bytes)"]
        for r in rows[:TOP]:
            owner = f" ({r.account_id})" if title == "VPC" and r.account_id else ""
            money = f", {usd(r.avoidable_usd_per_month)}/month avoidable" if r.findings else ""
            lines.append(f"• `{escape(r.id)}`{escape(owner)}: {human_bytes(r.bytes)}, "
                         f"{human_count(r.flows)} flows{money}")
        parts.append("\n".join(lines))
    return "\n".join(parts) or None


def filter_note(report: Report) -> str:
    """` · filtered to account 1111…` for a filtered run's lines, else ''."""
    if not report.scope:
        return ""
    return " · filtered to " + "; ".join(f"{k} {', '.join(v)}" for k, v in report.scope.items())
