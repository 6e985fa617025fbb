"""The failure alert: which step, which day, where to look; escaped; never raises."""

from __future__ import annotations

import json
import logging

from slack_api_server import TEST_CHANNEL, TEST_TOKEN

from flowdigest.slack.alert import (
    build_alert,
    describe_error,
    execution_console_url,
    log_group_console_url,
    post_failure_alert,
    where_to_look_for,
)
from flowdigest.slack.credentials import SlackSettings
from flowdigest.slack.errors import SlackPermanentError

ARN = "arn:aws:states:eu-west-1:123456789012:execution:flowdigest-daily:2024-05-02T06-00-00Z"


def test_the_alert_names_the_step_the_day_and_where_to_look(slack):
    settings = SlackSettings(TEST_TOKEN, TEST_CHANNEL, slack.base_url)
    where = where_to_look_for(ARN, log_group="/aws/lambda/flowdigest-RenderCharts")

    ts = post_failure_alert(settings, "2024-05-01", "RenderCharts", RuntimeError("Chromium <crashed> & died"), where)

    assert ts is not None and slack.methods == ["chat.postMessage"]
    [message] = slack.messages
    assert message.thread_ts is None and message.channel == TEST_CHANNEL
    assert "RenderCharts" in message.text and "2024-05-01" in message.text
    body = message.blocks[0]["text"]["text"]
    assert "*RenderCharts*" in body and "*2024-05-01*" in body
    assert "RuntimeError: Chromium &lt;crashed&gt; &amp; died" in body  # data escaped
    where_text = message.blocks[1]["elements"][0]["text"]
    assert "Step Functions execution>" in where_text and "states/home?region=eu-west-1" in where_text
    assert "log-group/$252Faws$252Flambda$252Fflowdigest-RenderCharts" in where_text


def test_the_alert_carries_the_fix_of_a_slack_error():
    error = SlackPermanentError("Slack refused chat.postMessage: not_in_channel", hint="invite the bot: /invite @fd")
    _, blocks = build_alert("2024-05-01", "PostToSlack", error, "CloudWatch log group /aws/lambda/post")
    body = blocks[0]["text"]["text"]
    assert "not_in_channel" in body and "*Fix:* invite the bot: /invite @fd" in body
    assert blocks[1]["elements"][0]["text"] == "Where to look: CloudWatch log group /aws/lambda/post"


def test_a_step_functions_catch_output_is_understood():
    cause = json.dumps({"errorType": "QueryFailed", "errorMessage": "Athena: TABLE_NOT_FOUND", "stackTrace": []})
    assert describe_error({"Error": "QueryFailed", "Cause": cause}) == ("QueryFailed: Athena: TABLE_NOT_FOUND", None)
    assert describe_error({"Error": "States.Timeout", "Cause": "task timed out"}) == (
        "States.Timeout: task timed out",
        None,
    )
    assert describe_error({"Error": "States.TaskFailed"}) == ("States.TaskFailed", None)


def test_a_token_inside_an_upstream_error_is_not_forwarded():
    text, blocks = build_alert(None, "PostToSlack", f"boom with {TEST_TOKEN} and xoxp-99-other-token", None, TEST_TOKEN)
    body = json.dumps(blocks)
    assert TEST_TOKEN not in body and "xoxp-99-other-token" not in body and "an unknown date" in text


def test_console_links():
    assert execution_console_url(ARN) == (
        f"https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{ARN}"
    )
    gov = execution_console_url(ARN.replace("arn:aws:", "arn:aws-us-gov:").replace("eu-west-1", "us-gov-west-1"))
    assert gov.startswith("https://console.amazonaws-us-gov.com/states/home?region=us-gov-west-1")
    assert log_group_console_url("/aws/vendedlogs/states/x", "us-east-1").endswith(
        "#logsV2:log-groups/log-group/$252Faws$252Fvendedlogs$252Fstates$252Fx"
    )


def test_the_alert_never_raises(slack, caplog):
    settings = SlackSettings("xoxb-0-0-wrong", TEST_CHANNEL, slack.base_url)
    with caplog.at_level(logging.ERROR, logger="flowdigest.slack.alert"):
        assert post_failure_alert(settings, "2024-05-01", "RunQueries", "boom") is None
    assert "invalid_auth" in caplog.text and "Bot User OAuth Token" in caplog.text

    slack.fail("chat.postMessage", status=503, times=5)
    good = SlackSettings(TEST_TOKEN, TEST_CHANNEL, slack.base_url)
    assert post_failure_alert(good, "2024-05-01", "RunQueries", "boom") is None
