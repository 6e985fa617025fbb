"""A short Slack message when the pipeline fails: which step, which day, where to look."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from slack_sdk import WebClient

from flowdigest.slack.credentials import SlackSettings, mask_token
from flowdigest.slack.errors import SlackDeliveryError
from flowdigest.slack.limits import escape, truncate

logger = logging.getLogger(__name__)

ERROR_CHARS = 600
_TOKEN_LIKE = re.compile(r"xox[a-z]-[A-Za-z0-9-]+")

_CONSOLE = {
    "aws": "{region}.console.aws.amazon.com",
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-cn": "console.amazonaws.cn",
}


def _console_host(partition: str, region: str) -> str:
    return _CONSOLE.get(partition, _CONSOLE["aws"]).format(region=region)


def execution_console_url(execution_arn: str) -> str:
    """The Step Functions console page of an execution, from its ARN."""
    parts = execution_arn.split(":")
    partition, region = (parts[1], parts[3]) if len(parts) > 4 else ("aws", "us-east-1")
    host = _console_host(partition, region)
    return f"https://{host}/states/home?region={region}#/v2/executions/details/{execution_arn}"


def log_group_console_url(log_group: str, region: str, partition: str = "aws") -> str:
    """The CloudWatch Logs console page of a log group (the console wants '/' as $252F)."""
    encoded = quote(quote(log_group, safe=""), safe="").replace("%", "$")
    host = _console_host(partition, region)
    return f"https://{host}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{encoded}"


def where_to_look_for(
    execution_arn: str | None = None, log_group: str | None = None, region: str | None = None
) -> dict[str, str]:
    """Links for the alert: the execution (console) and the failed function's log group."""
    links: dict[str, str] = {}
    if execution_arn:
        links["Step Functions execution"] = execution_console_url(execution_arn)
        region = region or (execution_arn.split(":")[3] if execution_arn.count(":") > 4 else None)
    if log_group and region:
        links[f"Logs {log_group}"] = log_group_console_url(log_group, region)
    elif log_group:
        links[f"Log group {log_group}"] = ""
    return links


def describe_error(error: BaseException | str | Mapping[str, Any]) -> tuple[str, str | None]:
    """(one line saying what failed, the fix if known). Accepts an exception, a string, or
    a Step Functions Catch output ({"Error": ..., "Cause": ...}, Cause being the Lambda's
    JSON error when the task was a Lambda)."""
    hint: str | None = None
    if isinstance(error, SlackDeliveryError):
        line, hint = f"{type(error).__name__}: {error.message}", error.hint
    elif isinstance(error, BaseException):
        line = f"{type(error).__name__}: {error}"
    elif isinstance(error, Mapping):
        name, cause = str(error.get("Error") or "Error"), error.get("Cause") or ""
        try:
            parsed = json.loads(cause) if isinstance(cause, str) else cause
        except ValueError:
            parsed = None
        if isinstance(parsed, Mapping):
            name = str(parsed.get("errorType") or name)
            cause = parsed.get("errorMessage") or ""
        line = f"{name}: {cause}" if cause else name
    else:
        line = str(error)
    return " ".join(line.split()), hint


def _scrub(text: str, token: str) -> str:
    # Belt and braces: an upstream exception might quote a token; never forward it.
    return _TOKEN_LIKE.sub(lambda m: mask_token(m.group(0)), text.replace(token, mask_token(token)))


def _where_text(where_to_look: str | Mapping[str, str] | None) -> str:
    if not where_to_look:
        return ""
    if isinstance(where_to_look, str):
        return f"<{escape(where_to_look)}>" if where_to_look.startswith("https://") else escape(where_to_look)
    return " · ".join(
        f"<{escape(url)}|{escape(label)}>" if url else escape(label) for label, url in where_to_look.items()
    )


def build_alert(
    report_date: dt.date | str | None,
    step: str,
    error: BaseException | str | Mapping[str, Any],
    where_to_look: str | Mapping[str, str] | None,
    token: str = "",
) -> tuple[str, list[dict[str, Any]]]:
    """The alert's (text, blocks); every value from the failure is escaped and shortened."""
    day = str(report_date) if report_date else "an unknown date"
    line, hint = describe_error(error)
    line = truncate(escape(_scrub(line, token) if token else line), ERROR_CHARS)
    text = f"flowdigest failed at {step} for {day}"
    body = f":rotating_light: *flowdigest failed* at step *{escape(step)}* for *{escape(day)}*\n>{line}"
    if hint:
        body += f"\n*Fix:* {truncate(escape(hint), ERROR_CHARS)}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]
    where = _where_text(where_to_look)
    if where:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(f"Where to look: {where}", 3000)}]}
        )
    return escape(text), blocks


def post_failure_alert(
    settings: SlackSettings,
    report_date: dt.date | str | None,
    step: str,
    error: BaseException | str | Mapping[str, Any],
    where_to_look: str | Mapping[str, str] | None = None,
    *,
    client: WebClient | None = None,
) -> str | None:
    """Post the alert to the digest's channel. Returns its ts, or None if it could not be
    posted: it runs on a failure path, so it logs its own failure and never raises."""
    from flowdigest.slack.session import SlackSession, make_client

    text, blocks = build_alert(report_date, step, error, where_to_look, token=settings.token)
    session = SlackSession(client or make_client(settings, rate_limit_retries=1, connection_retries=1), settings)
    try:
        response = session.call(
            "chat.postMessage",
            lambda: session.client.chat_postMessage(
                channel=settings.channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            ),
        )
    except SlackDeliveryError as exc:
        logger.error("slack: the failure alert could not be posted: %s", exc)
        return None
    except Exception as exc:
        logger.error("slack: the failure alert could not be posted: %s", type(exc).__name__)
        return None
    return str(response["ts"])
