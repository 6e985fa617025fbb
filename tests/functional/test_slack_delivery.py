"""Delivery against a local Slack Web API: order, thread, bytes, retries, errors, idempotency."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from slack_api_server import (
    CHARTS,
    TEST_CHANNEL,
    TEST_TOKEN,
    FakeSlack,
    Recorded,
    files,
    make_png,
    sample_message,
    write_report,
)

from flowdigest.models import SlackFile, SlackMessage, SlackReply
from flowdigest.slack.credentials import SlackSettings
from flowdigest.slack.errors import (
    DeliveryInProgressError,
    ReportFileError,
    SlackPermanentError,
    SlackTransientError,
)
from flowdigest.slack.ledger import FileLedger, Ledger
from flowdigest.slack.local import post_outbox
from flowdigest.slack.poster import DeliveryResult, deliver, make_client


@pytest.fixture
def report(tmp_path: Path) -> tuple[SlackMessage, dict[str, bytes], Path]:
    folder = tmp_path / "report"
    message, pngs = write_report(folder)
    return message, pngs, folder


@pytest.fixture
def ledger(tmp_path: Path) -> FileLedger:
    return FileLedger(tmp_path / "ledger")


def settings_for(slack: FakeSlack) -> SlackSettings:
    return SlackSettings(token=TEST_TOKEN, channel=TEST_CHANNEL, api_url=slack.base_url)


def run(slack: FakeSlack, message: SlackMessage, folder: Path, ledger: Ledger, **kwargs: Any) -> DeliveryResult:
    settings = settings_for(slack)
    client = make_client(settings, backoff=0.01, rate_limit_retries=kwargs.pop("rate_limit_retries", 3))
    return deliver(message, files(folder), settings, ledger, client=client, **kwargs)


def cli_env(slack: FakeSlack, tmp_path: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": TEST_TOKEN,
        "SLACK_CHANNEL_ID": TEST_CHANNEL,
        "SLACK_API_URL": slack.base_url,
        "FLOWDIGEST_STATE_DIR": str(tmp_path / "state"),
    }


def top_level(slack: FakeSlack) -> list[Any]:
    return [m for m in slack.messages if m.thread_ts is None]


def posted_sequence(requests: list[Recorded]) -> list[tuple[str, str]]:
    """What appeared in Slack, in order: ("message", text) or ("file", title)."""
    seq: list[tuple[str, str]] = []
    for r in requests:
        if r.status != 200 or not isinstance(r.response, dict) or not r.response.get("ok"):
            continue
        if r.method == "chat.postMessage":
            seq.append(("message", r.params["text"]))
        elif r.method == "files.completeUploadExternal":
            seq.extend(("file", f["title"]) for f in json.loads(r.params["files"]))
    return seq


def expected_sequence(message: SlackMessage) -> list[tuple[str, str]]:
    return [("message", message.text)] + [
        ("file", item.title) if isinstance(item, SlackFile) else ("message", item.text) for item in message.thread
    ]


def test_posts_the_summary_then_the_charts_and_details_in_its_thread(slack, report, ledger):
    message, pngs, folder = report
    result = run(slack, message, folder, ledger)

    assert slack.methods == [
        "auth.test",
        "chat.postMessage",
        *["files.getUploadURLExternal", "upload", "files.completeUploadExternal"],
        "chat.postMessage",
        *["files.getUploadURLExternal", "upload", "files.completeUploadExternal"] * 2,
        "chat.postMessage",
    ]
    assert posted_sequence(slack.calls()) == expected_sequence(message)

    summary = slack.messages[0]
    assert summary.thread_ts is None and summary.channel == TEST_CHANNEL
    assert summary.text == message.text and summary.blocks == message.blocks
    assert result.status == "posted" and result.summary_ts == summary.ts
    assert all(m.thread_ts == summary.ts for m in slack.messages[1:])
    replies = [m for m in slack.messages[1:] if not m.files]  # the others are the charts' shares
    assert [m.blocks for m in replies] == [i.blocks for i in message.thread if isinstance(i, SlackReply)]

    for r in slack.calls("files.completeUploadExternal"):
        assert r.params["channel_id"] == TEST_CHANNEL and r.params["thread_ts"] == summary.ts
    uploads = [r.body for r in slack.calls("upload")]
    assert uploads == [pngs[name] for name in ("headline.png", "top_talkers.png", "rejected.png")]
    for f in slack.files.values():
        assert f.completed and f.data == pngs[f.chart] and f.length == len(pngs[f.chart])
        assert (f.title, f.alt_txt) == CHARTS[f.chart]

    # The token goes in the Authorization header of API calls, never to the upload URL.
    assert all(r.headers["authorization"] == f"Bearer {TEST_TOKEN}" for r in slack.calls() if r.method != "upload")
    assert all("authorization" not in r.headers for r in slack.calls("upload"))


def test_a_second_run_of_the_same_day_posts_nothing(slack, report, ledger):
    message, _, folder = report
    first = run(slack, message, folder, ledger)
    slack.reset()

    again = run(slack, message, folder, ledger)

    assert again.status == "already_posted" and again.summary_ts == first.summary_ts
    assert slack.calls() == []  # not even auth.test
    assert "--force" in again.describe()


def test_force_posts_the_day_again(slack, report, ledger):
    message, _, folder = report
    first = run(slack, message, folder, ledger)

    forced = run(slack, message, folder, ledger, force=True)

    assert forced.status == "posted" and forced.summary_ts != first.summary_ts
    assert len(top_level(slack)) == 2
    record = ledger.load("2024-05-01", TEST_CHANNEL)
    assert record is not None and record.run == 2 and record.summary_ts == forced.summary_ts
    assert record.earlier_runs[0]["summary_ts"] == first.summary_ts
    # ...and the forced posting is itself posted once.
    assert run(slack, message, folder, ledger).status == "already_posted"


def test_a_429_is_retried_after_retry_after_and_the_message_posted_once(slack, report, ledger):
    message, _, folder = report
    slack.fail("chat.postMessage", status=429, retry_after=1)

    started = time.monotonic()
    result = run(slack, message, folder, ledger)
    elapsed = time.monotonic() - started

    posts = slack.calls("chat.postMessage")
    assert posts[0].status == 429 and posts[1].status == 200
    assert posts[0].params == posts[1].params  # the same request, sent again
    assert elapsed >= 1.0  # slack-sdk waited Retry-After before retrying
    assert len(top_level(slack)) == 1 and result.status == "posted"
    assert posted_sequence(slack.calls()) == expected_sequence(message)


def test_a_rate_limit_that_outlasts_the_retries_is_transient_and_resumable(slack, report, ledger):
    message, _, folder = report
    slack.fail("files.getUploadURLExternal", status=429, retry_after=0, times=2)

    with pytest.raises(SlackTransientError) as caught:
        run(slack, message, folder, ledger, rate_limit_retries=1)
    assert caught.value.exit_code == 75 and caught.value.code == "ratelimited"
    assert len(slack.calls("files.getUploadURLExternal")) == 2  # the call and one retry

    result = run(slack, message, folder, ledger)
    assert result.status == "resumed" and len(top_level(slack)) == 1
    assert posted_sequence(slack.calls()) == expected_sequence(message)


NON_HEALING = [
    ("auth.test", "invalid_auth", {}, "Bot User OAuth Token"),
    ("auth.test", "not_authed", {}, "SLACK_BOT_TOKEN"),
    ("auth.test", "token_revoked", {}, "reinstall the app"),
    ("auth.test", "account_inactive", {}, "reinstall the app"),
    ("chat.postMessage", "channel_not_found", {}, "Channel ID"),
    ("chat.postMessage", "not_in_channel", {}, "/invite @flowdigest"),
    ("chat.postMessage", "is_archived", {}, "archived"),
    ("chat.postMessage", "missing_scope", {"needed": "chat:write", "provided": "files:write"}, "`chat:write`"),
    ("files.getUploadURLExternal", "missing_scope", {"needed": "files:write"}, "`files:write`"),
    ("files.completeUploadExternal", "not_in_channel", {}, "/invite @flowdigest"),
    ("files.getUploadURLExternal", "file_uploads_disabled", {}, "workspace admin"),
]


@pytest.mark.parametrize(("method", "code", "extra", "fix"), NON_HEALING, ids=[f"{m}-{c}" for m, c, *_ in NON_HEALING])
def test_errors_that_cannot_heal_stop_at_once_with_the_fix(slack, report, ledger, method, code, extra, fix):
    message, _, folder = report
    slack.fail(method, error=code, times=99, **extra)

    with pytest.raises(SlackPermanentError) as caught:
        run(slack, message, folder, ledger)

    error = caught.value
    assert error.code == code and error.method == method and error.exit_code == 77
    assert "\n" not in str(error) and "Fix:" in str(error) and fix in str(error)
    assert len(slack.calls(method)) == 1  # no retry
    assert slack.calls()[-1].method == method  # and nothing after it
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_cli_step_exits_non_zero_with_one_line_naming_the_fix(slack, report, tmp_path, capsys):
    _, _, folder = report
    slack.fail("chat.postMessage", error="not_in_channel", times=99)
    env = cli_env(slack, tmp_path)

    code = post_outbox(folder, environ=env)

    out, err = capsys.readouterr()
    assert code == 77 and out == ""
    assert err.count("\n") == 1 and "not_in_channel" in err and "/invite @flowdigest" in err


def test_the_cli_step_with_a_wrong_token(slack, report, tmp_path, capsys):
    _, _, folder = report
    env = {**cli_env(slack, tmp_path), "SLACK_BOT_TOKEN": "xoxb-0-0-wrong"}

    assert post_outbox(folder, environ=env) == 77
    assert "invalid_auth" in capsys.readouterr().err
    assert slack.methods == ["auth.test"]


def test_the_cli_step_without_a_token_writes_nothing_to_slack_and_says_so(slack, report, capsys):
    _, _, folder = report
    assert post_outbox(folder, environ={}) == 0
    out = capsys.readouterr().out
    assert "SLACK_BOT_TOKEN is not set" in out and str(folder) in out
    assert slack.calls() == []


def test_the_cli_step_posts_once_then_reports_already_posted(slack, report, tmp_path, capsys):
    _, _, folder = report
    env = cli_env(slack, tmp_path)

    assert post_outbox(folder, environ=env) == 0
    assert "posted 2024-05-01" in capsys.readouterr().out
    assert post_outbox(folder, environ=env) == 0
    assert "already posted" in capsys.readouterr().out
    assert post_outbox(folder, environ=env, force=True) == 0
    assert len(top_level(slack)) == 2
    assert (tmp_path / "state" / "slack-ledger" / f"2024-05-01_{TEST_CHANNEL}.json").exists()


def test_a_failed_chart_upload_is_completed_on_retry_without_a_second_summary(slack, report, ledger):
    message, pngs, folder = report
    slack.fail("upload", status=500, nth=2)  # the summary and the first chart went out

    with pytest.raises(SlackTransientError) as caught:
        run(slack, message, folder, ledger)
    assert caught.value.exit_code == 75
    record = ledger.load("2024-05-01", TEST_CHANNEL)
    assert record is not None and record.status == "in_progress" and record.lease_expires == 0
    assert list(record.done) == ["summary", "thread.0", "thread.1"]
    first_requests = slack.calls()
    slack.reset()

    result = run(slack, message, folder, ledger)

    assert result.status == "resumed" and result.skipped == ("summary", "thread.0", "thread.1")
    assert result.posted == ("thread.2", "thread.3", "thread.4")
    assert len(top_level(slack)) == 1  # no second summary
    assert all(r.params.get("thread_ts") == result.summary_ts for r in slack.calls("chat.postMessage"))
    assert posted_sequence(first_requests + slack.calls()) == expected_sequence(message)
    completed = sorted(f.chart for f in slack.files.values() if f.completed)
    assert completed == sorted(pngs)  # each chart shared exactly once


class Crash(Exception):
    """Stands in for the process dying (Lambda timeout, kill -9): nothing gets cleaned up."""


class NoRelease(FileLedger):
    def release(self, record: Any) -> None:  # a dead process releases nothing
        pass


def test_a_crash_after_the_summary_resumes_on_retry_by_the_same_owner(slack, report, tmp_path, monkeypatch):
    message, _, folder = report
    ledger = NoRelease(tmp_path / "ledger")
    settings = settings_for(slack)
    client = make_client(settings)
    real_upload = client.files_upload_v2

    def crash(**kwargs: Any) -> Any:
        raise Crash()

    monkeypatch.setattr(client, "files_upload_v2", crash)
    with pytest.raises(Crash):
        deliver(message, files(folder), settings, ledger, client=client, owner="exec-1")
    assert len(top_level(slack)) == 1

    # Another execution is kept out while the dead run's lease lasts...
    with pytest.raises(DeliveryInProgressError) as caught:
        deliver(message, files(folder), settings, ledger, owner="exec-2")
    assert "exec-1" in str(caught.value) and caught.value.exit_code == 75

    # ...but the retry of the same execution resumes at once.
    monkeypatch.setattr(client, "files_upload_v2", real_upload)
    result = deliver(message, files(folder), settings, ledger, client=client, owner="exec-1")
    assert result.status == "resumed" and len(top_level(slack)) == 1
    assert posted_sequence(slack.calls()) == expected_sequence(message)


def test_a_missing_chart_fails_before_anything_is_posted(slack, report, ledger):
    message, _, folder = report
    (folder / "rejected.png").unlink()

    with pytest.raises(ReportFileError) as caught:
        run(slack, message, folder, ledger)

    assert "rejected.png" in str(caught.value) and caught.value.exit_code == 66
    assert slack.calls() == [] and ledger.load("2024-05-01", TEST_CHANNEL) is None


def test_chart_names_cannot_leave_the_report_folder(slack, report, ledger):
    message, _, folder = report
    bad = message.model_copy(update={"thread": [SlackFile(file="../secret.png", title="t", alt_text="a")]})
    (folder.parent / "secret.png").write_bytes(b"not yours")

    with pytest.raises(ReportFileError):
        run(slack, bad, folder, ledger)
    assert slack.calls() == []


def test_a_message_over_slacks_limits_is_split_and_accepted(slack, tmp_path, ledger):
    long_line = "x" * 190
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{i}: {long_line}"}} for i in range(120)]
    blocks.insert(0, {"type": "header", "text": {"type": "plain_text", "text": "H" * 400}})
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join([long_line] * 40)}})
    message = sample_message().model_copy(update={"text": "t" * 9000, "blocks": blocks})
    folder = tmp_path / "big"
    write_report(folder, message)

    result = run(slack, message, folder, ledger)

    posts = [r for r in slack.calls("chat.postMessage")]
    assert all(r.response["ok"] for r in posts)  # the fake enforces Slack's limits
    summary_pages = [k for k in result.posted if k.startswith("summary")]
    assert len(summary_pages) >= 3 and len(top_level(slack)) == 1
    assert all(len(r.params.get("blocks", [])) <= 50 for r in posts)
    assert len(posts[0].params["text"]) <= 4000
    texts = "".join(b["text"]["text"] for r in posts for b in r.params.get("blocks", []) if b["type"] == "section")
    assert all(f"{i}: {long_line}" in texts for i in range(120))  # nothing dropped


def test_unreachable_slack_is_a_transient_error_naming_the_url(report, ledger):
    message, _, folder = report
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = SlackSettings(token=TEST_TOKEN, channel=TEST_CHANNEL, api_url=f"http://127.0.0.1:{port}/api/")

    with pytest.raises(SlackTransientError) as caught:
        deliver(message, files(folder), settings, ledger, client=make_client(settings, backoff=0.01))

    assert "could not reach Slack" in str(caught.value) and f"127.0.0.1:{port}" in str(caught.value)
    record = ledger.load("2024-05-01", TEST_CHANNEL)
    assert record is not None and record.done == {}


def test_files_can_come_from_any_reader(slack, report, ledger):
    message, pngs, _ = report
    read: list[str] = []

    def reader(name: str) -> bytes:
        read.append(name)
        return pngs[name]

    run(slack, message, reader, ledger)  # type: ignore[arg-type]
    assert read == ["headline.png", "top_talkers.png", "rejected.png"]
    assert [r.body for r in slack.calls("upload")] == [pngs[n] for n in read]


def test_the_lambda_path_reads_the_report_from_s3_and_keeps_the_ledger_in_dynamodb(slack, monkeypatch):
    import boto3
    from moto import mock_aws

    from flowdigest.aws.s3store import S3Store
    from flowdigest.slack.ledger import DynamoDBLedger
    from flowdigest.slack.poster import post_report

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    execution = "arn:aws:states:us-east-1:123456789012:execution:flowdigest:2024-05-02"
    message = sample_message()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="reports")
        pngs = {}
        for i, item in enumerate(message.thread):
            if isinstance(item, SlackFile):
                pngs[item.file] = make_png(i)
                s3.put_object(Bucket="reports", Key=f"daily/2024-05-01/{item.file}", Body=pngs[item.file])
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="ledger",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ledger = DynamoDBLedger("ledger", client=ddb)
        s3.put_object(Bucket="reports", Key="daily/2024-05-01/message.json", Body=message.model_dump_json())
        store = S3Store("reports", "daily", client=s3)
        settings = settings_for(slack)
        slack.fail("files.completeUploadExternal", error="internal_error", nth=3)

        def post(owner: str) -> DeliveryResult:
            return post_report(store, "2024-05-01/message.json", settings, ledger, owner=owner)

        with pytest.raises(SlackTransientError):
            post(execution)
        retried = post(execution)  # Step Functions' Retry
        rerun = post(execution + "-rerun")

    assert retried.status == "resumed" and rerun.status == "already_posted"
    assert len(top_level(slack)) == 1
    assert sorted(f.data for f in slack.files.values() if f.completed) == sorted(pngs.values())
    assert posted_sequence(slack.calls()) == expected_sequence(message)


def test_a_5xx_is_transient_and_a_non_slack_answer_is_reported_briefly(slack, report, ledger):
    message, _, folder = report
    slack.fail("chat.postMessage", status=503)  # not retried in-process: Step Functions retries
    with pytest.raises(SlackTransientError) as caught:
        run(slack, message, folder, ledger)
    assert caught.value.code == "internal_error"

    slack.fail("chat.postMessage", status=403)  # e.g. a proxy's HTML error page
    with pytest.raises(SlackPermanentError) as caught:
        run(slack, message, folder, ledger)
    assert caught.value.code == "http_403_unexpected_response" and len(str(caught.value)) < 300


def test_an_empty_reply_is_skipped(slack, report, ledger):
    message, _, folder = report
    message.thread.append(SlackReply(text="", blocks=[]))
    result = run(slack, message, folder, ledger)
    assert result.posted[-1] == "thread.4" and all(m.text or m.blocks or m.files for m in slack.messages)
