"""statemachine/flowdigest.asl.json executed by moto's in-process Step Functions interpreter,
with the real handlers behind its Lambda tasks.

moto runs the ASL when configured with {"stepfunctions": {"execute_state_machine": True}}
and calls each task's function through its Lambda API; with {"lambda": {"use_docker":
False}} that API is moto's "simple" backend, whose invoke is patched here to import and
call functions/<step>/app.py in this process (an exception becomes a Lambda function
error, errorType = the class name, as the Python runtime reports it). Around them: moto's
S3 (reports bucket), Secrets Manager (the Slack secret), DynamoDB (the delivery ledger),
the DuckDB engine over the generated sample days, and the local Slack API server.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "flowdigest")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "flowdigest")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import boto3
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from slack_api_server import TEST_CHANNEL, FakeSlack
from stack_resources import create_stack_resources

from flowdigest.slack.limits import escape

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:No application metrics to publish")]

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
REPORT_DAY = dt.date(2026, 11, 20)
FUNCTIONS = {"QueryFunction": "query", "RenderFunction": "render", "SlackFunction": "slack"}


@dataclass
class FakeContext:
    function_name: str
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = ""
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def load_handler(function: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"sfn_handler_{function}", REPO / "functions" / function / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Harness:
    sfn: Any
    s3: Any
    arn: str
    bucket: str
    slack: FakeSlack
    handlers: dict[str, ModuleType]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def run(self, payload: dict[str, Any], name: str, timeout: float = 120) -> dict[str, Any]:
        ex = self.sfn.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(payload))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            desc: dict[str, Any] = self.sfn.describe_execution(executionArn=ex["executionArn"])
            if desc["status"] != "RUNNING":
                return desc
            time.sleep(0.05)
        raise AssertionError(f"execution {name} still running after {timeout}s")

    def steps(self, function: str) -> list[dict[str, Any]]:
        return [event for name, event in self.calls if name == function]


@pytest.fixture
def harness(sample_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    for key in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    # The interpreter really sleeps between retries: record the waits instead.
    sleeps: list[float] = []
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=sleeps.append))

    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config), FakeSlack() as slack:  # type: ignore[arg-type]
        made = create_stack_resources(REGION)
        bucket = made.bucket
        s3 = boto3.client("s3", region_name=REGION)
        env = {
            "FLOWDIGEST_ENGINE": "duckdb", "FLOWDIGEST_SOURCE": str(sample_root),
            "FLOWDIGEST_LOCAL_DIR": str(tmp_path / "work"), "FLOWDIGEST_REPORTS_BUCKET": bucket,
            "FLOWDIGEST_REPORTS_PREFIX": "reports/", "FLOWDIGEST_CHARTS": "false",
            "SLACK_SECRET_NAME": made.secret_arn, "SLACK_API_URL": slack.base_url,
            "FLOWDIGEST_LEDGER_TABLE": "flowdigest-ledger",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        handlers = {name: load_handler(folder) for name, folder in FUNCTIONS.items()}

        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="flowdigest-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("app.py", "")
        zipped = {"ZipFile": code.getvalue()}
        arns = {name: lam.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                          Handler="app.lambda_handler", Code=zipped)["FunctionArn"]
                for name in FUNCTIONS}
        definition = (REPO / "statemachine" / "flowdigest.asl.json").read_text()
        for name, arn in arns.items():
            definition = definition.replace(f"${{{name}Arn}}", arn)
        assert "${" not in definition, "a DefinitionSubstitutions placeholder was left unreplaced"
        sfn = boto3.client("stepfunctions", region_name=REGION)
        sm = sfn.create_state_machine(name="flowdigest", definition=definition, roleArn=role)["stateMachineArn"]

        h = Harness(sfn=sfn, s3=s3, arn=sm, bucket=bucket, slack=slack, handlers=handlers, sleeps=sleeps)
        # One execution environment per function: like a Lambda environment it serves one
        # invocation at a time (the Map's iterations run on threads).
        environments = {name: threading.Lock() for name in FUNCTIONS}

        def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any,
                   response_headers: Any) -> bytes:
            name = function_name.rsplit(":", 1)[-1]
            event = json.loads(body or "{}")
            h.calls.append((name, event))
            try:
                with environments[name]:
                    result = h.handlers[name].lambda_handler(event, FakeContext(function_name=name))
            except Exception as exc:  # what the Lambda Python runtime returns for an unhandled error
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc),
                                   "stackTrace": traceback.format_tb(exc.__traceback__)[-3:]}).encode()
            return json.dumps(result).encode()

        monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
        yield h
    for module in handlers.values():
        sys.modules.pop(module.__name__, None)


def test_happy_path_posts_the_digest(harness: Harness) -> None:
    desc = harness.run(json.loads((REPO / "events" / "backfill.json").read_text()), "backfill")
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["report_date"] == REPORT_DAY.isoformat() and out["post"]["status"] == "posted"
    prepare, inventory, *insights = harness.steps("QueryFunction")
    assert prepare == {"step": "prepare", "report_date": "2026-11-20", "scheduled_time": None,
                       "account": None, "region": None, "vpc": None}
    assert inventory["step"] == "inventory"
    plan = insights[0]["plan"]
    assert sorted(e["insight"] for e in insights) == sorted(plan["insights"])
    key = f"reports/{REPORT_DAY}/message.json"
    stored = json.loads(harness.s3.get_object(Bucket=harness.bucket, Key=key)["Body"].read())
    assert stored["report_date"] == "2026-11-20"
    summaries = [m for m in harness.slack.messages if m.thread_ts is None]
    assert len(summaries) == 1 and summaries[0].channel == TEST_CHANNEL
    assert not harness.steps("SlackFunction")[-1].get("alert")
    # the findings are in report.json and lead the summary Slack received (after its header)
    report = json.loads(harness.s3.get_object(Bucket=harness.bucket, Key=f"reports/{REPORT_DAY}/report.json")["Body"]
                        .read())
    top = report["findings"][0]["resource"]
    lead = summaries[0].blocks[1]["text"]["text"]
    assert lead.startswith(f"*{escape(top['name'] or top['id'])}*") and "of avoidable network cost found" in lead

    # The same day again (a re-run): the ledger says it was posted; nothing new in Slack.
    desc = harness.run({"report_date": "2026-11-20"}, "rerun")
    assert desc["status"] == "SUCCEEDED" and json.loads(desc["output"])["post"]["status"] == "already_posted"
    assert len([m for m in harness.slack.messages if m.thread_ts is None]) == 1


def test_scheduled_start_reports_the_day_before(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDIGEST_INSIGHTS", "headline")  # read at cold start: reload the function
    harness.handlers["QueryFunction"] = load_handler("query")
    desc = harness.run(json.loads((REPO / "events" / "statemachine_start.json").read_text()), "scheduled")
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"])["report_date"] == "2026-11-20"  # scheduled 2026-11-21T06:30Z


def test_the_inputs_filter_reaches_every_query_step(harness: Harness, org_root: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import oracle

    monkeypatch.setenv("FLOWDIGEST_SOURCE", str(org_root))  # read at cold start: reload the function
    harness.handlers["QueryFunction"] = load_handler("query")
    records = oracle.read_day(org_root, REPORT_DAY)
    account = sorted({r["prefix_account"] for r in records})[2]
    desc = harness.run({"report_date": "2026-11-20", "account": account}, "one-account")
    assert desc["status"] == "SUCCEEDED", desc
    prepare, *later = harness.steps("QueryFunction")
    assert prepare["account"] == account
    assert later and all(e["plan"]["scope"] == {"account": [account]} for e in later)
    report = json.loads(harness.s3.get_object(Bucket=harness.bucket, Key=f"reports/{REPORT_DAY}/report.json")
                        ["Body"].read())
    expected = oracle.totals(oracle.in_scope(records, accounts=(account,)))
    assert {k: report["totals"][k] for k in ("flows", "bytes", "packets")} == \
        {k: expected[k] for k in ("flows", "bytes", "packets")}
    assert report["scope"] == {"account": [account]}
    assert len(report["breakdown"]["vpcs"]) == 4  # its 2 Regions × 2 VPCs, no other account's


def test_a_failed_query_alerts_and_fails_the_execution(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowdigest import queries

    engine = harness.handlers["QueryFunction"].ENGINE
    real = engine.query
    own = [queries.render(q, dt.date(2026, 11, 20), flow_logs=engine.flow_logs_table, rollup=engine.rollup_table)
           for q in ("totals", "breakdown", "places")]

    def broken(sql: str) -> list[dict[str, Any]]:
        if sql in own:  # prepare's own queries (the day's totals, its breakdown and places) work: the insights' fail
            return real(sql)
        raise RuntimeError("TABLE_NOT_FOUND: Table 'flowdigest.daily_rollup' does not exist")

    monkeypatch.setattr(engine, "query", broken)
    desc = harness.run({"report_date": "2026-11-20"}, "broken")
    assert desc["status"] == "FAILED"
    assert desc["error"] == "RuntimeError" and "TABLE_NOT_FOUND" in desc["cause"]
    alert = harness.steps("SlackFunction")[-1]["alert"]
    assert alert["step"] == "insight" and alert["report_date"] == "2026-11-20"
    assert alert["execution"].endswith(":broken")
    assert not harness.steps("RenderFunction")
    posted = harness.slack.messages[-1]
    assert "flowdigest failed" in posted.text and "TABLE_NOT_FOUND" in json.dumps(posted.blocks)
    assert harness.sleeps == []  # a RuntimeError is not retried


def test_a_failed_totals_query_alerts_from_prepare(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(sql: str) -> list[dict[str, Any]]:
        raise RuntimeError("TABLE_NOT_FOUND: Table 'flowdigest.daily_rollup' does not exist")

    monkeypatch.setattr(harness.handlers["QueryFunction"].ENGINE, "query", broken)
    desc = harness.run({"report_date": "2026-11-20"}, "broken-prepare")
    assert desc["status"] == "FAILED" and "TABLE_NOT_FOUND" in desc["cause"]
    assert harness.steps("SlackFunction")[-1]["alert"]["step"] == "prepare"
    assert not harness.steps("RenderFunction")


def test_a_transient_error_is_retried_with_backoff(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowdigest.aws.errors import TransientError

    app = harness.handlers["RenderFunction"]
    real = app.pipeline.render_step
    failures = iter([TransientError("SlowDown: please reduce your request rate")] * 2)

    def flaky(*args: Any, **kwargs: Any) -> Any:
        for exc in failures:
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(app.pipeline, "render_step", flaky)
    desc = harness.run({"report_date": "2026-11-20"}, "flaky")
    assert desc["status"] == "SUCCEEDED", desc
    assert len(harness.steps("RenderFunction")) == 3
    # JitterStrategy FULL: each wait is random in [0, IntervalSeconds * BackoffRate^n]
    assert len(harness.sleeps) == 2 and harness.sleeps[0] <= 5 and harness.sleeps[1] <= 10
    history = harness.sfn.get_execution_history(executionArn=desc["executionArn"])["events"]
    assert sum(e["type"] == "LambdaFunctionFailed" for e in history) == 2


# -- names (issue 13): the Inventory step's read-only EC2 Describe calls, in moto ---------------


def _stored_report(harness: Harness) -> dict[str, Any]:
    key = f"reports/{REPORT_DAY}/report.json"
    return json.loads(harness.s3.get_object(Bucket=harness.bucket, Key=key)["Body"].read())


def test_the_inventory_step_names_the_top_talkers(harness: Harness, sample_root: Path) -> None:
    from oracle import read_day, top_talkers

    # The day's busiest pair, as instances of a VPC in moto's EC2 with those private addresses
    src, dst, _ = top_talkers(read_day(sample_root, REPORT_DAY))[0]
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/16")["Subnet"]["SubnetId"]
    for address, name in ((src, "checkout-api-7"), (dst, "orders-db-2")):
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet, PrivateIpAddress=address,
                          TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])
    desc = harness.run({"report_date": "2026-11-20"}, "names")
    assert desc["status"] == "SUCCEEDED", desc
    rep = _stored_report(harness)
    top = rep["insights"]["top_talkers"]
    assert (top["rows"][0]["srcaddr"], top["rows"][0]["dstaddr"]) == (src, dst)  # raw ids stay in the rows
    assert f"checkout-api-7 ({src}) → orders-db-2 ({dst})" in top["summary"]
    assert rep["names"][src]["name"] == "checkout-api-7" and rep["names"][src]["type"] == "instance"
    assert rep["names"][dst]["vpc_id"] == vpc and rep["names"][dst]["subnet_id"] == subnet
    stored = harness.s3.get_object(Bucket=harness.bucket, Key=f"reports/{REPORT_DAY}/inventory.json")
    assert {src, dst} <= {a for e in json.loads(stored["Body"].read())["interfaces"] for a in e["private_ips"]}
    assert "names unavailable" not in json.dumps(rep["insights"]["data_health"])


def _deny_describe(**kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """What EC2 answers a role without the permission (a 403 UnauthorizedOperation)."""
    error = {"Code": "UnauthorizedOperation", "Message": "You are not authorized to perform this operation."}
    return SimpleNamespace(status_code=403, headers={}), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}


def test_denied_describe_calls_still_produce_the_report(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory_aws = harness.handlers["QueryFunction"].inventory_aws
    real = inventory_aws.client

    def denied_client(region: str | None = None) -> Any:
        client = real(region)
        client.meta.events.register("before-call.ec2.*", _deny_describe)
        return client

    monkeypatch.setattr(inventory_aws, "client", denied_client)
    desc = harness.run({"report_date": "2026-11-20"}, "denied")
    assert desc["status"] == "SUCCEEDED", desc
    rep = _stored_report(harness)
    health = rep["insights"]["data_health"]
    line = "names unavailable: ec2:DescribeNetworkInterfaces denied (UnauthorizedOperation): the role needs it"
    assert line in health["details"] and health["summary"].endswith("; names unavailable")
    assert rep["names"] == {} and rep["insights"]["top_talkers"]["rows"]
    assert not harness.steps("SlackFunction")[-1].get("alert")


def test_a_failed_inventory_step_is_caught_and_the_report_says_so(harness: Harness,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the inventory broke")

    monkeypatch.setattr(harness.handlers["QueryFunction"].pipeline, "inventory_step", broken)
    desc = harness.run({"report_date": "2026-11-20"}, "inventory-broken")
    assert desc["status"] == "SUCCEEDED", desc
    health = _stored_report(harness)["insights"]["data_health"]
    assert "names unavailable: the inventory step failed (RuntimeError)" in health["details"]
