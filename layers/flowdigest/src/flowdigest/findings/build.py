"""The findings from the findings insight's rows (its query.sql counts; this prices, names and judges).

`judge(rows, ctx)` gives the day's findings, filtered by the thresholds and the suppressions, ranked,
and what the suppressions hid; `skipped(ctx)` the kinds the day's data cannot give.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowdigest.findings.config import FindingsConfig, Thresholds, apply_suppressions
from flowdigest.findings.model import Finding, Resource, rank
from flowdigest.pricing import GIB, athena_cost, endpoint_break_even_gb_per_month, per_gb_cost, usd_per_month
from flowdigest.units import human_bytes, usd

if TYPE_CHECKING:  # the insights package imports this module while it loads
    from flowdigest.insights.base import Context, Rows

# The flow-log columns each kind needs; without them it is skipped (with this reason).
NEEDS: dict[str, tuple[str, ...]] = {
    "gateway_endpoint_bypass": ("pkt_srcaddr", "pkt_dstaddr", "pkt_dst_aws_service"),
    "nat_cross_az": ("pkt_srcaddr", "pkt_dstaddr", "az_id", "flow_direction"),
    "cross_az": ("az_id", "flow_direction"),
    "aws_service_via_nat": ("pkt_srcaddr", "pkt_dstaddr", "pkt_dst_aws_service"),
    # accepted / rejected: without `action` the cost kinds take every record as accepted (the
    # bytes were carried either way), the risk kinds cannot tell an open port from a closed one
    "exposed_port": ("action",),
    "port_scan": ("action",),
}
COST_KINDS = ("gateway_endpoint_bypass", "nat_cross_az", "cross_az", "internet_egress", "aws_service_via_nat",
              "flow_log_cost")
SERVICE_NAMES = {"S3": "s3", "DYNAMODB": "dynamodb"}
SERVICE_TAG_NOTE = ("the service tag names the AWS service's address range, not the API: "
                    "check which calls these are before adding an endpoint")


def skipped(ctx: Context) -> dict[str, str]:
    """kind -> why the day's data cannot give it."""
    out = {}
    for kind, cols in NEEDS.items():
        missing = [c for c in cols if ctx.fields and c not in ctx.fields]
        if missing:
            out[kind] = f"needs {', '.join(c.replace('_', '-') for c in missing)}, not in this flow log's format"
    if not ctx.history_days:
        out["new_external_destination"] = "no earlier day has a rollup to compare with"
    return out


def _config(ctx: Context) -> FindingsConfig:
    return ctx.findings_config or FindingsConfig()


def _name(ctx: Context, key: str | None) -> str | None:
    """The inventory's name for an interface, address or subnet id; None without one."""
    if not key:
        return None
    if key.startswith("subnet-") and ctx.routes is not None:
        sub = ctx.routes.subnets.get(key)
        return sub.tags.get("Name") if sub else None
    if ctx.names is not None and not key.startswith("subnet-"):
        return ctx.names.entry(key).get("name")
    return None


def _resource(ctx: Context, typ: str, r: dict[str, Any], rid: str | None = None) -> Resource:
    rid = rid or r["resource_id"]
    return Resource(type=typ, id=rid, name=_name(ctx, rid), subnet_id=r.get("subnet_id"),
                    vpc_id=r.get("vpc_id"), az_id=r.get("az_id"))


def _label(res: Resource) -> str:
    return f"{res.name} ({res.id})" if res.name else res.id


def _sender(ctx: Context, r: dict[str, Any]) -> Resource:
    typ = "subnet" if str(r["resource_id"]).startswith("subnet-") else "address"
    return _resource(ctx, typ, r)


