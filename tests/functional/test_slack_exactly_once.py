"""Exactly once on Slack: intents, reconciling against the channel, late answers, updates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from slack_api_server import (
    TEST_CHANNEL,
    TEST_TOKEN,
    FakeSlack,
    assert_posted_once,
    files,
    sample_message,
    write_report,
)

from flowdigest.models import SlackMessage, SlackReply
from flowdigest.slack.credentials import SlackSettings
from flowdigest.slack.errors import SlackPermanentError, SlackTransientError
from flowdigest.slack.ledger import FileLedger
from flowdigest.slack.poster import DeliveryResult, deliver, make_client
from flowdigest.slack.session import EVENT_TYPE

DAY = "2024-05-01"


def settings_for(slack: FakeSlack) -> SlackSettings:
    return SlackSettings(token=TEST_TOKEN, channel=TEST_CHANNEL, api_url=slack.base_url)


def post(slack: FakeSlack, folder: Path, ledger: FileLedger, message: SlackMessage | None = None,
         timeout: int = 30, **kwargs: Any) -> DeliveryResult:
    message = message or SlackMessage.model_validate_json((folder / "message.json").read_bytes())
    settings = settings_for(slack)
    client = make_client(settings, backoff=0.01, timeout=timeout)
    return deliver(message, files(folder), settings, ledger, client=client, **kwargs)


def test_every_message_carries_the_reports_metadata_and_every_file_a_unique_name(slack, tmp_path):
    message, _ = write_report(tmp_path / "r")
    post(slack, tmp_path / "r", FileLedger(tmp_path / "l"))
    summary = slack.top_level()[0]
    assert summary.metadata == {
        "event_type": EVENT_TYPE,
        "event_payload": {"report_date": DAY, "part": "summary", "run": 1, "revision": 0},
    }
    replies = [m for m in slack.thread(summary.ts) if not m.files]
    assert [m.metadata["event_payload"]["part"] for m in replies if m.metadata] == ["thread.1", "thread.4"]
    names = [f.filename for f in slack.files.values()]
    assert len(set(names)) == 3 and all(n.startswith(f"flowdigest-{DAY}-") for n in names)
    assert_posted_once(slack, message)


@pytest.mark.parametrize("method", ["chat.postMessage", "files.completeUploadExternal"])
def test_slack_accepting_a_post_but_answering_after_the_timeout_posts_it_once(slack, tmp_path, method):
    message, _ = write_report(tmp_path / "r")
    slack.late(method, 2.5)  # the client gives up after 1 s; Slack already has the post

    result = post(slack, tmp_path / "r", FileLedger(tmp_path / "l"), timeout=1)

    assert result.status in ("posted", "resumed")
    assert_posted_once(slack, message)


def posted_then_interrupted(slack: FakeSlack, tmp_path: Path, pending: str) -> tuple[SlackMessage, FileLedger]:
    """A day posted, then its record rewound as if a run died in `pending`'s call: every
    step from `pending` on has no recorded result (whatever the channel holds)."""
    message, _ = write_report(tmp_path / "r")
    ledger = FileLedger(tmp_path / "l")
    post(slack, tmp_path / "r", ledger)
    record = ledger.load(DAY, TEST_CHANNEL)
    assert record is not None
    keys = list(record.done)
    record.done = dict(list(record.done.items())[: keys.index(pending)])
    record.summary_ts = record.done.get("summary")
    record.status, record.pending, record.owner, record.lease_expires = "in_progress", pending, "local:gone:1", 0.0
    ledger._commit(record)
    return message, ledger


def test_a_rerun_after_a_crash_mid_call_adopts_what_the_channel_holds(slack, tmp_path):
    """The process died after Slack took the 2nd chart but before the ledger heard of it."""
    message, ledger = posted_then_interrupted(slack, tmp_path, "thread.2")
    thread = slack.thread(slack.top_level()[0].ts)
    for gone in thread[-2:]:  # the rejected chart and the last reply were never sent
        slack.messages.remove(gone)
    slack.reset()

    result = post(slack, tmp_path / "r", ledger)

    assert result.status == "resumed" and "thread.2" in result.skipped
    assert result.posted == ("thread.3", "thread.4")
    assert "conversations.replies" in slack.methods
    assert_posted_once(slack, message)


def test_a_lost_summary_is_found_by_its_metadata(slack, tmp_path):
    message, ledger = posted_then_interrupted(slack, tmp_path, "summary")  # died inside chat.postMessage

    result = post(slack, tmp_path / "r", ledger, owner="another-run")
    assert result.status == "resumed" and result.posted == ()
    assert_posted_once(slack, message)


def test_reconciling_without_history_scope_names_the_scope(tmp_path):
    with FakeSlack(scopes=("chat:write", "files:write")) as slack:
        write_report(tmp_path / "r")
        ledger = FileLedger(tmp_path / "l")
        slack.late("chat.postMessage", 2.5)
        with pytest.raises(SlackPermanentError) as caught:
            post(slack, tmp_path / "r", ledger, timeout=1)
    text = str(caught.value)
    assert "missing_scope" in text and "channels:history" in text and "groups:history" in text


def corrected(message: SlackMessage) -> SlackMessage:
    thread = list(message.thread)
    thread[1] = SlackReply(text="Top talkers (corrected)", blocks=[])
    return message.model_copy(update={"text": "VPC flow logs 2024-05-01: 2.0 GiB", "thread": thread[:-1]})


def test_a_corrected_day_says_so_and_update_edits_the_post_in_place(slack, tmp_path):
    message, _ = write_report(tmp_path / "r")
    ledger = FileLedger(tmp_path / "l")
    first = post(slack, tmp_path / "r", ledger)
    fixed = corrected(message)
    write_report(tmp_path / "r", fixed)

    plain = post(slack, tmp_path / "r", ledger)
    assert plain.status == "already_posted" and plain.changed
    assert "--update" in plain.describe() and "differs" in plain.describe()

    updated = post(slack, tmp_path / "r", ledger, update=True)

    assert updated.status == "updated" and updated.summary_ts == first.summary_ts
    summary = slack.top_level()[0]
    assert summary.text == fixed.text and summary.edited == 1
    assert summary.metadata and summary.metadata["event_payload"]["revision"] == 1
    assert_posted_once(slack, fixed)  # the old charts and replies are gone, the new ones there once
    old_names = {r.params["filename"] for r in slack.calls("files.getUploadURLExternal")[:3]}
    assert len(slack.files) == 3 and not old_names & {f.filename for f in slack.files.values()}  # old ones deleted
    again = post(slack, tmp_path / "r", ledger, update=True)
    assert again.status == "already_posted" and not again.changed


def test_a_capped_retry_after_says_how_long_slack_asked_and_is_transient(slack, tmp_path):
    write_report(tmp_path / "r")
    slack.fail("chat.postMessage", status=429, retry_after=3600)
    with pytest.raises(SlackTransientError) as caught:
        post(slack, tmp_path / "r", FileLedger(tmp_path / "l"))
    assert "3600 s" in str(caught.value) and caught.value.exit_code == 75
    assert len(slack.calls("chat.postMessage")) == 1  # it did not sleep an hour and try again


def test_a_short_retry_after_is_waited_out_and_said(slack, tmp_path, caplog):
    message, _ = write_report(tmp_path / "r")
    slack.fail("chat.postMessage", status=429, retry_after=1)
    post(slack, tmp_path / "r", FileLedger(tmp_path / "l"))
    assert any("waiting 1 s" in r.getMessage() for r in caplog.records)
    assert_posted_once(slack, message)


def test_the_ledger_record_keeps_the_posted_content_hash(slack, tmp_path):
    write_report(tmp_path / "r", sample_message())
    ledger = FileLedger(tmp_path / "l")
    post(slack, tmp_path / "r", ledger)
    stored = json.loads(ledger.path(DAY, TEST_CHANNEL).read_text())
    assert len(stored["message_digest"]) == 16 and stored["pending"] is None and stored["status"] == "complete"
