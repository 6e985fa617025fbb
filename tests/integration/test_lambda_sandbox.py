"""The functions `sam build` wrote, run in a Lambda-like sandbox (lambda_sandbox.py).

`make lambda-sandbox` (part of `make test`) builds everything and runs this module; without
a build (plain `pytest`) it is skipped. AWS is moto's server on 127.0.0.1 (in this process,
so moto's Step Functions interpreter can hand each Lambda task to the sandbox), Slack the
local test server. Each invocation is a cold start.

Not like AWS, on purpose: moto runs no Athena SQL, so the query function runs its DuckDB
engine over generated sample days (duckdb as one more layer, FLOWDIGEST_ENGINE=duckdb), and
X-Ray tracing is off (no daemon). The AWS SDK for pandas layer is built from PyPI as
aws-sdk-pandas documents for a custom layer, at the awswrangler version the template names.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lambda_sandbox import Invocation, Sandbox, find_python312, lambda_env, why_no_sandbox

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
BUILD = Path(os.environ.get("FLOWDIGEST_SANDBOX_BUILD", REPO / ".aws-sam" / "build"))
LAYER_DIRS = {name: os.environ.get(f"FLOWDIGEST_SANDBOX_{name}") for name in ("PANDAS", "RUNTIME", "DUCKDB", "OLD_TE")}
FOLDERS = {"QueryFunction": "query", "RenderFunction": "render", "SlackFunction": "slack"}
LOG_LEVEL = "INFO"


def _skip_reason() -> str | None:
    if not all(LAYER_DIRS.values()):
        return "the Lambda sandbox runs under `make lambda-sandbox` (it builds the functions and layers)"
    if not (BUILD / "template.yaml").exists():
        return f"no sam build in {BUILD}: make lambda-sandbox"
    return why_no_sandbox()


SKIP = _skip_reason()
if SKIP:
    pytest.skip(SKIP, allow_module_level=True)

from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: E402  (moto[server] only when run)
from moto.core.config import default_user_config  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: E402
from pngcheck import png_size  # noqa: E402
from slack_api_server import TEST_CHANNEL, FakeSlack  # noqa: E402
from stack_resources import create_stack_resources  # noqa: E402


class _CfnLoader(yaml.SafeLoader):
    """CloudFormation's short tags as {"Ref": X} / {"Fn::X": ...}; enough to read the build's template."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: {
    ("Ref" if suffix == "Ref" else f"Fn::{suffix}"):
        loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node, deep=True)})
# The template sam build wrote: the source template with each CodeUri/ContentUri pointing
# at its build folder.
TEMPLATE: dict[str, Any] = yaml.load((BUILD / "template.yaml").read_text(), Loader=_CfnLoader)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class World:
    """moto's server, the local Slack server and what the functions read from them."""

    endpoint: str
    slack: FakeSlack
    bucket: str
    secret_arn: str
    ledger: str
    flowlogs: Path

    def parameter(self, name: str) -> str:
        return str(TEMPLATE["Parameters"][name].get("Default", ""))

    def resolve(self, key: str, value: Any) -> str:
        """One environment value of the template, as the stack would set it here."""
        sandbox_values = {
            "FLOWDIGEST_REPORTS_BUCKET": self.bucket, "FLOWDIGEST_SOURCE": "/var/flowlogs",
            "FLOWDIGEST_SOURCE_ACCOUNT": "", "FLOWDIGEST_SOURCE_ACCOUNTS": "", "FLOWDIGEST_SOURCE_REGIONS": "",
            "FLOWDIGEST_TGW_SOURCE": "",
            "FLOWDIGEST_SOURCE_FORMAT": "parquet",
            "FLOWDIGEST_SOURCE_LAYOUT": "hive-hourly", "FLOWDIGEST_SOURCE_FIELDS": "",
            "FLOWDIGEST_DATABASE": "flowdigest", "FLOWDIGEST_WORKGROUP": "flowdigest",
            "SLACK_SECRET_NAME": self.secret_arn, "FLOWDIGEST_LEDGER_TABLE": self.ledger,
            "POWERTOOLS_LOG_LEVEL": LOG_LEVEL, "FLOWDIGEST_PRICES_REGION": REGION,
            "FLOWDIGEST_FINDINGS_CONFIG": f'{{"thresholds": {self.parameter("FindingsThresholds")}, '
                                          f'"suppress": {self.parameter("FindingsSuppressions")}}}',
        }
        if key in sandbox_values:
            return sandbox_values[key]
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return self.parameter(value["Ref"])
        assert isinstance(value, str), f"{key}: no sandbox value for {value}"
        return value

    def function_env(self, function: str, log_level: str = LOG_LEVEL) -> dict[str, str]:
        props = TEMPLATE["Resources"][function]["Properties"]
        variables = {**TEMPLATE["Globals"]["Function"]["Environment"]["Variables"],
                     **props.get("Environment", {}).get("Variables", {})}
        env = {key: self.resolve(key, value) for key, value in variables.items()}
        env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing", "AWS_ENDPOINT_URL": self.endpoint,
                "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": log_level,
                "SLACK_API_URL": self.slack.base_url}
        if function == "QueryFunction":
            env |= {"FLOWDIGEST_ENGINE": "duckdb"}
        memory = props.get("MemorySize", TEMPLATE["Globals"]["Function"]["MemorySize"])
        application = TEMPLATE["Mappings"]["LambdaLogLevel"][log_level]["Application"]
        return lambda_env(function, memory, application, REGION, env)


