"""3. Rejected traffic: top rejected sources and destination ports."""

from __future__ import annotations

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.naming import name_of, shown
from flowdigest.units import human_count, port_label


def _label(r: dict) -> str:
    return port_label(int(r["value"]) if r["value"] is not None else None, r["protocol"])


def summary(rows: Rows, ctx: Context) -> str:
    sources = [r for r in rows if r["kind"] == "source"]
    ports = [r for r in rows if r["kind"] == "port"]
    if not sources:
        return "Nothing was rejected."
    top_src, top_port = sources[0], ports[0]
    return (f"Most rejected source {shown(ctx, top_src['value'])} ({human_count(top_src['flows'])} flows, "
            f"{top_src['distinct_count']} ports tried); most rejected port {_label(top_port)} "
            f"({human_count(top_port['flows'])} flows from {top_port['distinct_count']} sources)")


def details(rows: Rows, ctx: Context) -> list[str]:
    out = []
    for r in rows:
        if r["kind"] == "source":
            out.append(f"source {shown(ctx, r['value'])}: {human_count(r['flows'])} rejected flows, "
                       f"{r['distinct_count']} distinct ports")
        else:
            out.append(f"port {_label(r)}: {human_count(r['flows'])} rejected flows from "
                       f"{r['distinct_count']} sources")
    return out


def chart(rows: Rows, ctx: Context):
    from flowdigest.charts.style import top_bars

    ports = [r for r in rows if r["kind"] == "port"]
    return top_bars("Rejected traffic", _subtitle(rows, ctx), [_label(r) for r in ports],
                    [r["flows"] for r in ports], empty="nothing was rejected", is_bytes=False,
                    axis_title="rejected flows", color="#cf222e")


def _subtitle(rows: Rows, ctx: Context) -> str:
    """The ports, and with an inventory the named resources rejected most (the bars are ports)."""
    named = [n for r in rows if r["kind"] == "source" and (n := name_of(ctx, r["value"]))]
    top = ", ".join(dict.fromkeys(named[:3]))
    return "destination ports most rejected, by flows" + (f"; top rejected sources: {top}" if top else "")


def alt(rows: Rows, ctx: Context) -> str:
    ports = [r for r in rows if r["kind"] == "port"]
    if not ports:
        return "Empty chart: nothing was rejected."
    return (f"Horizontal bar chart of the {len(ports)} most rejected destination ports; "
            f"the first is {_label(ports[0])} with {ports[0]['flows']} rejected flows.")


INSIGHT = Insight(
    id="rejected", title="Rejected traffic", needs=("action", "srcaddr", "dstport", "protocol"),
    summary=summary, details=details, chart=chart, chart_alt=alt,
    order=30, summary_rank=3,
)
