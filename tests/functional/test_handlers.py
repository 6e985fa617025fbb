"""The three Lambda handlers, called in-process with the events in events/*.json.

The query function runs the embedded engine over the generated sample days; the render
and Slack functions use a local store (or moto's S3) and the local Slack API server.
No network beyond 127.0.0.1, no AWS account.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# Powertools reads these when flowdigest.aws.observability is first imported.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "flowdigest")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "flowdigest")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from lambda_env import AWS_ENV
from slack_api_server import TEST_CHANNEL, TEST_TOKEN, FakeSlack

from flowdigest.aws.errors import InvalidEvent, SettingsError, TransientError
from flowdigest.aws.events import PrepareEvent, parse_query
from flowdigest.aws.settings import QuerySettings, RenderSettings
from flowdigest.models import DayPlan, InsightResult, RenderOutput, SlackMessage

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
REPORT_DAY = dt.date(2026, 11, 20)  # the events' day; conftest's sample days end on it


def event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


@dataclass
class FakeContext:
    function_name: str = "flowdigest-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:flowdigest-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def load_handler(function: str, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ModuleType:
    """Import functions/<function>/app.py afresh under `env` (settings load at import)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    path = REPO / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{function}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def query_env(sample_root: Path, local_dir: Path) -> dict[str, str]:
    return {"FLOWDIGEST_ENGINE": "duckdb", "FLOWDIGEST_SOURCE": str(sample_root),
            "FLOWDIGEST_LOCAL_DIR": str(local_dir), "FLOWDIGEST_INSIGHTS": ""}


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


# -- the query function --------------------------------------------------------------------