def function_layers(function: str) -> list[Path]:
    """The function's layers in the template's order, as folders (the managed one stood in for)."""
    out = []
    for ref in TEMPLATE["Resources"][function]["Properties"].get("Layers", []):
        while isinstance(ref, dict) and "Fn::If" in ref:  # UsePandasLayer, then UsePublishedPandasLayer
            ref = ref["Fn::If"][1]
        if isinstance(ref, dict) and "Ref" in ref:
            out.append(BUILD / TEMPLATE["Resources"][ref["Ref"]]["Properties"]["ContentUri"])
        else:
            assert "/aws/service/aws-sdk-pandas/" in json.dumps(ref), ref
            out.append(Path(str(LAYER_DIRS["PANDAS"])))
    if function == "QueryFunction":
        out.append(Path(str(LAYER_DIRS["DUCKDB"])))  # the sandbox's engine: see the module docstring
    return out


def _readable(root: Path) -> Path:
    """The sandbox's user (nobody) must read the folders mounted into it."""
    root.chmod(root.stat().st_mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return root


@pytest.fixture(scope="module")
def sandbox(sample_root: Path) -> Sandbox:
    python_home = find_python312()
    assert python_home is not None
    return Sandbox(python_home=python_home, runtime_dir=Path(str(LAYER_DIRS["RUNTIME"])),
                   binds={"/var/flowlogs": _readable(sample_root)})


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    saved = json.loads(json.dumps(default_user_config))
    # moto's Step Functions runs the ASL; Lambda tasks go to its simple backend (patched below).
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    default_user_config["lambda"]["use_docker"] = False
    port = _free_port()
    saved_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(port)  # where moto's interpreter sends its own Lambda calls
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        if saved_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = saved_port
        default_user_config.clear()
        default_user_config.update(saved)


@pytest.fixture
def world(moto_endpoint: str, sample_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": moto_endpoint}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(retrier_decl, "time", type("NoSleep", (), {"sleep": staticmethod(lambda s: None)}))
    with FakeSlack() as slack:
        made = create_stack_resources(REGION)
        yield World(endpoint=moto_endpoint, slack=slack, bucket=made.bucket, secret_arn=made.secret_arn,
                    ledger=made.ledger_table, flowlogs=sample_root)


def run(sandbox: Sandbox, world: World, function: str, event: Any, log_level: str = LOG_LEVEL) -> Invocation:
    props = TEMPLATE["Resources"][function]["Properties"]
    tmp_mb = props.get("EphemeralStorage", {}).get("Size", 512)
    timeout = props.get("Timeout", TEMPLATE["Globals"]["Function"]["Timeout"])
    return sandbox.invoke(BUILD / props["CodeUri"], function_layers(function), world.function_env(function, log_level),
                          event, tmp_mb=tmp_mb, timeout_s=timeout)


def log_records(logs: str) -> list[dict[str, Any]]:
    """Powertools' JSON log lines (metrics' EMF lines and tracebacks are not log records)."""
    out = []
    for line in logs.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if "level" in record and "_aws" not in record:
                out.append(record)
    return out


def event(name: str) -> Any:
    return json.loads((REPO / "events" / f"{name}.json").read_text())


def assert_ok(inv: Invocation, what: str) -> Any:
    assert inv.ok, f"{what} failed in the sandbox:\n{inv.result}\n{inv.logs[-4000:]}"
    return inv.result


def test_each_function_cold_starts_on_its_events(sandbox: Sandbox, world: World) -> None:
    plan = assert_ok(run(sandbox, world, "QueryFunction", event("prepare")), "prepare")
    assert plan["report_date"] == "2026-11-20" and plan["insights"]
    insight = event("insight")
    queried = run(sandbox, world, "QueryFunction", insight)
    result = assert_ok(queried, "insight")
    assert result["id"] == insight["insight"] and result["status"] == "ok" and result["rows"]
    # the inventory step answers (moto's EC2, or "names unavailable" if it cannot reach one), never fails
    names = assert_ok(run(sandbox, world, "QueryFunction", event("inventory")), "inventory")
    assert names["report_date"] == "2026-11-20" and names["inventory_key"] == "2026-11-20/inventory.json"

    rendered = run(sandbox, world, "RenderFunction", event("render"))
    render_out = assert_ok(rendered, "render")
    assert render_out["message_key"] == event("post")["message_key"]
    posted = assert_ok(run(sandbox, world, "SlackFunction", event("post")), "post")
    assert posted["status"] == "posted"
    summaries = [m for m in world.slack.messages if m.thread_ts is None]
    assert len(summaries) == 1 and summaries[0].channel == TEST_CHANNEL
    alert = run(sandbox, world, "SlackFunction", event("alert"))
    assert assert_ok(alert, "alert")["alerted"]
    assert "flowdigest failed" in world.slack.messages[-1].text

    # The stated level: INFO records, none below it; at WARNING the same call logs no INFO.
    for inv in (queried, rendered):
        levels = {r["level"] for r in log_records(inv.logs)}
        assert "INFO" in levels and "DEBUG" not in levels, inv.logs[-2000:]
    quiet = run(sandbox, world, "QueryFunction", insight, log_level="WARNING")
    assert assert_ok(quiet, "insight at WARNING")["rows"] == result["rows"]
    assert not [r for r in log_records(quiet.logs) if r["level"] in ("DEBUG", "INFO")], quiet.logs[-2000:]


def test_the_state_machine_posts_the_digest_with_charts(sandbox: Sandbox, world: World) -> None:
    import boto3

    calls: list[tuple[str, dict[str, Any]]] = []
    environments = {name: threading.Lock() for name in FOLDERS}  # one invocation at a time each

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any,
               response_headers: Any) -> bytes:
        name = function_name.rsplit(":", 1)[-1]
        payload = json.loads(body or "{}")
        calls.append((name, payload))
        with environments[name]:
            inv = run(sandbox, world, name, payload)
        if not inv.ok:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(inv.result or {"errorType": "Sandbox", "errorMessage": inv.logs[-2000:]}).encode()
        return json.dumps(inv.result).encode()

    patch = pytest.MonkeyPatch()
    patch.setattr(LambdaSimpleBackend, "invoke", invoke)
    try:
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="flowdigest-sandbox", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        definition = (REPO / "statemachine" / "flowdigest.asl.json").read_text()
        for name in FOLDERS:
            arn = lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.lambda_handler",
                                      Code={"ZipFile": _empty_zip()})["FunctionArn"]
            definition = definition.replace(f"${{{name}Arn}}", arn)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(name="flowdigest", definition=definition, roleArn=role)["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, name="sandbox", input=json.dumps(event("backfill")))
        deadline = time.monotonic() + 600
        while (desc := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution is still running after 10 minutes"
            time.sleep(0.5)
    finally:
        patch.undo()

    assert desc["status"] == "SUCCEEDED", desc
    steps = [name for name, _ in calls]
    prepare, inventory, *insights = [p for n, p in calls if n == "QueryFunction"]
    assert prepare["step"] == "prepare" and steps[-2:] == ["RenderFunction", "SlackFunction"]
    assert inventory["step"] == "inventory"
    assert sorted(p["insight"] for p in insights) == sorted(insights[0]["plan"]["insights"])
    assert json.loads(desc["output"])["post"]["status"] == "posted"
    summaries = [m for m in world.slack.messages if m.thread_ts is None]
    assert len(summaries) == 1 and summaries[0].channel == TEST_CHANNEL
    pngs = [f.data for f in world.slack.files.values() if f.filename.endswith(".png") and f.data]
    assert pngs, "no chart reached Slack"
    for png in pngs:
        width, height = png_size(png)  # checks the signature and every chunk's CRC
        assert width >= 400 and height >= 200


def _empty_zip() -> bytes:
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "")
    return code.getvalue()


IMPORT_PYDANTIC = {"step": "probe"}


def test_the_old_layer_order_breaks_pydantic_and_the_new_one_does_not(sandbox: Sandbox, world: World,
                                                                       tmp_path: Path) -> None:
    """The managed layer's typing_extensions 4.12 (compiled) over the project's, as the old
    order had it, breaks `import pydantic`; with the project's layer last it imports."""
    task = tmp_path / "task"
    task.mkdir()
    (task / "app.py").write_text(
        "import typing_extensions\n"
        "def lambda_handler(event, context):\n"
        "    import pydantic\n"
        "    return {'pydantic': pydantic.VERSION, 'typing_extensions': typing_extensions.__file__}\n")
    _readable(tmp_path)
    _readable(task)
    project = BUILD / TEMPLATE["Resources"]["FlowdigestLayer"]["Properties"]["ContentUri"]
    # The managed layer as it shipped typing_extensions 4.12.
    managed = [Path(str(LAYER_DIRS["PANDAS"])), Path(str(LAYER_DIRS["OLD_TE"]))]
    env = world.function_env("QueryFunction")

    old = sandbox.invoke(task, [project, *managed], env, IMPORT_PYDANTIC)
    assert not old.ok and "typing_extensions" in old.logs + json.dumps(old.result), old.logs[-2000:]
    new = sandbox.invoke(task, [*managed, project], env, IMPORT_PYDANTIC)
    assert new.ok, new.logs[-2000:]
    # And the template's order is the new one.
    assert function_layers("QueryFunction")[-2] == project
