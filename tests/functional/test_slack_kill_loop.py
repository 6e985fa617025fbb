"""SIGKILL `flowdigest post` inside each Slack call in turn and at random instants, then rerun:
the channel holds each day's summary, charts and replies exactly once. And concurrent posts.

The posting processes are forked by tests/post_forker.py (real processes running the CLI,
without Python's start-up cost each time); the reruns run the same CLI step in this process.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_api_server import TEST_CHANNEL, TEST_TOKEN, FakeSlack, assert_posted_once, sample_message, write_report

from flowdigest.models import SlackMessage
from flowdigest.slack.local import post_outbox

pytestmark = pytest.mark.slow

FIRST_DAY = dt.date(2024, 5, 1)
FORKER = Path(__file__).resolve().parents[1] / "post_forker.py"


class Forker:
    def __init__(self, env: dict[str, str], logs: Path):
        logs.mkdir()
        self.logs = logs
        self.proc = subprocess.Popen([sys.executable, str(FORKER), str(logs)], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def ask(self, line: str) -> str:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def start(self, folder: Path) -> int:
        return int(self.ask(f"start {folder}"))

    def stderr(self, pid: int) -> str:
        return (self.logs / f"{pid}.err").read_text()

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(10)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[FakeSlack, Forker, dict[str, str]]]:
    with FakeSlack() as slack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLOWDIGEST_"))}
        env.update(SLACK_BOT_TOKEN=TEST_TOKEN, SLACK_CHANNEL_ID=TEST_CHANNEL, SLACK_API_URL=slack.base_url,
                   FLOWDIGEST_STATE_DIR=str(tmp_path / "state"))
        forker = Forker(env, tmp_path / "logs")
        yield slack, forker, env
        forker.close()


class Days:
    """A fresh report day (its own message.json and charts) for each attempt."""

    def __init__(self, root: Path):
        self.root, self.n = root, 0

    def next(self) -> tuple[SlackMessage, Path]:
        day = FIRST_DAY + dt.timedelta(days=self.n)
        self.n += 1
        message, _ = write_report(self.root / day.isoformat(), sample_message(day))
        return message, self.root / day.isoformat()


def rerun_and_check(slack: FakeSlack, env: dict[str, str], message: SlackMessage, folder: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert post_outbox(folder, environ=env, out=out, err=err) == 0, err.getvalue()
    assert_posted_once(slack, message)


def test_sigkill_in_every_call_and_at_random_then_a_rerun_posts_each_item_once(setup, tmp_path):
    slack, forker, env = setup
    days = Days(tmp_path / "out")
    message, folder = days.next()
    assert forker.ask(f"wait {forker.start(folder)}") == "exited 0"  # a clean post: how many calls it takes
    assert_posted_once(slack, message)
    calls = len(slack.calls())
    assert calls >= 10

    kills = 0
    for nth in range(1, calls + 1):
        for after in (False, True):  # killed before Slack acts on the call, and after it did
            message, folder = days.next()
            slack.hold(nth, after=after)
            pid = forker.start(folder)
            assert slack.held.wait(30), f"call {nth} never came: {forker.stderr(pid)}"
            assert forker.ask(f"kill {pid}") == "killed"
            slack.release()
            kills += 1
            rerun_and_check(slack, env, message, folder)

    rng = random.Random(12)
    slack.delay = 0.02  # network latency: most instants fall inside a call
    while kills < 2 * calls + 26:
        message, folder = days.next()
        pid = forker.start(folder)
        time.sleep(rng.uniform(0.0, 0.5))
        kills += forker.ask(f"kill {pid}") == "killed"
        rerun_and_check(slack, env, message, folder)
    assert kills >= 50


def test_two_concurrent_posts_of_a_day_post_it_once_in_20_races(setup, tmp_path):
    slack, forker, env = setup
    days = Days(tmp_path / "out")
    slack.delay = 0.01
    for _ in range(20):
        message, folder = days.next()
        pids = [forker.start(folder), forker.start(folder)]
        codes = [forker.ask(f"wait {pid}") for pid in pids]
        for pid, code in zip(pids, codes, strict=True):
            err = forker.stderr(pid)
            assert "Traceback" not in err and code in ("exited 0", "exited 75"), (code, err)
            if code == "exited 75":  # the other one held the lease: one line saying so
                assert len(err.strip().splitlines()) == 1 and "another run" in err
        assert "exited 0" in codes
        assert_posted_once(slack, message)
        rerun_and_check(slack, env, message, folder)  # and a later run finds it complete
