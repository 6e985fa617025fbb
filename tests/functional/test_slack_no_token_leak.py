"""The bot token never shows up: not in logs (DEBUG, slack-sdk's own included), stdout,
stderr, exception texts or the ledger, across successful, retried and failing runs."""

from __future__ import annotations

import io
import json
import logging
import socket
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from routed_report import A, B, write_routed_report
from slack_api_server import TEST_CHANNEL, TEST_TOKEN, FakeSlack, files, write_report

from flowdigest.models import Report
from flowdigest.slack.alert import post_failure_alert
from flowdigest.slack.credentials import SlackSettings
from flowdigest.slack.ledger import FileLedger
from flowdigest.slack.local import post_outbox
from flowdigest.slack.poster import deliver, make_client

SECRET_PART = TEST_TOKEN.split("-", 1)[1]  # everything after "xoxb-"


def exception_text(exc: BaseException) -> str:
    """Everything an exception could print: str, repr, traceback, even suppressed context."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        parts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    names = ["", "slack_sdk", "slack_sdk.web.base_client", "slack_sdk.http_retry", "flowdigest", "urllib3", "botocore"]
    before = {n: logging.getLogger(n).level for n in names}
    root.addHandler(handler)
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for n, level in before.items():
            logging.getLogger(n).setLevel(level)


@pytest.mark.slow
def test_the_token_never_appears_anywhere(tmp_path, debug_log, capfd, monkeypatch, sample_report):
    texts: list[str] = []

    def attempt(fn: Callable[[], Any]) -> None:
        try:
            result = fn()
            texts.append(repr(result))
        except Exception as exc:
            texts.append(exception_text(exc))

    with FakeSlack() as slack:
        settings = SlackSettings(TEST_TOKEN, TEST_CHANNEL, slack.base_url)
        folder = tmp_path / "report"
        message, _ = write_report(folder)
        ledger = FileLedger(tmp_path / "ledger")
        client = make_client(settings, backoff=0.01)

        invocations = iter(range(1000))

        def run(**kwargs: Any) -> Any:  # each call is a new invocation (its own ledger owner)
            owner = f"run-{next(invocations)}"
            return deliver(message, files(folder), settings, ledger, client=client, owner=owner, **kwargs)

        # A run with a 429 and a broken upload, its resumption, a re-run and a forced run.
        slack.fail("chat.postMessage", status=429, retry_after=1)
        slack.fail("upload", status=500, nth=2)
        attempt(run)
        attempt(run)
        attempt(run)
        attempt(lambda: run(force=True))
        # Errors that cannot heal, on each kind of call.
        for method, code in [
            ("auth.test", "invalid_auth"),
            ("chat.postMessage", "not_in_channel"),
            ("files.getUploadURLExternal", "missing_scope"),
            ("auth.test", "token_revoked"),
        ]:
            slack.fail(method, error=code, needed="files:write")
            attempt(lambda: run(force=True))
        # Slack unreachable.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = SlackSettings(TEST_TOKEN, TEST_CHANNEL, f"http://127.0.0.1:{s.getsockname()[1]}/api/")
        dead_client = make_client(dead, backoff=0.01)
        attempt(lambda: deliver(message, files(folder), dead, ledger, force=True, client=dead_client))
        # The CLI step, posting and failing.
        env = {
            "SLACK_BOT_TOKEN": TEST_TOKEN,
            "SLACK_CHANNEL_ID": TEST_CHANNEL,
            "SLACK_API_URL": slack.base_url,
            "FLOWDIGEST_STATE_DIR": str(tmp_path / "state"),
        }
        attempt(lambda: post_outbox(folder, environ=env))
        slack.fail("chat.postMessage", error="channel_not_found")
        attempt(lambda: post_outbox(folder, environ=env, force=True))
        attempt(lambda: post_outbox(folder, environ={**env, "SLACK_CHANNEL_ID": TEST_TOKEN}))
        # Routed channels: one posted, one the bot is not in; routes holding the token, and broken JSON.
        slack.channels.add("C0TEAMA001")
        routed = tmp_path / "routed"
        write_routed_report(routed, Report.model_validate(sample_report))
        for routes in ({A: "C0TEAMA001", B: "C0NOTJOIN1"}, {A: TEST_TOKEN}, {TEST_TOKEN: "C0TEAMA001"}):
            attempt(lambda routes=routes: post_outbox(routed, environ={**env, "SLACK_ROUTES": json.dumps(routes)}))
        attempt(lambda: post_outbox(routed, environ={**env, "SLACK_ROUTES": '{"' + A + '": ' + TEST_TOKEN}))
        # Failure alerts, delivered and not.
        attempt(lambda: post_failure_alert(settings, "2024-05-01", "RenderCharts", RuntimeError(f"x {TEST_TOKEN}")))
        slack.fail("chat.postMessage", error="account_inactive")
        attempt(lambda: post_failure_alert(settings, "2024-05-01", "RenderCharts", "boom"))
        # Settings shown the careless ways.
        print(settings, repr(settings), f"{settings}")
        logging.getLogger("flowdigest.test").info("settings=%s %r", settings, settings)
        attempt(lambda: SlackSettings(TEST_TOKEN, "#general"))

    # The secret in AWS, malformed (a bare token) and fine.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    parameters.clear_caches()
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        logging.disable(logging.CRITICAL)  # the test's own setup: botocore logs the request bodies
        sm.create_secret(Name="bare", SecretString=TEST_TOKEN)
        sm.create_secret(Name="good", SecretString=json.dumps({"bot_token": TEST_TOKEN, "channel_id": "C0FLOWDIGEST"}))
        sm.create_secret(Name="half", SecretString=json.dumps({"bot_token": TEST_TOKEN}))
        sm.create_secret(Name="routed", SecretString=json.dumps(
            {"bot_token": TEST_TOKEN, "channel_id": "C0FLOWDIGEST", "routes": {A: TEST_TOKEN}}))
        logging.disable(logging.NOTSET)
        for name in ("bare", "good", "half", "routed", "missing"):
            attempt(lambda name=name: SlackSettings.from_secret(name))
    parameters.clear_caches()

    out, err = capfd.readouterr()
    logs = debug_log.getvalue()
    ledger_files = "".join(p.read_text() for p in tmp_path.rglob("*.json") if p.parent.name != "report")

    # The capture did see slack-sdk's debug logging, the retries and the failures.
    assert "Sending a request" in logs and "Received the following response" in logs
    assert "A retry handler found: _RateLimitWait" in logs
    assert "not_in_channel" in "".join(texts) and "channel_not_found" in err
    assert len(slack.messages) > 5 and ledger_files
    assert any(m.channel == "C0TEAMA001" for m in slack.messages) and "C0NOTJOIN1: " in err
    assert "SLACK_ROUTES is not valid JSON" in err and "SLACK_ROUTES: the key the value is neither" in err
    assert f"secret 'routed' routes: {A}'s channel the value is not a Slack channel ID" in "".join(texts)
    assert "GetSecretValue" in logs  # botocore was logging at DEBUG while the secret was read

    everything = {
        "logs": logs,
        "stdout": out,
        "stderr": err,
        "results and exceptions": "\n".join(texts),
        "ledger": ledger_files,
    }
    for where, text in everything.items():
        assert TEST_TOKEN not in text, f"the token leaked into {where}"
        assert SECRET_PART not in text, f"part of the token leaked into {where}"
