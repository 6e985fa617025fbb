"""5. NAT gateway: bytes processed, what it cost, who sent it and where it went."""

from __future__ import annotations

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.naming import chart_labels, name_of, shown
from flowdigest.units import human_bytes, usd


def total(rows: Rows) -> int:
    return sum(int(r["bytes"] or 0) for r in rows if r["kind"] == "total")


def summary(rows: Rows, ctx: Context) -> str:
    processed = total(rows)
    if not processed:
        return "No traffic through a NAT gateway."
    senders = [r for r in rows if r["kind"] == "sender"]
    dests = [r for r in rows if r["kind"] == "destination"]
    text = (f"NAT gateway processed {human_bytes(processed)} ≈ {usd(ctx.prices.nat_cost(processed))} "
            f"(at ${ctx.prices.nat_per_gb}/GB)")
    if senders:
        text += f"; top sender {shown(ctx, senders[0]['address'])} ({human_bytes(senders[0]['bytes'])})"
    if dests:
        text += f"; top destination {shown(ctx, dests[0]['address'])} ({human_bytes(dests[0]['bytes'])})"
    return text


def details(rows: Rows, ctx: Context) -> list[str]:
    out = []
    for r in rows:
        if r["kind"] == "sender":
            out.append(f"internal {shown(ctx, r['address'])}: {human_bytes(r['bytes'])} "
                       f"≈ {usd(ctx.prices.nat_cost(r['bytes']))}")
        elif r["kind"] == "destination":
            svc = f" ({r['service']})" if r.get("service") and not name_of(ctx, r["address"]) else ""
            out.append(f"external {shown(ctx, r['address'])}{svc}: {human_bytes(r['bytes'])}")
    return out


def chart(rows: Rows, ctx: Context):
    from flowdigest.charts.style import top_bars

    processed = total(rows)
    dests = [r for r in rows if r["kind"] == "destination"]
    return top_bars("NAT gateway: top external destinations",
                    f"{human_bytes(processed)} processed ≈ {usd(ctx.prices.nat_cost(processed))}" + _senders(rows, ctx),
                    [a + (f" ({r['service']})" if r.get("service") and not name_of(ctx, r["address"]) else "")
                     for a, r in zip(chart_labels(ctx, [(r["address"],) for r in dests]), dests, strict=True)],
                    [r["bytes"] for r in dests], empty="no traffic through a NAT gateway", color="#e36209")


def _senders(rows: Rows, ctx: Context) -> str:
    """With an inventory, the named resources that sent the most through it (the bars are destinations)."""
    named = [n for r in rows if r["kind"] == "sender" and (n := name_of(ctx, r["address"]))]
    top = ", ".join(dict.fromkeys(named[:3]))
    return f"; top senders: {top}" if top else ""


def alt(rows: Rows, ctx: Context) -> str:
    dests = [r for r in rows if r["kind"] == "destination"]
    if not dests:
        return "Empty chart: no traffic through a NAT gateway."
    return (f"Horizontal bar chart of the {len(dests)} external addresses that received the most bytes "
            f"through the NAT gateway; the first is {shown(ctx, dests[0]['address'])} "
            f"with {human_bytes(dests[0]['bytes'])}.")


INSIGHT = Insight(
    id="nat_gateway", title="NAT gateway",
    needs=("interface_id", "srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr", "bytes"),
    uses=("pkt_src_aws_service", "pkt_dst_aws_service", "instance_id"),  # instance_id: EKS nodes are not NAT
    summary=summary, details=details, chart=chart, chart_alt=alt,
    order=50, summary_rank=2,
)
