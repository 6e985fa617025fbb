"""Slack function: posts a day's stored message (summary + thread of charts) exactly once,
and posts the short alert when a step failed.

Events: events/post.json ({"report_date", "message_key"}), events/alert.json ({"alert": ...}).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flowdigest.aws.errors import TransientError
from flowdigest.aws.events import AlertEvent, parse_slack
from flowdigest.aws.observability import MetricUnit, logger, metrics, tracer
from flowdigest.aws.settings import SlackFunctionSettings
from flowdigest.slack import SlackDeliveryError, load_settings

SETTINGS = SlackFunctionSettings.from_env()
STORE = SETTINGS.make_store()
LEDGER = SETTINGS.make_ledger()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_slack(event)
    slack = load_settings()  # the secret (cached for a few minutes), or SLACK_* locally
    if isinstance(request, AlertEvent):
        from flowdigest.slack.alert import post_failure_alert, where_to_look_for

        alert = request.alert
        logger.append_keys(report_date=str(alert.report_date), step="alert", failed_step=alert.step)
        if slack is None:
            logger.warning("no Slack token configured: alert not posted: %s %s", alert.error, alert.cause)
            return {"alerted": False}
        ts = post_failure_alert(slack, alert.report_date, alert.step, {"Error": alert.error, "Cause": alert.cause},
                                where_to_look_for(execution_arn=alert.execution))
        return {"alerted": ts is not None, "ts": ts}

    logger.append_keys(report_date=request.report_date.isoformat(), step="post")
    if slack is None:  # local run without a token: the render step's outbox is the result
        return {"status": "outbox", "message_key": request.message_key}
    from flowdigest.slack.poster import post_report

    try:
        result = post_report(STORE, request.message_key, slack, LEDGER, force=request.force,
                             update=request.update, owner=request.owner)
    except SlackDeliveryError as exc:
        if getattr(exc, "retryable", False):
            raise TransientError(str(exc)) from exc  # the state machine retries this name
        raise
    # the main channel's items and the routed channels' (the secret's `routes`)
    metrics.add_metric(name="SlackItemsPosted", unit=MetricUnit.Count,
                       value=sum(len(each.posted) for each in result.each()))
    return result.to_dict()
