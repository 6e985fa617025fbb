"""1. Headline: flows, bytes, packets, accepted vs rejected, vs yesterday and the 7-day median."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.units import human_bytes, human_count, pct_change, signed_pct

METRICS = ("flows", "bytes", "packets", "accepted_flows", "rejected_flows")


def split(rows: Rows, day: dt.date) -> tuple[dict[str, int], dict[str, Any] | None, dict[str, float]]:
    """Today's totals, the previous day's row (if any) and the median of the earlier days."""
    by_day = {str(r["dt"]): r for r in rows}
    today = {m: int(by_day.get(day.isoformat(), {}).get(m) or 0) for m in METRICS}
    earlier = [r for d, r in sorted(by_day.items()) if d < day.isoformat()]
    previous = by_day.get((day - dt.timedelta(days=1)).isoformat())
    median = {m: float(statistics.median(int(r[m] or 0) for r in earlier)) for m in METRICS} if earlier else {}
    return today, previous, median


def comparison(rows: Rows, day: dt.date) -> dict[str, Any]:
    today, previous, median = split(rows, day)
    return {
        "previous_day": None if previous is None else {
            m: {"value": int(previous[m] or 0), "change_pct": pct_change(today[m], previous[m])}
            for m in METRICS
        },
        "median_7d": None if not median else {
            m: {"value": median[m], "change_pct": pct_change(today[m], median[m])} for m in METRICS
        },
        "history_days": sum(1 for r in rows if str(r["dt"]) < day.isoformat()),
    }


def summary(rows: Rows, ctx: Context) -> str:
    today, previous, median = split(rows, ctx.report_date)
    rejected_share = today["rejected_flows"] / today["flows"] * 100 if today["flows"] else 0.0
    text = (f"{human_count(today['flows'])} flows, {human_bytes(today['bytes'])}, "
            f"{human_count(today['packets'])} packets, {rejected_share:.1f} % of flows rejected")
    changes = []
    if previous is not None:
        changes.append(f"bytes {signed_pct(pct_change(today['bytes'], previous['bytes']))} vs previous day")
    if median:
        changes.append(f"{signed_pct(pct_change(today['bytes'], median['bytes']))} vs 7-day median")
    return text + (" — " + ", ".join(changes) if changes else "")


def details(rows: Rows, ctx: Context) -> list[str]:
    today, _, _ = split(rows, ctx.report_date)
    return [f"Accepted flows: {human_count(today['accepted_flows'])}; rejected flows: "
            f"{human_count(today['rejected_flows'])}"]


def chart(rows: Rows, ctx: Context):
    from flowdigest.charts.style import COLORS, figure, scale_bytes

    days = [str(r["dt"]) for r in rows]
    values, unit = scale_bytes([int(r["bytes"] or 0) for r in rows])
    fig = figure("Bytes per day", f"the report day and the {len(days) - 1} days before it (UTC)")
    colors = [COLORS[0] if d == ctx.report_date.isoformat() else "#9fb7d9" for d in days]
    fig.add_bar(x=days, y=values, marker_color=colors, text=[f"{v:.1f}" for v in values],
                textposition="outside", cliponaxis=False, name="bytes")
    fig.update_yaxes(title_text=unit)
    fig.update_xaxes(type="category", title_text="day (UTC)")
    return fig


def alt(rows: Rows, ctx: Context) -> str:
    today, _, _ = split(rows, ctx.report_date)
    return (f"Bar chart of bytes per day for {len(rows)} days; the report day "
            f"{ctx.report_date} carried {human_bytes(today['bytes'])}.")


INSIGHT = Insight(
    id="headline", title="Headline", needs=("action", "bytes", "packets"),
    summary=summary, details=details, chart=chart, chart_alt=alt,
    order=10, is_headline=True, chart_without_traffic=True,  # the earlier days still show
)
