"""report.json: the typed report (models.Report) assembled from the insights' rows.

Its layout is documented in the README, and as a JSON Schema in docs/report.schema.json
(generated from the models: python -m flowdigest.models --schema).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from flowdigest import __version__, breakdown, naming
from flowdigest.findings import build as findings_build
from flowdigest.findings.config import FindingsConfig
from flowdigest.findings.model import Finding, findings_summary
from flowdigest.hours import missing_hours_text
from flowdigest.insights import INSIGHTS, Context, Insight
from flowdigest.insights.headline import comparison
from flowdigest.models import (
    BadFile,
    Chart,
    Comparison,
    DataHealth,
    DayPlan,
    FindingsSummary,
    InsightResult,
    Report,
    Source,
    Totals,
)
from flowdigest.pricing import Prices

if TYPE_CHECKING:
    import plotly.graph_objects as go

CHART_WIDTH, CHART_HEIGHT = 1200, 675


def no_totals() -> Totals:
    """A day with no records (no files, or a plan made without its rollup)."""
    return Totals(flows=0, bytes=0, packets=0, accepted_flows=0, rejected_flows=0,
                  nodata_records=0, skipdata_records=0)


def athena_billed(plan: DayPlan, results: list[InsightResult], inventory: naming.DayNames | None) -> int | None:
    """What Athena billed for the day's digest: prepare's queries, each insight's and the
    inventory's; None when any is unknown (a local run: DuckDB bills nothing, and says nothing)."""
    parts = [plan.athena_billed_bytes, *(r.athena_billed_bytes for r in results if r.status == "ok")]
    if inventory is not None:
        parts.append(inventory.output.athena_billed_bytes)
    known = [p for p in parts if p is not None]
    return sum(known) if len(known) == len(parts) else None


def context(plan: DayPlan, prices: Prices, totals: Totals, config: FindingsConfig | None = None,
            inventory: naming.DayNames | None = None, athena_billed_bytes: int | None = None,
            results: Iterable[InsightResult] = ()) -> Context:
    return Context(report_date=plan.report_date, prices=prices, total_bytes=totals.bytes,
                   athena_billed_bytes=athena_billed_bytes,
                   service_tags=naming.service_tags(r for res in results for r in res.rows),
                   history_days=list(plan.history_days), hours_present=list(plan.hours_present),
                   fields=list(plan.columns), source_bytes=plan.source_bytes, findings_config=config,
                   names=inventory.index if inventory else None, routes=inventory.routes if inventory else None,
                   inventory=inventory.output if inventory else None)


def findings(insights: dict[str, InsightResult], ctx: Context) -> tuple[list[Finding], FindingsSummary]:
    """report.json's findings (ranked, suppressions applied) and findings_summary."""
    res = insights.get("findings")
    if res is None or res.status != "ok":
        why = res.reason if res is not None and res.reason else "the findings insight did not run"
        return [], FindingsSummary(**findings_summary([]), skipped={"*": why})
    kept, hidden = findings_build.judge(res.rows, ctx)
    return kept, FindingsSummary(**findings_summary(kept), suppressed=sum(hidden.values()), suppressed_by=hidden,
                                 skipped=findings_build.skipped(ctx))


def _entry(insight: Insight, res: InsightResult, ctx: Context) -> InsightResult:
    if res.status == "skipped":
        return res.model_copy(update={"title": insight.title, "summary": f"Skipped: {res.reason}."})
    return res.model_copy(update={
        "title": insight.title,
        "summary": insight.summary(res.rows, ctx),
        "details": insight.details(res.rows, ctx),
        "chart_alt": insight.chart_alt(res.rows, ctx) if insight.chart_alt is not None else None,
    })


def build(plan: DayPlan, results: list[InsightResult], prices: Prices,
          config: FindingsConfig | None = None, inventory: naming.DayNames | None = None) -> Report:
    by_id = {r.id: r for r in results}
    totals = plan.totals or no_totals()
    ctx = context(plan, prices, totals, config, inventory, athena_billed(plan, results, inventory), results)
    # report order; an insight not asked for has no result
    insights = {i: _entry(insight, by_id[i], ctx) for i, insight in INSIGHTS.items() if i in by_id}
    head = next((r for i, r in insights.items() if INSIGHTS[i].is_headline and r.status == "ok"), None)
    found, found_summary = findings(insights, ctx)
    found = breakdown.locate(found, plan.places)
    by_resource = list(ctx.inventory.resources) if ctx.inventory else []
    return Report(
        report_date=plan.report_date,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        flowdigest_version=__version__,
        source=Source(files=plan.files, bytes=plan.source_bytes,
                      bad_files=[BadFile(file=f, reason=r) for f, r in plan.bad_files]),
        fields=plan.columns,
        prices=prices,
        totals=totals,
        comparison=None if head is None else Comparison.model_validate(comparison(head.rows, plan.report_date)),
        data_health=DataHealth(
            hours_present=plan.hours_present,
            hours_missing=[h for h in range(24) if h not in plan.hours_present],
            summary=missing_hours_text(plan.report_date, set(plan.hours_present)) or "all 24 hours delivered",
            history_days=plan.history_days,
        ),
        insights=insights,
        findings=found,
        findings_summary=found_summary,
        names=naming.report_names(ctx.names, [*(r.rows for r in insights.values()),
                                              [f.model_dump() for f in found], [r.model_dump() for r in by_resource]]),
        top_talkers_by_resource=by_resource,
        scope=plan.scope,
        breakdown=breakdown.build(plan.scope_rows, found, plan.places),
    )


def figures(rep: Report, plan: DayPlan, prices: Prices, config: FindingsConfig | None = None,
            inventory: naming.DayNames | None = None) -> Iterator[tuple[str, go.Figure]]:
    """The charts of the insights that ran, in report order. A day without one data record
    (say, only NODATA) draws no chart of its traffic: each would be empty, and the summary
    lines already say there was none; the headline's still shows the earlier days, if any."""
    ctx = context(plan, prices, rep.totals, config, inventory, results=rep.insights.values())
    idle = rep.totals.flows == 0
    for i, entry in rep.insights.items():
        insight = INSIGHTS[i]
        if idle and not (insight.chart_without_traffic and plan.history_days):
            continue
        if entry.status == "ok" and insight.chart is not None:
            fig = insight.chart(entry.rows, ctx)
            if fig is not None:
                yield i, fig


def chart_ref(rep: Report, insight_id: str, file: str) -> Chart:
    entry = rep.insights[insight_id]
    return Chart(insight=insight_id, file=file, title=entry.title or insight_id, alt_text=entry.chart_alt or "",
                 width=CHART_WIDTH, height=CHART_HEIGHT)
