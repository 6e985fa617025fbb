"""1. Headline: flows, bytes, packets, accepted vs rejected, vs yesterday and the 7-day median."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.units import human_bytes, human_count, pct_change, signed_pct

METRICS = ("flows", "bytes", "packets", "accepted_flows", "rejected_flows")
UNKNOWABLE = ("accepted_flows", "rejected_flows")  # None without an action field


NOT_IN_FORMAT = "not in this flow log's format"


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def split(rows: Rows, day: dt.date) -> tuple[dict[str, int | None], dict[str, Any] | None, dict[str, float]]:
    """Today's totals, the previous day's row (if any) and the median of the earlier days.
    Accepted / rejected are None on a day whose records carry no action (the query's NULL)."""
    by_day = {str(r["dt"]): r for r in rows}
    row = by_day.get(day.isoformat(), {})
    today = {m: (_count(row.get(m)) if m in UNKNOWABLE and row else int(row.get(m) or 0)) for m in METRICS}
    earlier = [r for d, r in sorted(by_day.items()) if d < day.isoformat()]
    previous = by_day.get((day - dt.timedelta(days=1)).isoformat())
    median = {m: float(statistics.median(known)) for m in METRICS
              if (known := [int(r[m]) for r in earlier if r.get(m) is not None])}
    return today, previous, median


def _changes(today: dict[str, int | None], base: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each metric known on both days: the earlier value and the change (a metric the format
    does not give on either day is left out, never compared as 0)."""
    return {m: {"value": base[m], "change_pct": pct_change(now, base[m])}
            for m in METRICS if (now := today[m]) is not None and base.get(m) is not None}


def comparison(rows: Rows, day: dt.date) -> dict[str, Any]:
    today, previous, median = split(rows, day)
    return {
        "previous_day": None if previous is None else _changes(
            today, {m: _count(previous.get(m)) for m in METRICS}),
        "median_7d": None if not median else _changes(today, median),
        "history_days": sum(1 for r in rows if str(r["dt"]) < day.isoformat()),
    }


def tgw_share(rows: Rows, day: dt.date) -> int:
    """The report day's bytes from Transit Gateway flow logs (0 without any)."""
    return next((int(r.get("tgw_bytes") or 0) for r in rows if str(r["dt"]) == day.isoformat()), 0)


def summary(rows: Rows, ctx: Context) -> str:
    today, previous, median = split(rows, ctx.report_date)
    flows = int(today["flows"] or 0)
    accepted, rejected = today["accepted_flows"], today["rejected_flows"]
    if accepted is None or rejected is None:
        share = f"accepted / rejected {NOT_IN_FORMAT}"
    else:  # of the records with an action (a Transit Gateway record has none)
        judged = accepted + rejected
        share = f"{(rejected / judged * 100 if judged else 0.0):.1f} % of flows rejected"
    text = (f"{human_count(flows)} flows, {human_bytes(int(today['bytes'] or 0))}, "
            f"{human_count(int(today['packets'] or 0))} packets, {share}")
    changes = []
    if previous is not None:
        changes.append(f"bytes {signed_pct(pct_change(today['bytes'] or 0, previous['bytes']))} vs previous day")
    if "bytes" in median:
        changes.append(f"{signed_pct(pct_change(today['bytes'] or 0, median['bytes']))} vs 7-day median")
    tgw = tgw_share(rows, ctx.report_date)
    if tgw and tgw < int(today["bytes"] or 0):  # both kinds of flow log: say which bytes are whose
        text += f" (of which {human_bytes(tgw)} in Transit Gateway flow logs)"
    return text + (" — " + ", ".join(changes) if changes else "")


def details(rows: Rows, ctx: Context) -> list[str]:
    today, _, _ = split(rows, ctx.report_date)
    accepted, rejected = today["accepted_flows"], today["rejected_flows"]
    lines = [f"Accepted / rejected flows: {NOT_IN_FORMAT}" if accepted is None or rejected is None else
             f"Accepted flows: {human_count(accepted)}; rejected flows: {human_count(rejected)}"]
    tgw = tgw_share(rows, ctx.report_date)
    if tgw and tgw < int(today["bytes"] or 0):  # both kinds of flow log that day
        lines.append(f"The totals add both kinds of flow log: {human_bytes(tgw)} of the bytes are the Transit "
                     "Gateway's records. Traffic between VPCs shows in both (on each VPC's interfaces and on the "
                     "gateway): the same traffic, seen twice; the Transit Gateway insight counts each of its "
                     "flows once")
    elif tgw:
        lines.append("Every record is a Transit Gateway flow log's (no VPC flow logs that day)")
    return lines


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
            f"{ctx.report_date} carried {human_bytes(int(today['bytes'] or 0))}.")


INSIGHT = Insight(
    id="headline", title="Headline", needs=("bytes", "packets"), uses=("action",), reads="both",
    summary=summary, details=details, chart=chart, chart_alt=alt,
    order=10, is_headline=True, chart_without_traffic=True,  # the earlier days still show
)
