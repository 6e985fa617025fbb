"""report.json: the machine-readable report assembled from the insights' rows.

Layout (documented in the README): report_date, generated_at, source, fields, prices,
totals, comparison, data_health, insights{id: {title, status, reason, summary, details,
rows, chart_alt}}, charts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flowdigest import __version__
from flowdigest.hours import missing_hours_text
from flowdigest.insights import INSIGHTS, Context, headline
from flowdigest.models import DayPlan, InsightResult
from flowdigest.pricing import Prices

if TYPE_CHECKING:
    import plotly.graph_objects as go

CHART_WIDTH, CHART_HEIGHT = 1200, 675
TOTAL_KEYS = ("flows", "bytes", "packets", "accepted_flows", "rejected_flows",
              "nodata_records", "skipdata_records")


def context(plan: DayPlan, prices: Prices, totals: dict[str, int]) -> Context:
    return Context(report_date=plan.report_date, prices=prices, total_bytes=totals["bytes"],
                   history_days=list(plan.history_days), hours_present=list(plan.hours_present))


def _totals(results: dict[str, InsightResult], day: dt.date) -> dict[str, int]:
    head = results.get("headline")
    rows = head.rows if head and head.status == "ok" else []
    today = next((r for r in rows if str(r["dt"]) == day.isoformat()), {})
    return {k: int(today.get(k) or 0) for k in TOTAL_KEYS}


def build(plan: DayPlan, results: list[InsightResult], prices: Prices) -> dict[str, Any]:
    by_id = {r.id: r for r in results}
    totals = _totals(by_id, plan.report_date)
    ctx = context(plan, prices, totals)
    insights: dict[str, Any] = {}
    for i, insight in INSIGHTS.items():
        res = by_id.get(i)
        if res is None:
            continue  # not asked for
        entry: dict[str, Any] = {"title": insight.title, "status": res.status}
        if res.status == "skipped":
            entry["reason"] = res.reason
            entry["summary"] = f"Skipped: {res.reason}."
        else:
            entry["summary"] = insight.summary(res.rows, ctx)
            entry["details"] = insight.details(res.rows, ctx)
            if insight.chart_alt is not None:
                entry["chart_alt"] = insight.chart_alt(res.rows, ctx)
        entry["rows"] = res.rows
        insights[i] = entry
    head = by_id.get("headline")
    return {
        "report_date": plan.report_date.isoformat(),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "flowdigest_version": __version__,
        "source": {"files": plan.files, "bytes": plan.source_bytes,
                   "bad_files": [{"file": f, "reason": r} for f, r in plan.bad_files]},
        "fields": plan.columns,
        "prices": prices.model_dump(),
        "totals": totals,
        "comparison": headline.comparison(head.rows, plan.report_date)
        if head is not None and head.status == "ok" else None,
        "data_health": {
            "hours_present": plan.hours_present,
            "hours_missing": [h for h in range(24) if h not in plan.hours_present],
            "summary": missing_hours_text(plan.report_date, set(plan.hours_present)) or "all 24 hours delivered",
            "history_days": [d.isoformat() for d in plan.history_days],
        },
        "insights": insights,
        "charts": [],
    }


def figures(rep: dict[str, Any], plan: DayPlan, prices: Prices) -> Iterator[tuple[str, go.Figure]]:
    """The charts of the insights that ran, in report order."""
    ctx = context(plan, prices, rep["totals"])
    for i, entry in rep["insights"].items():
        insight = INSIGHTS[i]
        if entry["status"] == "ok" and insight.chart is not None:
            fig = insight.chart(entry["rows"], ctx)
            if fig is not None:
                yield i, fig