def _bypass(r: dict[str, Any], ctx: Context) -> Finding:
    res = _sender(ctx, r)
    service = r["service"]
    short = SERVICE_NAMES.get(service, service.lower())
    table = endpoint = None
    if ctx.routes is not None and res.type == "subnet":
        rt = ctx.routes.route_table_for(res.id, res.vpc_id)
        table = rt.id if rt else None
        found = ctx.routes.gateway_endpoints(res.vpc_id or (rt.vpc_id if rt else "") or "")
        endpoint = next((e.id for e in (found or {}).get(short, [])), None)
    where = f"route table {table}" if table else f"the route table of {res.id}"
    if endpoint:
        fix = f"Associate the {service} gateway endpoint {endpoint} with {where}."
    else:
        fix = f"Create a gateway endpoint for {service} in {res.vpc_id or 'the VPC'} and associate it with {where}."
    return Finding(kind="gateway_endpoint_bypass", severity="medium", resource=res, bytes=r["bytes"],
                   title=f"{service} traffic from {_label(res)} goes through the NAT gateway",
                   usd_per_day=per_gb_cost(r["bytes"], ctx.prices.nat_per_gb), fix=fix,
                   evidence={"service": service, "flows": r["flows"], "route_table": table,
                             "gateway_endpoint": endpoint, "nat_per_gb": ctx.prices.nat_per_gb})


def _nat_id(ctx: Context, interface_id: str) -> str:
    if ctx.routes is not None:
        for nat in ctx.routes.nat_gateways():
            if interface_id in nat.interface_ids:
                return nat.id
    return interface_id


def _nat_label(ctx: Context, interface_id: str) -> str:
    """The NAT gateway of an interface as a line shows it: "egress-nat (nat-…)", else its id."""
    nat, name = _nat_id(ctx, interface_id), _name(ctx, interface_id)
    return f"{name} ({nat})" if name and name != nat else nat


def _shown(ctx: Context, key: str) -> str:
    """An interface or address in a line: "name (id)" where the inventory names it."""
    name = _name(ctx, key)
    return f"{name} ({key})" if name and key not in name else name or key


def _nat_cross_az(r: dict[str, Any], ctx: Context) -> Finding:
    res = _sender(ctx, r)
    nat = _nat_id(ctx, r["peer_id"])
    return Finding(kind="nat_cross_az", severity="medium", resource=res, bytes=r["bytes"],
                   title=f"{_label(res)} in {r['az_id']} uses the NAT gateway {_nat_label(ctx, r['peer_id'])} "
                         f"in {r['peer_az']}",
                   usd_per_day=per_gb_cost(r["bytes"], ctx.prices.cross_az_per_gb) * 2,
                   fix=f"Route {_label(res)} to a NAT gateway in its own AZ ({r['az_id']}) instead of {nat}.",
                   evidence={"nat_gateway": nat, "nat_interface": r["peer_id"], "nat_az_id": r["peer_az"],
                             "flows": r["flows"]})


def _cross_az(r: dict[str, Any], ctx: Context, pairs: list[dict[str, Any]]) -> Finding:
    top = [{"sender": p["interface_id"], "sender_name": _name(ctx, p["interface_id"]), "receiver": p["peer_id"],
            "receiver_name": _name(ctx, p["peer_id"]), "bytes": p["bytes"]} for p in pairs]
    lead = ""
    if top:  # the inventory's names when it has them: "app-1 (eni-…)"
        ends = [Resource(type="interface", id=top[0][end] or "unknown", name=top[0][f"{end}_name"])
                for end in ("sender", "receiver")]
        lead = f" (most: {_label(ends[0])} → {_label(ends[1])})"
    return Finding(kind="cross_az", severity="low", resource=Resource(type="az_pair", id=r["resource_id"]),
                   bytes=r["bytes"], title=f"Traffic between AZs {r['resource_id'].replace('->', ' and ')}",
                   usd_per_day=per_gb_cost(r["bytes"], ctx.prices.cross_az_per_gb) * 2,
                   fix=f"Keep the chattiest pairs in one AZ or use AZ-aware routing{lead}.",
                   evidence={"top_pairs": top, "flows": r["flows"]})