def test_prepare_event_returns_the_day_plan(sample_root: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_handler("query", monkeypatch, query_env(sample_root, tmp_path))
    out = app.lambda_handler(event("prepare.json"), FakeContext())
    plan = DayPlan.model_validate(out)
    assert plan.report_date == REPORT_DAY
    assert plan.files > 0 and plan.insights and len(plan.history_days) == 7
    assert (tmp_path / "rollup" / f"dt={REPORT_DAY}").is_dir()
    json.dumps(out)  # what Step Functions receives must be plain JSON


def test_insight_event_runs_one_query_even_in_a_fresh_container(sample_root: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # sam local invoke starts each step in a new container: the rollups prepare built are gone
    app = load_handler("query", monkeypatch, query_env(sample_root, tmp_path))
    out = app.lambda_handler(event("insight.json"), FakeContext())
    result = InsightResult.model_validate(out)
    assert result.id == "top_talkers" and result.status == "ok" and result.rows


def test_the_insight_step_takes_the_inventorys_nat_gateways(sample_root: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_handler("query", monkeypatch, query_env(sample_root, tmp_path))
    ev = {**event("insight.json"), "insight": "nat_gateway"}

    def total(extra: dict) -> int:
        rows = InsightResult.model_validate(app.lambda_handler({**ev, **extra}, FakeContext())).rows
        return next(r["bytes"] for r in rows if r["kind"] == "total")

    records = total({})
    assert records > 0  # the records' rule finds the sample's NAT gateway
    inventory = {"report_date": "2026-11-20", "inventory_key": "2026-11-20/inventory.json", "available": True}
    assert total({"inventory": {**inventory, "nat_interfaces": []}}) == 0  # the inventory knows no NAT gateway
    assert total({"inventory": {"Error": "States.TaskFailed", "Cause": "denied"}}) == records  # its caught error
    assert total({"inventory": {**inventory, "available": False, "inventory_key": None}}) == records


def test_query_local_mode_generates_sample_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = query_env(tmp_path / "flowlogs", tmp_path / "work")
    env |= {"FLOWDIGEST_SAMPLE_DAYS": "2", "FLOWDIGEST_SAMPLE_RECORDS": "2000", "FLOWDIGEST_INSIGHTS": "headline"}
    app = load_handler("query", monkeypatch, env)
    plan = DayPlan.model_validate(app.lambda_handler({"step": "prepare", "report_date": "2026-11-20"},
                                                     FakeContext()))
    assert plan.files > 0 and plan.insights == ["headline"] and plan.history_days == [dt.date(2026, 11, 19)]


def test_bad_query_events_say_what_is_wrong(sample_root: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_handler("query", monkeypatch, query_env(sample_root, tmp_path))
    with pytest.raises(InvalidEvent, match=r"report_date: Input should be a valid date"):
        app.lambda_handler({"step": "prepare", "report_date": "yesterday"}, FakeContext())
    with pytest.raises(InvalidEvent, match="step"):
        app.lambda_handler({"step": "everything"}, FakeContext())
    with pytest.raises(InvalidEvent, match=r"plan: Field required"):
        app.lambda_handler({"step": "insight", "insight": "headline"}, FakeContext())
    # a malformed filter of the state machine's input, named (test_org.py: the filters applied)
    with pytest.raises(InvalidEvent, match=r"prepare.vpc: Value error, vpc 'vpc-1' is not valid"):
        app.lambda_handler({"step": "prepare", "report_date": "2026-11-20", "vpc": ["vpc-1"]}, FakeContext())


def test_scheduled_start_reports_the_previous_utc_day() -> None:
    request = parse_query({"step": "prepare", "report_date": None, "scheduled_time": "2026-11-21T00:30:00+01:00"})
    assert isinstance(request, PrepareEvent)
    assert request.resolve_date() == dt.date(2026, 11, 19)  # 2026-11-20T23:30Z
    assert PrepareEvent(step="prepare").resolve_date(dt.datetime(2026, 1, 1, 6, tzinfo=dt.UTC)) == dt.date(2025, 12, 31)


def test_settings_fail_at_cold_start_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="FLOWDIGEST_DATABASE, FLOWDIGEST_WORKGROUP"):
        QuerySettings.from_env({"FLOWDIGEST_SOURCE": "s3://b/p/", "AWS_REGION": "us-east-1",
                                "FLOWDIGEST_REPORTS_BUCKET": "r"})
    with pytest.raises(SettingsError, match="FLOWDIGEST_SOURCE"):
        QuerySettings.from_env({"FLOWDIGEST_ENGINE": "duckdb"})
    with pytest.raises(SettingsError, match="FLOWDIGEST_SAMPLE_DAYS"):
        QuerySettings.from_env({"FLOWDIGEST_ENGINE": "duckdb", "FLOWDIGEST_SOURCE": "/x",
                                "FLOWDIGEST_SAMPLE_DAYS": "lots"})
    prices = RenderSettings.from_env({"FLOWDIGEST_STORE_DIR": "/tmp/x", "FLOWDIGEST_PRICE_NAT_PER_GB": "0.05"}).prices
    assert prices.nat_per_gb == 0.05 and prices.athena_per_tb == 5.0


# -- the render function -------------------------------------------------------------------


def test_render_event_writes_the_message_to_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_handler("render", monkeypatch, {"FLOWDIGEST_STORE_DIR": str(tmp_path), "FLOWDIGEST_CHARTS": "false"})
    out = RenderOutput.model_validate(app.lambda_handler(event("render.json"), FakeContext()))
    assert out.message_key == "2026-11-20/message.json" and out.charts == []
    message = SlackMessage.model_validate_json((tmp_path / out.message_key).read_text())
    assert message.report_date == REPORT_DAY and message.text


def test_render_lists_insights_the_map_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ev = event("render.json")
    ev["plan"]["skipped"] = {"new_talkers": "no earlier day to compare with"}
    ev["plan"]["insights"].remove("new_talkers")
    ev["results"] = [r for r in ev["results"] if r["id"] != "new_talkers"]
    app = load_handler("render", monkeypatch, {"FLOWDIGEST_STORE_DIR": str(tmp_path), "FLOWDIGEST_CHARTS": "false"})
    out = RenderOutput.model_validate(app.lambda_handler(ev, FakeContext()))
    report = json.loads((tmp_path / out.report_key).read_text())
    assert report["insights"]["new_talkers"]["status"] == "skipped"


# -- the Slack function --------------------------------------------------------------------


def slack_env(store: Path, slack: FakeSlack, tmp_path: Path) -> dict[str, str]:
    return {"FLOWDIGEST_STORE_DIR": str(store), "FLOWDIGEST_LEDGER_DIR": str(tmp_path / "ledger"),
            "SLACK_BOT_TOKEN": TEST_TOKEN, "SLACK_CHANNEL_ID": TEST_CHANNEL, "SLACK_API_URL": slack.base_url}


def rendered_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "store"
    render = load_handler("render", monkeypatch, {"FLOWDIGEST_STORE_DIR": str(store), "FLOWDIGEST_CHARTS": "false"})
    render.lambda_handler(event("render.json"), FakeContext())
    return store


def test_post_event_posts_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack_api: FakeSlack) -> None:
    store = rendered_store(tmp_path, monkeypatch)
    app = load_handler("slack", monkeypatch, slack_env(store, slack_api, tmp_path))
    first = app.lambda_handler(event("post.json"), FakeContext())
    assert first["status"] == "posted" and first["posted"]
    again = app.lambda_handler(event("post.json"), FakeContext())  # a retried or re-run day
    assert again["status"] == "already_posted"
    assert len([m for m in slack_api.messages if m.thread_ts is None]) == 1


def test_post_rate_limited_becomes_a_transient_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     slack_api: FakeSlack) -> None:
    store = rendered_store(tmp_path, monkeypatch)
    app = load_handler("slack", monkeypatch, slack_env(store, slack_api, tmp_path))
    slack_api.fail("chat.postMessage", status=429, retry_after=0, times=99)
    with pytest.raises(TransientError):
        app.lambda_handler(event("post.json"), FakeContext())


def test_post_without_a_token_leaves_the_outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("SLACK_BOT_TOKEN", "SLACK_SECRET_NAME"):
        monkeypatch.delenv(key, raising=False)
    app = load_handler("slack", monkeypatch, {"FLOWDIGEST_STORE_DIR": str(tmp_path)})
    assert app.lambda_handler(event("post.json"), FakeContext())["status"] == "outbox"


def test_alert_event_posts_the_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack_api: FakeSlack) -> None:
    app = load_handler("slack", monkeypatch, slack_env(tmp_path, slack_api, tmp_path))
    out = app.lambda_handler(event("alert.json"), FakeContext())
    assert out["alerted"] is True
    text = json.dumps(slack_api.messages[-1].blocks)
    assert "insight" in text and "2026-11-20" in text and "TABLE_NOT_FOUND" in text


