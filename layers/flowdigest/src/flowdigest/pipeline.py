"""The pipeline's steps, shared by the Lambdas (one step each) and the local command.

prepare -> run_insight (once per insight, in parallel in AWS) -> render_step -> delivery.
Each step takes and returns the models in flowdigest.models, so the payloads between
Lambdas are the very objects the CLI passes in-process.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from flowdigest import breakdown, fields, message, naming, queries, report
from flowdigest.engine import DayInfo, QueryEngine
from flowdigest.findings.config import FindingsConfig
from flowdigest.insights import INSIGHTS, PATH_ERRORS
from flowdigest.inventory import Snapshot
from flowdigest.models import Chart, DayPlan, InsightResult, InventoryOutput, RenderOutput, Totals
from flowdigest.pricing import Prices
from flowdigest.scope import Scope
from flowdigest.store import Store

if TYPE_CHECKING:
    from flowdigest.charts.render import PngRenderer

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class UnknownInsight(ValueError):
    pass


def check_insights(ids: list[str] | None) -> list[str]:
    if PATH_ERRORS:
        raise UnknownInsight(PATH_ERRORS[0])
    if ids is None:
        return list(INSIGHTS)
    unknown = [i for i in ids if i not in INSIGHTS]
    if unknown:
        raise UnknownInsight(f"unknown insight {', '.join(unknown)} (known: {', '.join(INSIGHTS)})")
    return [i for i in INSIGHTS if i in ids]  # report order


def _missing_reason(missing: list[str]) -> str:
    names = ", ".join(fields.BY_COLUMN[c].name for c in missing)
    return (f"needs {names}, which this flow log's format does not carry "
            f"(add {fields.format_option(missing)} to the flow log's format)")


def _nothing_readable(day: dt.date, bad_files: list[tuple[str, str]], scope: Scope) -> str:
    if bad_files:  # --skip-bad-files skipped every file there was
        return f"every flow-log file delivered for {day} was unreadable ({len(bad_files)} skipped)"
    return f"no flow logs were delivered for {day}" + (f" that match the filter {scope.describe()}" if scope else "")


def _columns_read(reads: str, info: DayInfo) -> set[str]:
    """The columns of the flow logs an insight reads (VPC, Transit Gateway or both)."""
    return {"vpc": info.columns, "tgw": info.tgw_columns}.get(reads, info.columns | info.tgw_columns)


def _other_logs(reads: str, info: DayInfo, day: dt.date) -> str | None:
    """Why an insight cannot run on a day whose files are all of the other kind, if so."""
    if reads == "vpc" and info.files == info.tgw_files:
        return f"only Transit Gateway flow logs were delivered for {day}, and it reads VPC flow logs"
    if reads == "tgw" and not info.tgw_files:
        return f"no Transit Gateway flow logs were delivered for {day}"
    return None


def plan_day(engine: QueryEngine, report_date: dt.date, insights: list[str] | None = None,
             progress: Progress = _quiet) -> DayPlan:
    """What the day's report needs, from listings alone (nothing is built): the day's files
    and fields, the history days that have a rollup or the files for one, and which
    insights cannot run, with why."""
    ids = check_insights(insights)
    info = engine.open_day(report_date)
    progress(f"{report_date}: {info.files} files, {info.source_bytes / 2**20:.1f} MiB, "
             f"{len(info.hours_present)} of 24 hours delivered")
    have = engine.rollup_days()
    history = [day for back in range(queries.HISTORY_DAYS, 0, -1)
               if (day := report_date - dt.timedelta(days=back)) in have or engine.open_day(day).files]
    if insights is None:  # Transit Gateway insights are in the report when such logs are read
        ids = [i for i in ids if INSIGHTS[i].reads != "tgw" or info.tgw_files]
    skipped: dict[str, str] = {}
    for i in ids:
        insight = INSIGHTS[i]
        missing = [c for c in insight.needs if c not in _columns_read(insight.reads, info)]
        if not info.files:
            skipped[i] = _nothing_readable(report_date, info.bad_files, engine.scope)
        elif why := _other_logs(insight.reads, info, report_date):
            skipped[i] = why
        elif missing:
            skipped[i] = _missing_reason(missing)
        elif insight.needs_history and not history:
            skipped[i] = f"no earlier day to compare with (no flow logs in the {queries.HISTORY_DAYS} days before)"
    return DayPlan(
        report_date=report_date, columns=sorted(info.columns), tgw_columns=sorted(info.tgw_columns), files=info.files,
        source_bytes=info.source_bytes, hours_present=sorted(info.hours_present),
        insights=[i for i in ids if i not in skipped], skipped=skipped, history_days=history,
        bad_files=info.bad_files, scope=engine.scope.as_dict(),
    )


def _billed(engine: QueryEngine) -> int | None:
    """What Athena billed so far for the engine's queries; None for an engine that does not say
    (DuckDB: nothing is billed, and "0" would claim a figure)."""
    return getattr(engine, "athena_billed_bytes", None)


def _billed_since(engine: QueryEngine, before: int | None) -> int | None:
    after = _billed(engine)
    return None if after is None or before is None else after - before


def _query(engine: QueryEngine, name: str, day: dt.date, nat: queries.NatRule | None = None) -> list[dict[str, Any]]:
    """Run the query `name` (an insight's, or sql/<name>.sql) for `day` over the engine's tables."""
    return engine.query(queries.render(name, day, flow_logs=engine.flow_logs_table, rollup=engine.rollup_table,
                                       scope=engine.scope, nat=nat))


def nat_rule(inventory: InventoryOutput | None) -> queries.NatRule | None:
    """The inventory step's NAT gateways for the insight queries; None: the records decide."""
    if inventory is None or inventory.nat_interfaces is None:
        return None
    return queries.NatRule(tuple(inventory.nat_interfaces), tuple(inventory.nat_addresses))


def day_totals(engine: QueryEngine, plan: DayPlan) -> Totals:
    """The day's totals from its rollup (once its rollup is built), whichever insights run."""
    if not plan.files:
        return report.no_totals()
    (row,) = _query(engine, "totals", plan.report_date)
    counts: dict[str, int | None] = {k: int(v or 0) for k, v in row.items()}
    if "action" not in plan.columns:  # the format has no action: accepted / rejected are unknown
        counts |= {"accepted_flows": None, "rejected_flows": None}
    return Totals.model_validate(counts)


def build_rollups(engine: QueryEngine, plan: DayPlan, *, rebuild_history: bool = False,
                  trust_stored: bool = False, progress: Progress = _quiet) -> None:
    """Make every rollup the plan reads exist: the report day's unless it is current (built
    from the same files), each history day's unless stored (history days are built once,
    or again with `rebuild_history`). `trust_stored` keeps any stored rollup of the report
    day too, as a step after prepare does, which reads what prepare built."""
    day = plan.report_date
    have = engine.rollup_days()
    if plan.files and not (trust_stored and day in have):
        if engine.rollup_current(day):
            progress(f"{day}: the daily rollup is current (same files as when built), reusing it")
        else:
            progress(f"{day}: building the daily rollup")
            engine.build_rollup(day)
    for past in plan.history_days:
        if (past not in have or rebuild_history) and engine.open_day(past).files:
            progress(f"{past}: building the rollup for history ({'again' if past in have else 'once'})")
            engine.build_rollup(past)


def prepare(engine: QueryEngine, report_date: dt.date, insights: list[str] | None = None, *,
            rebuild_history: bool = False, progress: Progress = _quiet) -> DayPlan:
    """Plan the day, build the rollups the plan reads, then count the day's totals."""
    before = _billed(engine)
    plan = plan_day(engine, report_date, insights, progress=progress)
    build_rollups(engine, plan, rebuild_history=rebuild_history, progress=progress)
    plan = plan.model_copy(update={"totals": day_totals(engine, plan)})
    if plan.files and engine.scope and plan.totals and not (plan.totals.flows or plan.totals.nodata_records
                                                             or plan.totals.skipdata_records):
        # files were read, but none of their records is in the filter (a VPC filter): no flow logs
        why = _nothing_readable(report_date, [], engine.scope)
        return plan.model_copy(update={"insights": [], "skipped": dict.fromkeys(check_insights(insights), why),
                                       "files": 0, "totals": report.no_totals(),
                                       "athena_billed_bytes": _billed_since(engine, before)})
    rows = _breakdown_rows(engine, plan)  # its queries are billed too
    return plan.model_copy(update={**rows, "athena_billed_bytes": _billed_since(engine, before)})


def _breakdown_rows(engine: QueryEngine, plan: DayPlan) -> dict[str, Any]:
    """The plan's figures per account, Region and VPC, and where each resource is: report.json's
    breakdown, and the account and Region of each finding's resource."""
    if not plan.files:
        return {}
    return {"scope_rows": _query(engine, "breakdown", plan.report_date),
            "places": breakdown.places(_query(engine, "places", plan.report_date))}


def run_insight(engine: QueryEngine, plan: DayPlan, insight_id: str,
                inventory: InventoryOutput | None = None) -> InsightResult:
    """Run one insight's query over the day's rollup; with the inventory step's output, its
    NAT gateways are the queries' (nat_rule)."""
    check_insights([insight_id])
    if insight_id in plan.skipped:
        return InsightResult(id=insight_id, status="skipped", reason=plan.skipped[insight_id])
    before = _billed(engine)  # one insight at a time on Athena (a Lambda each), so the difference is its own
    rows = _query(engine, insight_id, plan.report_date, nat_rule(inventory))
    return InsightResult(id=insight_id, status="ok", rows=rows, athena_billed_bytes=_billed_since(engine, before))


def run_insights(engine: QueryEngine, plan: DayPlan, *, workers: int = 1, progress: Progress = _quiet,
                 inventory: InventoryOutput | None = None) -> list[InsightResult]:
    """Every runnable insight of the plan, in plan order; `workers` queries at a time (the
    small rollup queries leave cores idle one by one; the engine must allow it)."""
    if workers <= 1 or len(plan.insights) <= 1:
        results = []
        for i in plan.insights:
            results.append(run_insight(engine, plan, i, inventory))
            progress(f"insight {i}: {results[-1].status}")
        return results
    with ThreadPoolExecutor(workers) as pool:
        futures = {i: pool.submit(run_insight, engine, plan, i, inventory) for i in plan.insights}
        for i, future in futures.items():
            progress(f"insight {i}: {future.result().status}")
        return [f.result() for f in futures.values()]


def inventory_step(engine: QueryEngine, plan: DayPlan, snapshot: Snapshot, store: Store) -> InventoryOutput:
    """Store the day's inventory snapshot beside its report; read the day's bytes per interface
    from the rollup (one small query) for the coverage lines, top talkers by resource and the
    NAT gateway rule the insight queries then use. It runs before the insights, as in AWS."""
    key = f"{plan.report_date.isoformat()}/inventory.json"
    store.write_bytes(key, snapshot.model_dump_json(indent=1).encode(), "application/json")
    has_interfaces = "interface_id" in plan.columns
    rows = []
    before = _billed(engine)
    if snapshot.available and plan.files and has_interfaces:
        rows = _query(engine, "interface_bytes", plan.report_date)
    out = naming.survey(plan.report_date, snapshot, key, rows, has_interfaces)
    return out.model_copy(update={"athena_billed_bytes": _billed_since(engine, before)})


def render_step(plan: DayPlan, results: list[InsightResult], store: Store,
                renderer: PngRenderer | None, prices: Prices | None = None,
                progress: Progress = _quiet, findings_config: FindingsConfig | None = None,
                inventory: naming.DayNames | None = None) -> RenderOutput:
    """Assemble report.json, draw the charts, build message.json and preview.html; with the
    day's inventory (inventory_step's output, loaded), its lines name what they show."""
    prices = prices or Prices()
    # The queries run only for runnable insights; the report also lists the skipped ones.
    have = {r.id for r in results}
    results = [*results, *(InsightResult(id=i, status="skipped", reason=why)
                           for i, why in plan.skipped.items() if i not in have)]
    built = report.build(plan, results, prices, findings_config, inventory)
    day = plan.report_date.isoformat()
    charts: list[Chart] = []
    if renderer is not None:
        for i, fig in report.figures(built, plan, prices, findings_config, inventory):
            png = renderer.render(fig, report.CHART_WIDTH, report.CHART_HEIGHT)
            name = f"{i}.png"
            store.write_bytes(f"{day}/{name}", png, "image/png")
            charts.append(report.chart_ref(built, i, name))
            progress(f"chart {len(charts)}: {name}")
    rep = built.model_copy(update={"charts": charts})
    msg = message.build(rep)
    report_key, message_key = f"{day}/report.json", f"{day}/message.json"
    store.write_bytes(report_key, json.dumps(rep.model_dump(mode="json"), indent=2).encode(), "application/json")
    store.write_bytes(message_key, msg.model_dump_json(indent=2).encode(), "application/json")
    store.write_bytes(f"{day}/preview.html", message.preview_html(msg).encode(), "text/html")
    return RenderOutput(report_date=plan.report_date, report_key=report_key, message_key=message_key,
                        charts=charts, headline=msg.text)
