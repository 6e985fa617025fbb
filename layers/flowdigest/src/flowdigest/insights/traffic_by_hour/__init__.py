"""6. Traffic over the day: bytes per hour, ingress vs egress."""

from __future__ import annotations

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.units import human_bytes


def _total(r: dict) -> int:
    return int(r["ingress_bytes"]) + int(r["egress_bytes"]) + int(r["unknown_bytes"])


def summary(rows: Rows, ctx: Context) -> str:
    if not rows:
        return "No traffic in any hour."
    peak = max(rows, key=_total)
    low = min(rows, key=_total)
    return (f"Busiest hour {peak['hour']:02d}:00 UTC ({human_bytes(_total(peak))}), "
            f"quietest {low['hour']:02d}:00 UTC ({human_bytes(_total(low))})")


def chart(rows: Rows, ctx: Context):
    from flowdigest.charts.style import byte_divisor, empty_note, figure

    fig = figure("Traffic over the day", "bytes per hour (UTC), as recorded by the interfaces")
    if not rows:
        return empty_note(fig, "no traffic")
    by_hour = {int(r["hour"]): r for r in rows}
    hours = list(range(24))
    series = [(k, label) for k, label in (("ingress_bytes", "ingress"), ("egress_bytes", "egress"),
                                          ("unknown_bytes", "direction not logged"))
              if any(int(r[k]) for r in rows)]
    div, unit = byte_divisor([sum(int(r[k]) for k, _ in series) for r in rows])
    for k, label in series:
        fig.add_bar(name=label, x=[f"{h:02d}" for h in hours],
                    y=[(int(by_hour[h][k]) if h in by_hour else 0) / div for h in hours])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="hour (UTC)", type="category")
    fig.update_yaxes(title_text=unit)
    return fig


def alt(rows: Rows, ctx: Context) -> str:
    if not rows:
        return "Empty chart: no traffic."
    peak = max(rows, key=_total)
    return (f"Stacked bar chart of bytes per hour, ingress and egress; the busiest hour is "
            f"{peak['hour']:02d}:00 UTC with {human_bytes(_total(peak))}.")


INSIGHT = Insight(
    id="traffic_by_hour", title="Traffic over the day", needs=("bytes",), uses=("flow_direction",),
    summary=summary, chart=chart, chart_alt=alt,
    order=60,
)