def test_bad_slack_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_handler("slack", monkeypatch, {"FLOWDIGEST_STORE_DIR": str(tmp_path)})
    with pytest.raises(InvalidEvent, match="message_key"):
        app.lambda_handler({"report_date": "2026-11-20"}, FakeContext())


def test_every_sample_event_parses() -> None:
    from flowdigest.aws.events import PostEvent, RenderEvent, parse, parse_slack

    assert isinstance(parse_query(event("prepare.json")), PrepareEvent)
    assert parse_query(event("insight.json")).step == "insight"
    parse(RenderEvent, event("render.json"))
    assert isinstance(parse_slack(event("post.json")), PostEvent)
    assert parse_slack(event("alert.json")).alert.step == "insight"  # type: ignore[union-attr]
    env = json.loads((EVENTS / "env.local.json").read_text())
    assert set(env) == {"QueryFunction", "RenderFunction", "SlackFunction"}


# -- what each function can import in Lambda ---------------------------------------------------

# Packages a function's Lambda environment lacks (template.yaml: its layers). The query
# function has the AWS SDK for pandas layer; render has the charts layer; Slack neither.
NOT_IN_LAMBDA = {
    "query": ("duckdb", "plotly", "kaleido"),
    "render": ("pyarrow", "pandas", "numpy", "awswrangler", "duckdb"),
    "slack": ("pyarrow", "pandas", "numpy", "awswrangler", "duckdb", "plotly", "kaleido"),
}


@pytest.mark.parametrize("function", [
    "query",
    "render",
    "slack",
])
def test_handler_imports_with_only_its_lambda_packages(function: str) -> None:
    """A cold start in a fresh interpreter where the packages the function lacks are absent."""
    code = f"""
import importlib.util, sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {NOT_IN_LAMBDA[function]!r}:
            raise ImportError(name + " is not in the {function} function's layers")
sys.meta_path.insert(0, Absent())
spec = importlib.util.spec_from_file_location("app", {str(REPO / "functions" / function / "app.py")!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""
    env = {**os.environ, **AWS_ENV, "POWERTOOLS_TRACE_DISABLED": "true"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1]
