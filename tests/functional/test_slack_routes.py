"""Routed channels against the local Slack server: the main channel gets the whole digest, each
routed channel its account's part, each once per day across re-runs, crashes, failures, updates."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from routed_report import A, B, assert_routed_once, day_posts, write_routed_report
from slack_api_server import TEST_CHANNEL, TEST_TOKEN, FakeSlack, assert_posted_once
from test_slack_cli_faults import env_for, flowdigest, one_line
from test_slack_kill_loop import Forker

from flowdigest.models import Report, SlackMessage
from flowdigest.routed_message import build_routed
from flowdigest.slack.local import post_outbox

TEAM_A, TEAM_B = "C0TEAMA001", "C0TEAMB001"
ROUTES = {A: TEAM_A, B: TEAM_B}
DAY = dt.date(2026, 11, 20)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(channels=(TEST_CHANNEL, TEAM_A, TEAM_B)) as fake:
        yield fake


@pytest.fixture
def base(sample_report: dict[str, Any]) -> Report:
    return Report.model_validate(sample_report)


def routed_env(slack: FakeSlack, tmp_path: Path, routes: dict[str, str] = ROUTES) -> dict[str, str]:
    return env_for(slack, tmp_path, SLACK_ROUTES=json.dumps(routes))


def post(folder: Path, env: dict[str, str], **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = post_outbox(folder, environ=env, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def parts(report: Report) -> dict[str, SlackMessage]:
    return {TEAM_A: build_routed(report, [A], TEST_CHANNEL), TEAM_B: build_routed(report, [B], TEST_CHANNEL)}


def assert_each_once(slack: FakeSlack, main: SlackMessage, report: Report) -> None:
    assert_posted_once(slack, main)
    for channel, part in parts(report).items():
        assert_routed_once(slack, channel, part)


def test_main_and_two_routed_channels_each_get_their_message_once_across_two_runs(slack, base, tmp_path):
    folder = tmp_path / "out" / str(DAY)
    main, report = write_routed_report(folder, base)
    env = routed_env(slack, tmp_path)

    code, out, err = post(folder, env)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"Slack: posted {DAY} in ") for line in lines)
    assert f"in {TEAM_A} ({A})" in out and f"in {TEAM_B} ({B})" in out
    assert_each_once(slack, main, report)
    assert f"account {A}" in day_posts(slack, TEAM_A, DAY)[0].text  # its own part, not the whole digest

    slack.reset()
    code, out, err = post(folder, env)
    assert code == 0, err
    assert out.count("was already posted") == 3
    assert "chat.postMessage" not in slack.methods and "files.completeUploadExternal" not in slack.methods
    assert_each_once(slack, main, report)


def test_a_failing_channel_blocks_neither_the_others_nor_repeats_them(slack, base, tmp_path):
    folder = tmp_path / "out" / str(DAY)
    main, report = write_routed_report(folder, base)
    slack.channels.discard(TEAM_B)  # the bot is not in team B's channel yet
    env = routed_env(slack, tmp_path)

    code, _, err = post(folder, env)
    assert code == 77 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"Slack: 1 of 3 channels failed ({TEST_CHANNEL}, {TEAM_A} fine): {TEAM_B}: ")
    assert "channel_not_found" in err and TEST_TOKEN not in err
    assert_posted_once(slack, main)
    assert_routed_once(slack, TEAM_A, parts(report)[TEAM_A])

    slack.channels.add(TEAM_B)  # invited: the re-run posts only what is missing
    slack.reset()
    code, _, err = post(folder, env)
    assert code == 0, err
    assert [r.params["channel"] for r in slack.calls("chat.postMessage")] == [TEAM_B]
    assert_each_once(slack, main, report)


def test_a_rate_limited_main_channel_does_not_hold_up_the_routed_ones(slack, base, tmp_path):
    folder = tmp_path / "out" / str(DAY)
    main, report = write_routed_report(folder, base)
    slack.fail("chat.postMessage", status=429, retry_after=3600, nth=1)  # the main summary
    env = routed_env(slack, tmp_path)

    code, _, err = post(folder, env)
    assert code == 75 and f"{TEST_CHANNEL}: Slack rate-limited chat.postMessage" in err
    assert day_posts(slack, TEST_CHANNEL, DAY) == []
    for channel, part in parts(report).items():
        assert_routed_once(slack, channel, part)

    code, _, err = post(folder, env)
    assert code == 0, err
    assert_each_once(slack, main, report)


@pytest.fixture
def forker(slack: FakeSlack, tmp_path: Path) -> Iterator[Forker]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLOWDIGEST_"))}
    env.update(routed_env(slack, tmp_path))
    started = Forker(env, tmp_path / "logs")
    yield started
    started.close()


def test_a_crash_between_and_inside_the_routed_channels_resumes_without_duplicates(slack, base, forker, tmp_path):
    """SIGKILL `flowdigest post` in every call from the first routed channel's on, before and after
    Slack acted on it; the re-run leaves each channel with its message once."""
    env = routed_env(slack, tmp_path)
    days = iter(DAY - dt.timedelta(days=n) for n in range(100))
    day = next(days)
    folder = tmp_path / "out" / str(day)
    main, report = write_routed_report(folder, base, day)
    assert forker.ask(f"wait {forker.start(folder)}") == "exited 0"  # a clean post: which calls it makes
    assert_each_once(slack, main, report)
    methods = slack.methods
    first_routed = [i for i, m in enumerate(methods) if m == "auth.test"][1]  # each delivery starts with one
    assert methods[first_routed:] == ["auth.test", "chat.postMessage"] * 2

    for nth in range(first_routed + 1, len(methods) + 1):
        for after in (False, True):
            day = next(days)
            folder = tmp_path / "out" / str(day)
            main, report = write_routed_report(folder, base, day)
            slack.hold(nth, after=after)
            pid = forker.start(folder)
            assert slack.held.wait(30), f"call {nth} never came: {forker.stderr(pid)}"
            assert forker.ask(f"kill {pid}") == "killed"
            slack.release()
            code, _, err = post(folder, env)
            assert code == 0, err
            assert_each_once(slack, main, report)


def test_update_edits_each_changed_channels_post_in_place_and_force_posts_again(slack, base, tmp_path):
    folder = tmp_path / "out" / str(DAY)
    _, report = write_routed_report(folder, base)
    env = routed_env(slack, tmp_path)
    assert post(folder, env)[0] == 0
    [first_a] = day_posts(slack, TEAM_A, DAY)

    # A corrected day: account A lost its findings; B's part and the main message are unchanged.
    fixed = report.model_copy(update={"findings": [f for f in report.findings if f.resource.account_id != A]})
    (folder / "report.json").write_text(fixed.model_dump_json(), encoding="utf-8")
    code, out, _ = post(folder, env)
    assert code == 0 and f"{DAY} in {TEAM_A} ({A}) was already posted" in out and "differs" in out
    assert out.count("differs") == 1

    code, out, err = post(folder, env, update=True)
    assert code == 0 and f"updated {DAY} in {TEAM_A} ({A})" in out, err
    [edited] = day_posts(slack, TEAM_A, DAY)
    assert edited.ts == first_a.ts and edited.edited == 1 and "No findings" in edited.blocks[1]["text"]["text"]
    assert [m.edited for m in day_posts(slack, TEAM_B, DAY) + day_posts(slack, TEST_CHANNEL, DAY)] == [0, 0]
    assert_routed_once(slack, TEAM_A, build_routed(fixed, [A], TEST_CHANNEL))

    assert post(folder, env, force=True)[0] == 0
    assert [len(day_posts(slack, ch, DAY)) for ch in (TEST_CHANNEL, TEAM_A, TEAM_B)] == [2, 2, 2]


@pytest.mark.parametrize(("routes", "says"), [
    ('{"1234": "C0TEAMA001"}', "SLACK_ROUTES: the key '1234' is neither an AWS account id"),
    ('{"111111111111": "team-a"}', "SLACK_ROUTES: 111111111111's channel 'team-a' is not a Slack channel ID"),
    ('{"111111111111": ', "SLACK_ROUTES is not valid JSON"),
])
def test_bad_routes_are_one_line_and_a_config_exit_before_anything_is_posted(slack, base, tmp_path, routes, says):
    folder = tmp_path / "out" / str(DAY)
    write_routed_report(folder, base)
    line = one_line(flowdigest(env_for(slack, tmp_path, SLACK_ROUTES=routes), "post", str(folder)), 78)
    assert line.startswith("Slack: ") and says in line and TEST_TOKEN not in line
    assert slack.calls() == []


def test_routes_without_a_report_json_name_the_file(slack, base, tmp_path):
    folder = tmp_path / "out" / str(DAY)
    write_routed_report(folder, base)
    (folder / "report.json").unlink()
    code, _, err = post(folder, routed_env(slack, tmp_path))
    assert code == 66 and "report.json does not exist" in err and slack.calls() == []
