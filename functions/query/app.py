"""Query function: the `prepare` step (resolve the day, check its files and fields, build
the daily rollup), the `inventory` step (the account's network inventory, read-only EC2
Describe calls, stored beside the report, and the day's bytes per interface from the
rollup) and the `insight` step (one insight's query), for Step Functions.

Events: events/prepare.json, events/inventory.json, events/insight.json. Athena in AWS; DuckDB over a folder or
generated sample days with events/env.local.json.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flowdigest import pipeline
from flowdigest.aws.engines import ensure_rollups, ensure_sample, make_engine
from flowdigest.aws.events import InventoryEvent, PrepareEvent, parse_query
from flowdigest.aws.observability import MetricUnit, logger, metrics, tracer
from flowdigest.aws.settings import QuerySettings, StoreSettings
from flowdigest.inventory import aws as inventory_aws
from flowdigest.models import InventoryOutput
from flowdigest.scope import Scope

SETTINGS = QuerySettings.from_env()  # cold start: a misconfigured function fails here, once
ENGINE = make_engine(SETTINGS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_query(event)
    if isinstance(request, PrepareEvent):
        ENGINE.set_scope(request.filters())  # the plan carries them on to the other steps
        day = request.resolve_date()
        logger.append_keys(report_date=day.isoformat(), step="prepare")
        ensure_sample(ENGINE, SETTINGS, day)
        plan = pipeline.prepare(ENGINE, day, SETTINGS.insights, progress=logger.info)
        metrics.add_metric(name="FlowLogFiles", unit=MetricUnit.Count, value=plan.files)
        metrics.add_metric(name="InsightsSkipped", unit=MetricUnit.Count, value=len(plan.skipped))
        return plan.model_dump(mode="json")

    ENGINE.set_scope(Scope.from_dict(request.plan.scope))
    if isinstance(request, InventoryEvent):
        logger.append_keys(report_date=request.plan.report_date.isoformat(), step="inventory")
        ensure_rollups(ENGINE, SETTINGS, request.plan)
        snapshot = inventory_aws.collect(inventory_aws.client(SETTINGS.region))  # degrades, never raises
        if not snapshot.available:
            logger.warning(snapshot.reason)
        store = StoreSettings.from_env().make_store()
        output = pipeline.inventory_step(ENGINE, request.plan, snapshot, store)
        metrics.add_metric(name="InventoryInterfaces", unit=MetricUnit.Count, value=len(snapshot.interfaces))
        return output.model_dump(mode="json")

    logger.append_keys(report_date=request.plan.report_date.isoformat(), step="insight",
                       insight=request.insight)
    ensure_rollups(ENGINE, SETTINGS, request.plan)
    inventory = request.inventory if isinstance(request.inventory, InventoryOutput) else None
    result = pipeline.run_insight(ENGINE, request.plan, request.insight, inventory)
    logger.info("insight %s: %s, %d rows", result.id, result.status, len(result.rows))
    metrics.add_metric(name="InsightRows", unit=MetricUnit.Count, value=len(result.rows))
    return result.model_dump(mode="json")
