"""Render function: the report, its charts (plotly -> PNG through headless Chromium) and
the Slack message, written to the reports bucket; returns where they are.

Event: events/render.json ({"plan": DayPlan, "results": [InsightResult, ...], "inventory":
the Inventory step's output, or the error its Catch recorded: then the report has no names}).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flowdigest import pipeline
from flowdigest.aws.events import RenderEvent, StepError, parse
from flowdigest.aws.observability import MetricUnit, logger, metrics, tracer
from flowdigest.aws.settings import RenderSettings
from flowdigest.naming import DayNames

SETTINGS = RenderSettings.from_env()
STORE = SETTINGS.make_store()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(RenderEvent, event)
    plan = request.plan
    logger.append_keys(report_date=plan.report_date.isoformat(), step="render")
    renderer = None
    if SETTINGS.charts:
        from flowdigest.charts.render import PngRenderer  # the charts layer; Chromium starts once

        renderer = PngRenderer()
    inv = request.inventory
    names = (DayNames.failed(plan.report_date, f"the inventory step failed ({inv.Error})")
             if isinstance(inv, StepError) else DayNames.load(inv, STORE))
    output = pipeline.render_step(plan, request.results, STORE, renderer, SETTINGS.prices, progress=logger.info,
                                  inventory=names, findings_config=SETTINGS.findings_config)
    metrics.add_metric(name="Charts", unit=MetricUnit.Count, value=len(output.charts))
    return output.model_dump(mode="json")
