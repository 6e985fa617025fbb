"""4. Gateway-endpoint check: S3 / DynamoDB bytes through the gateway endpoint vs the NAT."""

from __future__ import annotations

from collections import defaultdict

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.units import human_bytes, usd

PATH_LABELS = {
    "gateway_endpoint": "gateway endpoint",
    "nat": "NAT gateway",
    "gateway_endpoint_or_internet_gateway": "gateway endpoint or internet gateway (code 2)",
    "internet_gateway": "internet gateway",
    "other": "other path (VPN, peering, local gateway)",
    "unknown": "unknown path",
}


def by_service(rows: Rows) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        out[r["service"]][r["path"]] += int(r["bytes"])
    return out


def nat_bytes(rows: Rows) -> int:
    return sum(int(r["bytes"]) for r in rows if r["path"] == "nat")


SHORT_LABELS = {**PATH_LABELS, "gateway_endpoint_or_internet_gateway": "endpoint or IGW (code 2)",
                "other": "other paths"}


def summary(rows: Rows, ctx: Context) -> str:
    if not rows:
        return "No S3 or DynamoDB traffic seen."
    parts = []
    for service, paths in sorted(by_service(rows).items()):
        total = sum(paths.values()) or 1
        parts.append(f"{service} " + ", ".join(
            f"{b / total * 100:.0f} % ({human_bytes(b)}) via {SHORT_LABELS.get(p, p)}"
            for p, b in sorted(paths.items(), key=lambda x: -x[1])))
    nat = nat_bytes(rows)
    if nat:
        parts.append(f"the NAT share cost ≈ {usd(ctx.prices.nat_cost(nat))} that day "
                     f"(${ctx.prices.nat_per_gb}/GB processed); through a gateway endpoint it is free")
    else:
        parts.append("none of it goes through a NAT gateway")
    return "; ".join(parts)


def details(rows: Rows, ctx: Context) -> list[str]:
    return [f"{r['service']} {r['direction'].replace('_', ' ')} via {PATH_LABELS.get(r['path'], r['path'])}: "
            f"{human_bytes(r['bytes'])} in {r['flows']} records" for r in rows]


PATH_COLORS = {"nat": "#e36209", "gateway_endpoint": "#2da44e", "gateway_endpoint_or_internet_gateway": "#9be9a8",
               "internet_gateway": "#1f6feb", "other": "#8c959f", "unknown": "#d0d7de"}


def chart(rows: Rows, ctx: Context):
    from flowdigest.charts.style import empty_note, figure

    fig = figure("S3 and DynamoDB: which path?", "share of each service's bytes by path; labels give the bytes")
    services = by_service(rows)
    if not services:
        return empty_note(fig, "no S3 or DynamoDB traffic")
    names = sorted(services)
    totals = {s: sum(services[s].values()) or 1 for s in names}
    for p in (p for p in PATH_LABELS if any(p in services[s] for s in names)):
        values = [services[s].get(p, 0) for s in names]
        fig.add_bar(name=PATH_LABELS[p], y=names, x=[v / totals[s] * 100 for v, s in zip(values, names, strict=True)],
                    orientation="h", marker_color=PATH_COLORS[p], textposition="inside", insidetextanchor="middle",
                    textangle=0, text=[human_bytes(v) if v else "" for v in values])
    fig.update_layout(barmode="stack", legend={"y": -0.2, "yanchor": "top", "x": 0, "xanchor": "left"},
                      margin={"b": 150})
    fig.update_xaxes(title_text="% of the service's bytes", range=[0, 100])
    fig.update_yaxes(type="category")
    return fig


def alt(rows: Rows, ctx: Context) -> str:
    if not rows:
        return "Empty chart: no S3 or DynamoDB traffic."
    return ("Stacked bar chart of bytes to S3 and DynamoDB by path: " + "; ".join(
        f"{s} " + ", ".join(f"{PATH_LABELS.get(p, p)} {human_bytes(b)}" for p, b in paths.items())
        for s, paths in sorted(by_service(rows).items())) + ".")


INSIGHT = Insight(
    id="gateway_endpoint", title="Gateway-endpoint check",
    needs=("pkt_dst_aws_service", "interface_id", "srcaddr", "dstaddr", "bytes"),
    uses=("traffic_path", "flow_direction", "pkt_srcaddr", "pkt_dstaddr", "pkt_src_aws_service", "instance_id"),
    summary=summary, details=details, chart=chart, chart_alt=alt,
    order=40, summary_rank=1,
)
