"""The Slack function's `update` input: a corrected day is edited in place, not posted twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from slack_api_server import FakeSlack, assert_posted_once, sample_message, write_report
from test_handlers import FakeContext, event, load_handler, slack_env

from flowdigest.models import SlackReply


def test_the_update_input_edits_a_corrected_day_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeSlack() as slack_api:
        check_update(tmp_path, monkeypatch, slack_api)


def check_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack_api: FakeSlack) -> None:
    store = tmp_path / "store"
    message = sample_message(dt.date(2026, 11, 20))
    write_report(store / "2026-11-20", message)
    app = load_handler("slack", monkeypatch, slack_env(store, slack_api, tmp_path))
    assert app.lambda_handler(event("post.json"), FakeContext())["status"] == "posted"

    thread = [*message.thread[:-1], SlackReply(text="ok", blocks=[])]
    fixed = message.model_copy(update={"text": "corrected", "thread": thread})
    write_report(store / "2026-11-20", fixed)
    plain = app.lambda_handler(event("post.json"), FakeContext())
    assert plain["status"] == "already_posted" and plain["changed"] is True
    updated = app.lambda_handler(event("post_update.json"), FakeContext())

    assert updated["status"] == "updated" and updated["summary_ts"] == slack_api.top_level()[0].ts
    assert slack_api.top_level()[0].text == "corrected"
    assert_posted_once(slack_api, fixed)