def _internet(r: dict[str, Any], ctx: Context) -> Finding:
    res = _resource(ctx, "interface", r)
    note = {} if not ctx.fields or "pkt_dst_aws_service" in ctx.fields else {
        "note": "no pkt-dst-aws-service in this format: AWS-service addresses are counted as internet"}
    return Finding(kind="internet_egress", severity="low", resource=res, bytes=r["bytes"],
                   title=f"{_label(res)} sends {human_bytes(r['bytes'])} a day to the internet",
                   usd_per_day=per_gb_cost(r["bytes"], ctx.prices.internet_egress_per_gb),
                   fix=f"Review what {_label(res)} sends to its {r['distinct_count']} internet destinations: "
                       "cache, compress or serve it through a CDN.",
                   evidence={"destinations": r["distinct_count"], "flows": r["flows"], **note})


def _service(r: dict[str, Any], ctx: Context) -> Finding:
    azs = max(1, int(r["distinct_count"] or 0))
    even = endpoint_break_even_gb_per_month(ctx.prices, azs)
    gb_month = usd_per_month(r["bytes"] / GIB)
    below = even is not None and gb_month < even
    service = r["service"]
    fix = (f"No change: {gb_month:.0f} GB/month is below an interface endpoint's break-even ({even:.0f} GB/month)."
           if below and even is not None else
           f"Create an interface endpoint for {service} in the {azs} AZ(s) that use it, after checking the API.")
    return Finding(kind="aws_service_via_nat", severity="info" if below else "medium",
                   resource=Resource(type="service", id=service, vpc_id=r.get("vpc_id")), bytes=r["bytes"],
                   title=f"{service} traffic through the NAT gateway",
                   usd_per_day=per_gb_cost(r["bytes"], ctx.prices.nat_per_gb), fix=fix,
                   evidence={"service": service, "gb_per_month": gb_month, "break_even_gb_per_month": even,
                             "azs": azs, "flows": r["flows"], "note": SERVICE_TAG_NOTE})


def _exposed(r: dict[str, Any], ctx: Context) -> Finding:
    res = _resource(ctx, "interface", r)
    return Finding(kind="exposed_port", severity="high", resource=res,
                   title=f"Port {r['port']} on {_label(res)} accepts connections from the internet",
                   fix=f"Restrict the security group of {_label(res)} on port {r['port']} to known sources.",
                   evidence={"port": r["port"], "sources": r["distinct_count"], "flows": r["flows"]})


def _scan(r: dict[str, Any], ctx: Context) -> Finding:
    found = bool(r["accepted"])
    src = _shown(ctx, r["resource_id"])
    fix = (f"Check what {src} reached on the listening ports that accepted it and close them in the security group."
           if found else f"Nothing accepted it; block {src} in the network ACL if it keeps on.")
    return Finding(kind="port_scan", severity="high" if found else "low",
                   resource=_resource(ctx, "address", r), bytes=r["bytes"],
                   title=f"{src} probed {r['distinct_count']} ports and {r['distinct_other']} addresses"
                         + (" and was accepted on a listening port" if found else ""),
                   fix=fix, evidence={"address": r["resource_id"], "ports": r["distinct_count"],
                                      "addresses": r["distinct_other"], "flows": r["flows"], "accepted": found})


def _new_destination(r: dict[str, Any], ctx: Context) -> Finding:
    dest = _shown(ctx, r["resource_id"])
    return Finding(kind="new_external_destination", severity="medium", resource=_resource(ctx, "address", r),
                   bytes=r["bytes"], title=f"New destination {dest} received {human_bytes(r['bytes'])}",
                   fix=f"Confirm the transfer to {dest} is expected, then suppress it in the config.",
                   evidence={"destination": r["resource_id"], "senders": r["distinct_count"], "flows": r["flows"],
                             "history_days": len(ctx.history_days)})


