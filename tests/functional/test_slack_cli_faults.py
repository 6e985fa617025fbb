"""Slack faults through `flowdigest post` and `run`: one stderr line and its exit code, or the right outcome."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slack_api_server import TEST_CHANNEL, TEST_TOKEN, FakeSlack, write_report

from flowdigest.models import SlackReply

DAY = "2024-05-01"


@pytest.fixture
def report(tmp_path: Path) -> Path:
    folder = tmp_path / "out" / DAY
    write_report(folder)
    return folder


def env_for(slack: FakeSlack, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLOWDIGEST_", "XDG_"))}
    env.update(SLACK_BOT_TOKEN=TEST_TOKEN, SLACK_CHANNEL_ID=TEST_CHANNEL, SLACK_API_URL=slack.base_url,
               FLOWDIGEST_STATE_DIR=str(tmp_path / "state"))
    env.update(extra)
    return env


def flowdigest(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowdigest.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def one_line(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The run failed with `exit_code` and said why in exactly one stderr line (no traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_token_with_the_docs_ellipsis_is_one_config_line(slack, report, tmp_path):
    token = "xoxb-…"
    line = one_line(flowdigest(env_for(slack, tmp_path, SLACK_BOT_TOKEN=token), "post", str(report)), 78)
    assert "not plain ASCII" in line and "position 6" in line and slack.calls() == []


def test_posting_a_file_instead_of_the_folder_names_the_folder(slack, report, tmp_path):
    line = one_line(flowdigest(env_for(slack, tmp_path), "post", str(report / "message.json")), 66)
    assert "is a file, not a report folder" in line and f"flowdigest post {report}" in line


def test_a_ledger_record_that_is_not_an_object_is_one_line(slack, report, tmp_path):
    ledger = tmp_path / "state" / "slack-ledger"
    ledger.mkdir(parents=True)
    (ledger / f"{DAY}_{TEST_CHANNEL}.json").write_text("[]")
    line = one_line(flowdigest(env_for(slack, tmp_path), "post", str(report)), 78)
    assert f"{DAY}_{TEST_CHANNEL}.json is not a flowdigest delivery record" in line
    assert slack.calls("chat.postMessage") == []


def test_an_unwritable_state_folder_is_one_line(slack, report, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")  # a file where the state folder should be: even root cannot write under it
    env = env_for(slack, tmp_path, XDG_STATE_HOME=str(blocker))
    del env["FLOWDIGEST_STATE_DIR"]
    line = one_line(flowdigest(env, "post", str(report)), 78)
    assert "cannot write the delivery ledger" in line and str(blocker) in line and "XDG_STATE_HOME" in line


def test_a_retry_after_of_an_hour_is_said_and_ends_the_run(slack, report, tmp_path):
    slack.fail("chat.postMessage", status=429, retry_after=3600)
    started = time.monotonic()
    line = one_line(flowdigest(env_for(slack, tmp_path), "post", str(report)), 75)
    assert time.monotonic() - started < 30
    assert "asks to wait 3600 s" in line and "run again later" in line


def test_a_short_retry_after_is_said_then_waited_out(slack, report, tmp_path):
    slack.fail("chat.postMessage", status=429, retry_after=1)
    result = flowdigest(env_for(slack, tmp_path), "post", str(report))
    assert result.returncode == 0, result.stderr
    assert "rate-limited on chat.postMessage; waiting 1 s" in result.stderr
    assert len(slack.top_level()) == 1


@pytest.mark.parametrize(
    ("method", "error", "code", "says"),
    [
        ("chat.postMessage", "not_in_channel", 77, "/invite @flowdigest"),
        ("auth.test", "invalid_auth", 77, "Bot User OAuth Token"),
        ("chat.postMessage", "internal_error", 75, "Slack is unavailable"),
        ("files.getUploadURLExternal", "missing_scope", 77, "files:write"),
    ],
)
def test_every_slack_failure_is_one_line(slack, report, tmp_path, method, error, code, says):
    slack.fail(method, error=error, times=9)
    line = one_line(flowdigest(env_for(slack, tmp_path), "post", str(report)), code)
    assert line.startswith("Slack: ") and error in line and says in line and TEST_TOKEN not in line


def test_unreachable_slack_is_one_line(report, tmp_path):
    with FakeSlack() as gone:
        env = env_for(gone, tmp_path)
    line = one_line(flowdigest(env, "post", str(report)), 75)
    assert "could not reach Slack" in line


def test_missing_history_scope_names_it(report, tmp_path):
    with FakeSlack(scopes=("chat:write", "files:write")) as slack:
        env = env_for(slack, tmp_path)
        slack.late("chat.postMessage", 3)  # the answer is lost: the rerun must look in the channel
        first = flowdigest({**env, "FLOWDIGEST_SLACK_TIMEOUT": "1"}, "post", str(report))
        line = one_line(first, 77)
    assert "missing_scope" in line and "channels:history" in line and "groups:history" in line


@pytest.mark.slow
def test_a_changed_report_says_so_and_update_edits_the_post(slack, report, tmp_path):
    env = env_for(slack, tmp_path)
    assert flowdigest(env, "post", str(report)).returncode == 0
    message = json.loads((report / "message.json").read_text())
    message["text"] = "VPC flow logs 2024-05-01: corrected"
    message["thread"][1] = SlackReply(text="Top talkers, corrected", blocks=[]).model_dump()
    (report / "message.json").write_text(json.dumps(message))

    plain = flowdigest(env, "post", str(report))
    assert plain.returncode == 0 and "differs from what was posted" in plain.stdout and "--update" in plain.stdout
    updated = flowdigest(env, "post", str(report), "--update")

    assert updated.returncode == 0 and "updated 2024-05-01" in updated.stdout, updated.stderr
    [summary] = slack.top_level()
    assert summary.text == message["text"] and summary.edited == 1
    replies = [m.text for m in slack.thread(summary.ts) if not m.files]
    assert replies == ["Top talkers, corrected", "Data health"]
    assert len([m for m in slack.thread(summary.ts) if m.files]) == 3 and len(slack.files) == 3


@pytest.mark.slow
def test_a_run_over_a_corrected_source_says_the_content_changed_and_run_update_fixes_it(slack, tmp_path):
    from flowdigest import sample

    day = dt.date(2026, 11, 20)
    wrong, right = tmp_path / "wrong", tmp_path / "right"
    sample.generate_day(wrong, day, records=400, seed=1)
    sample.generate_day(right, day, records=900, seed=2)
    env = env_for(slack, tmp_path)
    out = str(tmp_path / "out")

    def run(source: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return flowdigest(env, "run", "--source", str(source), "--date", str(day), "--out", out, "--no-charts",
                          "-q", *extra, timeout=300)

    assert run(wrong).returncode == 0
    rerun = run(right)
    assert rerun.returncode == 0 and "differs from what was posted" in rerun.stdout
    fixed = run(right, "--update")
    assert fixed.returncode == 0 and f"updated {day}" in fixed.stdout, fixed.stderr
    [summary] = slack.top_level()
    posted = json.loads((tmp_path / "out" / str(day) / "message.json").read_text())
    assert summary.text == posted["text"] and summary.edited == 1
