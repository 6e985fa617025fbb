"""Findings: what the network costs, what is at risk, and what to change (issue 14).

query.sql counts each kind's candidates over the rollup; flowdigest.findings.build prices,
names and judges them. report.json carries the result as its top-level `findings`.
"""

from __future__ import annotations

from flowdigest.findings.build import build, one_line, skipped
from flowdigest.findings.model import findings_summary
from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.units import usd

QUIET = "No findings: nothing costly or exposed stands out today."


def summary(rows: Rows, ctx: Context) -> str:
    found = build(rows, ctx)
    if not found:
        return QUIET
    avoidable = findings_summary(found)["avoidable_usd_per_month"]
    return f"{len(found)} findings; {usd(avoidable)}/month of avoidable network cost"


def details(rows: Rows, ctx: Context) -> list[str]:
    return [one_line(f) for f in build(rows, ctx)] + [
        f"{kind} skipped: {why}" for kind, why in sorted(skipped(ctx).items())]


def priced(rows: Rows, ctx: Context) -> list[tuple[str, float]]:
    return [(f"{f.kind}: {f.resource.name or f.resource.id}", f.usd_per_month)
            for f in build(rows, ctx) if f.usd_per_month]


def chart(rows: Rows, ctx: Context):
    from flowdigest.charts.style import empty_note, figure, shorten

    bars = priced(rows, ctx)[:10]
    fig = figure("Where the money goes", "$/month by finding, at list prices")
    if not bars:
        return empty_note(fig, "no finding with a cost today")
    labels = [shorten(label, 60) for label, _ in reversed(bars)]
    values = [v for _, v in reversed(bars)]
    fig.add_bar(y=labels, x=values, orientation="h", marker_color="#e36209", text=[usd(v) for v in values],
                textposition="outside", textangle=0, cliponaxis=False)
    fig.update_xaxes(title_text="USD per month", range=[0, max(values) * 1.15])
    fig.update_yaxes(type="category", tickfont={"size": 14})
    return fig


def alt(rows: Rows, ctx: Context) -> str:
    bars = priced(rows, ctx)
    if not bars:
        return "Empty chart: no finding with a cost today."
    return (f"Horizontal bar chart of the {min(len(bars), 10)} costliest findings in USD per month; "
            f"the first is {bars[0][0]} at {usd(bars[0][1])}/month.")


INSIGHT = Insight(
    id="findings", title="Findings",
    needs=("interface_id", "srcaddr", "dstaddr", "bytes"),
    uses=("action", "dstport", "pkt_srcaddr", "pkt_dstaddr", "pkt_src_aws_service", "pkt_dst_aws_service",
          "subnet_id", "vpc_id", "az_id", "flow_direction", "traffic_path"),
    summary=summary, details=details, chart=chart, chart_alt=alt,
    order=95,
)