def flow_log_cost(ctx: Context) -> Finding | None:
    """The day's delivered flow-log bytes at the delivery price (its usd), and beside it the
    digest's own Athena scans at athena_per_tb: unknown (None) off Athena, never 0."""
    if not ctx.source_bytes:
        return None
    price = ctx.prices.flow_logs_s3_per_gb
    parquet = ctx.prices.flow_logs_parquet_per_gb
    billed = ctx.athena_billed_bytes
    athena = None if billed is None else athena_cost(billed, ctx.prices)
    scans = "unknown" if athena is None else f"${athena:.4f} a day"
    return Finding(kind="flow_log_cost", severity="info", resource=Resource(type="flow_logs", id=ctx.prices.region),
                   bytes=ctx.source_bytes, title=f"Flow logs delivered: {human_bytes(ctx.source_bytes)} a day; "
                                                 f"the digest's Athena scans: {scans}",
                   usd_per_day=None if price is None else per_gb_cost(ctx.source_bytes, price),
                   fix="Nothing to change unless it outgrows its use: fewer fields or a sampled log cost less.",
                   evidence={"delivered_bytes": ctx.source_bytes, "flow_logs_s3_per_gb": price,
                             "parquet_usd_per_day": None if parquet is None else
                             per_gb_cost(ctx.source_bytes, parquet),
                             "athena_billed_bytes": billed, "athena_per_tb": ctx.prices.athena_per_tb,
                             "athena_usd_per_day": athena,
                             "note": "delivered file sizes; AWS bills the log data ingested. The Athena "
                                     "figure is the digest's own queries as billed (whole MB, 10 MB at least)"})


_BUILDERS: dict[str, Callable[[dict[str, Any], Context], Finding]] = {
    "gateway_endpoint_bypass": _bypass, "nat_cross_az": _nat_cross_az, "internet_egress": _internet,
    "aws_service_via_nat": _service, "exposed_port": _exposed, "port_scan": _scan,
    "new_external_destination": _new_destination,
}


def _passes(f: Finding, r: dict[str, Any] | None, t: Thresholds) -> bool:
    if f.kind == "flow_log_cost":
        return f.usd_per_month is None or f.usd_per_month >= t.flow_log_min_usd_per_month
    if f.kind in COST_KINDS:
        return f.usd_per_month is None or f.usd_per_month >= t.min_usd_per_month
    if r is None:
        return True
    if f.kind == "port_scan":
        return max(r["distinct_count"] or 0, r["distinct_other"] or 0) >= t.port_scan_min_distinct
    if f.kind == "new_external_destination":
        return r["bytes"] >= t.new_destination_min_bytes
    if f.kind == "exposed_port":
        return r["port"] in t.admin_ports
    return True


def build(rows: Rows, ctx: Context) -> list[Finding]:
    """The day's findings above the thresholds that no suppression hides, ranked."""
    return judge(rows, ctx)[0]


def judge(rows: Rows, ctx: Context) -> tuple[list[Finding], dict[str, int]]:
    """The findings shown, ranked, and how many each suppression reason hid."""
    config = _config(ctx)
    t = config.thresholds
    skip = skipped(ctx)
    pairs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["kind"] == "cross_az_pair":
            pairs[r["resource_id"]].append(r)
    out: list[Finding] = []
    for r in rows:
        kind = r["kind"]
        if kind in skip or kind == "cross_az_pair":
            continue
        f = _cross_az(r, ctx, pairs[r["resource_id"]]) if kind == "cross_az" else _BUILDERS[kind](r, ctx)
        if _passes(f, r, t):
            out.append(f)
    cost = flow_log_cost(ctx)
    if cost is not None and _passes(cost, None, t):
        out.append(cost)
    kept, hidden = apply_suppressions(out, config, ctx.report_date)
    return rank(kept), hidden


def one_line(f: Finding) -> str:
    money = f" — {usd(f.usd_per_month)}/month" if f.usd_per_month is not None else ""
    return f"[{f.severity}] {f.title}{money}. {f.fix}"
