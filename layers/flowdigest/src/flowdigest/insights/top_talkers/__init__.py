"""2. Top talkers: source -> destination pairs by bytes, with the interface behind them."""

from __future__ import annotations

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.inventory.labels import GROUP_KINDS
from flowdigest.models import ResourceBytes
from flowdigest.naming import chart_labels, name_of, shown
from flowdigest.units import human_bytes


def _pair(r: dict, ctx: Context) -> str:
    return f"{shown(ctx, r['srcaddr'])} → {shown(ctx, r['dstaddr'])}"


def summary(rows: Rows, ctx: Context) -> str:
    if not rows:
        return "No accepted traffic between any pair of addresses."
    top = rows[0]
    share = f" ({top['bytes'] / ctx.total_bytes * 100:.0f} % of all bytes)" if ctx.total_bytes else ""
    lead = resources(ctx)[:1]
    busiest = f"; busiest resource {resource_line(lead[0])}" if lead else ""
    return f"Top pair {_pair(top, ctx)}: {human_bytes(top['bytes'])}{share}{busiest}"


def details(rows: Rows, ctx: Context) -> list[str]:
    return [
        f"{i}. {_pair(r, ctx)} — {human_bytes(r['bytes'])} on {shown(ctx, r['interface_id'])}"
        + (f" ({r['instance_id']})" if r.get("instance_id") and not name_of(ctx, r["interface_id"]) else "")
        for i, r in enumerate(rows, 1)
    ] + [f"by resource {i}. {resource_line(r)}" for i, r in enumerate(resources(ctx), 1)]


def resources(ctx: Context) -> list[ResourceBytes]:
    """Top talkers by resource (the inventory's: one row per ECS service, ASG, …, else resource),
    as report.json's top_talkers_by_resource holds them."""
    return list(ctx.inventory.resources) if ctx.inventory else []


def resource_line(r: ResourceBytes) -> str:
    """"checkout-api (auto-scaling group, 4 interfaces): 1.2 GiB", "orders-db (rds): 3 MiB"."""
    kind = GROUP_KINDS.get(r.grouped_by, r.grouped_by) if r.grouped_by else r.type.replace("_", " ")
    count = f", {r.interfaces} interfaces" if r.interfaces > 1 else ""
    return f"{r.name} ({kind}{count}): {human_bytes(r.bytes)}"


def chart(rows: Rows, ctx: Context):
    from flowdigest.charts.style import top_bars, top_bars_side_by_side

    pairs = chart_labels(ctx, [(r["srcaddr"], r["dstaddr"]) for r in rows])
    by_resource = resources(ctx)
    if not rows or not by_resource:
        return top_bars("Top talkers", "source -> destination pairs by bytes",  # the chart font lacks "→"
                        pairs, [r["bytes"] for r in rows], empty="no traffic")
    return top_bars_side_by_side(
        "Top talkers", "bytes by source -> destination pair, and by resource (a service or group of many "
                       "interfaces is one bar)",
        [("by address pair", pairs, [r["bytes"] for r in rows]),
         ("by resource", [r.name + (f" ({r.interfaces} interfaces)" if r.interfaces > 1 else "") for r in by_resource],
          [r.bytes for r in by_resource])])


def alt(rows: Rows, ctx: Context) -> str:
    if not rows:
        return "Empty chart: no traffic."
    text = (f"Horizontal bar chart of the {len(rows)} largest address pairs by bytes; "
            f"the largest is {_pair(rows[0], ctx)} with {human_bytes(rows[0]['bytes'])}.")
    by_resource = resources(ctx)
    if by_resource:
        text += (f" Beside it, the {len(by_resource)} busiest resources; the first is "
                 f"{resource_line(by_resource[0])}.")
    return text


INSIGHT = Insight(
    id="top_talkers", title="Top talkers", needs=("srcaddr", "dstaddr", "bytes", "interface_id"),
    uses=("instance_id",), summary=summary, details=details, chart=chart, chart_alt=alt,
    order=20,
)
