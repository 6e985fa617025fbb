"""The Slack Lambda with routes in its Secrets Manager secret, over moto (S3 store, DynamoDB
ledger) and the local Slack server: the main channel and each routed channel once per day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from routed_report import A, B, assert_routed_once, write_routed_report
from slack_api_server import TEST_CHANNEL, TEST_TOKEN, FakeSlack, assert_posted_once
from stack_resources import StackResources, create_stack_resources
from test_state_machine import load_handler

from flowdigest.aws.errors import TransientError
from flowdigest.models import Report
from flowdigest.routed_message import build_routed
from flowdigest.slack.errors import SlackConfigError

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

REGION = "us-east-1"
TEAM_A, TEAM_B = "C0TEAMA001", "C0TEAMB001"
EVENTS = Path(__file__).resolve().parents[2] / "events"


class Context:
    function_name = "flowdigest-slack"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:flowdigest-slack"
    aws_request_id = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def stack(fake_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[StackResources, FakeSlack]]:
    for key in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL_ID", "SLACK_ROUTES", "FLOWDIGEST_STORE_DIR"):
        monkeypatch.delenv(key, raising=False)
    parameters.clear_caches()
    with mock_aws(), FakeSlack(channels=(TEST_CHANNEL, TEAM_A, TEAM_B)) as slack:
        made = create_stack_resources(REGION)
        for key, value in {"FLOWDIGEST_REPORTS_BUCKET": made.bucket, "FLOWDIGEST_REPORTS_PREFIX": "reports/",
                           "SLACK_SECRET_NAME": made.secret_arn, "SLACK_API_URL": slack.base_url,
                           "FLOWDIGEST_LEDGER_TABLE": made.ledger_table, "AWS_REGION": REGION}.items():
            monkeypatch.setenv(key, value)
        yield made, slack
    parameters.clear_caches()


def put_secret(made: StackResources, routes: Any) -> None:
    secret = {"bot_token": TEST_TOKEN, "channel_id": TEST_CHANNEL, "routes": routes}
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=made.secret_arn, SecretString=json.dumps(secret))
    parameters.clear_caches()


def upload_report(made: StackResources, base: Report, tmp_path: Path) -> tuple[Any, Report]:
    """The day's report folder as the render step leaves it in the reports bucket."""
    folder = tmp_path / "2026-11-20"
    message, report = write_routed_report(folder, base)
    s3 = boto3.client("s3", region_name=REGION)
    for path in folder.iterdir():
        s3.upload_file(str(path), made.bucket, f"reports/2026-11-20/{path.name}")
    return message, report


def test_the_lambda_posts_the_digest_and_each_routed_part_once(stack, sample_report, tmp_path):
    made, slack = stack
    put_secret(made, {A: TEAM_A, B: TEAM_B})
    message, report = upload_report(made, Report.model_validate(sample_report), tmp_path)
    app = load_handler("slack")
    event = json.loads((EVENTS / "post.json").read_text())

    first = app.lambda_handler(event, Context())
    assert first["status"] == "posted" and first["channel"] == TEST_CHANNEL
    assert [(r["channel"], list(r["scopes"]), r["status"]) for r in first["routed"]] == [
        (TEAM_A, [A], "posted"), (TEAM_B, [B], "posted")]
    again = app.lambda_handler(event, Context())  # a retried task or a re-run execution
    assert [again["status"], *(r["status"] for r in again["routed"])] == ["already_posted"] * 3

    assert_posted_once(slack, message)
    assert_routed_once(slack, TEAM_A, build_routed(report, [A], TEST_CHANNEL))
    assert_routed_once(slack, TEAM_B, build_routed(report, [B], TEST_CHANNEL))
    ledger = boto3.client("dynamodb", region_name=REGION).scan(TableName=made.ledger_table)["Items"]
    assert sorted(item["pk"]["S"] for item in ledger) == [f"2026-11-20#{c}" for c in (TEST_CHANNEL, TEAM_A, TEAM_B)]


def test_a_transient_failure_in_one_routed_channel_is_retried_without_repeating_the_others(
        stack, sample_report, tmp_path):
    made, slack = stack
    put_secret(made, {A: TEAM_A, B: TEAM_B})
    message, report = upload_report(made, Report.model_validate(sample_report), tmp_path)
    app = load_handler("slack")
    event = json.loads((EVENTS / "post.json").read_text())
    # the main digest makes 3 chat.postMessage calls (summary, 2 replies), team A the 4th: team B's fails
    slack.fail("chat.postMessage", status=429, retry_after=3600, nth=5)

    with pytest.raises(TransientError, match=f"1 of 3 channels failed .*{TEAM_B}: Slack rate-limited"):
        app.lambda_handler(event, Context())  # Step Functions retries this error name
    retried = app.lambda_handler(event, Context())

    assert retried["status"] == "already_posted"
    assert [(r["channel"], r["status"]) for r in retried["routed"]] == [(TEAM_A, "already_posted"), (TEAM_B, "posted")]
    assert_posted_once(slack, message)
    assert_routed_once(slack, TEAM_A, build_routed(report, [A], TEST_CHANNEL))
    assert_routed_once(slack, TEAM_B, build_routed(report, [B], TEST_CHANNEL))


def test_a_bad_route_in_the_secret_fails_before_posting_naming_it(stack, sample_report, tmp_path):
    made, slack = stack
    put_secret(made, {"vpc-nothex": TEAM_A})
    upload_report(made, Report.model_validate(sample_report), tmp_path)
    app = load_handler("slack")
    with pytest.raises(SlackConfigError, match="routes: the key 'vpc-nothex' is neither") as caught:
        app.lambda_handler(json.loads((EVENTS / "post.json").read_text()), Context())
    assert TEST_TOKEN not in str(caught.value) and slack.calls() == []
