"""template.yaml and the state machine definition, read as data: the properties the design
depends on, which `sam validate --lint`, cfn-lint and checkov (make validate) do not know.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowdigest import fields, queries
from flowdigest.insights import INSIGHTS

REPO = Path(__file__).resolve().parents[2]
ASL = json.loads((REPO / "statemachine" / "flowdigest.asl.json").read_text())


class _CfnLoader(yaml.SafeLoader):
    """PyYAML plus CloudFormation's short tags: !Ref X -> {"Ref": X}, !Sub s -> {"Fn::Sub": s}."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)
TEMPLATE: dict[str, Any] = yaml.load((REPO / "template.yaml").read_text(), Loader=_CfnLoader)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def props(name: str) -> dict[str, Any]:
    return RESOURCES[name]["Properties"]


def walk(node: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (path, value) pair below node."""
    out = [(path, node)]
    if isinstance(node, dict):
        for k, v in node.items():
            out += walk(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += walk(v, (*path, str(i)))
    return out


def refs_to(name: str) -> list[tuple[str, ...]]:
    hits = []
    for path, value in walk(TEMPLATE):
        if not isinstance(value, dict):
            continue
        if value.get("Ref") == name or (value.get("Fn::GetAtt") or [None])[0] == name:
            hits.append(path)
        sub = value.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) else sub
        if isinstance(text, str) and re.search(r"\$\{" + re.escape(name) + r"[.}]", text):
            hits.append(path)
    return hits


def log_format() -> list[str]:
    fmt = TEMPLATE["Mappings"]["FlowLog"]["Format"]["Fields"]
    return re.findall(r"\$\{([a-z0-9-]+)\}", fmt)


# -- networking ---------------------------------------------------------------------------


def test_gateway_endpoints_serve_the_private_route_tables() -> None:
    private = {"PrivateRouteTableA", "PrivateRouteTableB"}
    services = {}
    for name, res in of_type("AWS::EC2::VPCEndpoint").items():
        p = res["Properties"]
        assert p["VpcEndpointType"] == "Gateway"
        assert {r["Ref"] for r in p["RouteTableIds"]} == private
        services[p["ServiceName"]["Fn::Sub"]] = name
    assert set(services) == {"com.amazonaws.${AWS::Region}.s3", "com.amazonaws.${AWS::Region}.dynamodb"}
    # the private route tables are the ones the functions' subnets use, and go out via NAT
    for table, subnet in (("PrivateRouteTableA", "PrivateSubnetA"), ("PrivateRouteTableB", "PrivateSubnetB")):
        assocs = [r["Properties"] for r in of_type("AWS::EC2::SubnetRouteTableAssociation").values()
                  if r["Properties"]["RouteTableId"] == {"Ref": table}]
        assert assocs == [{"SubnetId": {"Ref": subnet}, "RouteTableId": {"Ref": table}}]
        routes = [r["Properties"] for r in of_type("AWS::EC2::Route").values()
                  if r["Properties"]["RouteTableId"] == {"Ref": table}]
        assert [r.get("NatGatewayId") for r in routes] == [{"Ref": "NatGateway"}]
    subnets = {props(s)["AvailabilityZone"]["Fn::Select"][0] for s in ("PrivateSubnetA", "PrivateSubnetB")}
    assert subnets == {0, 1}  # two AZs


def test_functions_run_in_the_private_subnets_with_https_out_only() -> None:
    vpc = TEMPLATE["Globals"]["Function"]["VpcConfig"]["Fn::If"]
    assert vpc[0] == "CreateNetwork" and vpc[2] == {"Ref": "AWS::NoValue"}
    assert [s["Ref"] for s in vpc[1]["SubnetIds"]] == ["PrivateSubnetA", "PrivateSubnetB"]
    sg = props("FunctionSecurityGroup")
    assert "SecurityGroupIngress" not in sg
    assert [(e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in sg["SecurityGroupEgress"]] == [("tcp", 443, 443)]


def test_existing_flow_logs_mode_creates_no_network() -> None:
    assert TEMPLATE["Conditions"]["CreateNetwork"] == {"Fn::Equals": [{"Ref": "ExistingFlowLogBucket"}, ""]}
    for name, res in RESOURCES.items():
        if res["Type"].startswith("AWS::EC2::") or name in ("FlowLogBucket", "FlowLogBucketPolicy"):
            assert res.get("Condition") in ("CreateNetwork", "CreateCloudWatchFlowLog", "CreateTgwFlowLog"), name
    # what reads the flow logs follows the existing bucket then
    source = props("QueryFunction")["Environment"]["Variables"]["FLOWDIGEST_SOURCE"]["Fn::Sub"][1]
    assert source["Bucket"]["Fn::If"][:2] == ["UseExistingFlowLogs", {"Ref": "ExistingFlowLogBucket"}]


# -- flow logs, Glue, Athena ----------------------------------------------------------------


def test_flow_log_writes_hourly_hive_parquet_with_every_field_the_report_reads() -> None:
    p = props("FlowLogToS3")
    assert p["DestinationOptions"] == {"FileFormat": "parquet", "HiveCompatiblePartitions": True,
                                       "PerHourPartition": True}
    assert p["LogDestinationType"] == "s3" and p["TrafficType"] == "ALL"
    names = log_format()
    assert len(names) == len(set(names)) and all(n in fields.BY_NAME for n in names)
    assert set(fields.V5_FORMAT) <= set(names) and "reject-reason" in names
    needed = {c for insight in INSIGHTS.values() if insight.reads != "tgw" for c in (*insight.needs, *insight.uses)}
    needed |= set(queries.ROLLUP_SOURCE_COLUMNS)
    missing = needed - {fields.BY_NAME[n].column for n in names}
    assert not missing, f"the flow log's format lacks {sorted(missing)}"
    assert props("FlowLogToCloudWatch")["LogFormat"] == p["LogFormat"]
    # ... and the Transit Gateway's flow log every field its insight reads
    tgw = {fields.BY_NAME[n].column for n in re.findall(r"\$\{([a-z0-9-]+)\}", props("TgwFlowLogToS3")["LogFormat"])}
    assert {c for i in INSIGHTS.values() if i.reads == "tgw" for c in (*i.needs, *i.uses)} <= tgw


def _glue_type(f: fields.Field) -> str:
    return {"INT": "int", "BIGINT": "bigint"}.get(f.sql_type, "string")


def test_flow_logs_table_uses_partition_projection_over_the_hive_layout() -> None:
    table = props("FlowLogsTable")["TableInput"]
    assert table["Name"] == "flow_logs"
    params = table["Parameters"]
    assert params["projection.enabled"] == "true"
    for part in fields.PARTITION_COLUMNS:
        assert params[f"projection.{part}.type"] == "integer" and f"projection.{part}.range" in params
    for part in fields.SOURCE_PARTITION_COLUMNS:  # the listed accounts and Regions (test_template_org.py)
        assert params[f"projection.{part}.type"] == "enum" and f"projection.{part}.values" in params
    template, values = params["storage.location.template"]["Fn::Sub"]
    assert template.endswith("AWSLogs/aws-account-id=${!aws_account_id}/aws-service=vpcflowlogs/"
                             "aws-region=${!aws_region}/year=${!year}/month=${!month}/day=${!day}/hour=${!hour}")
    assert {"Bucket", "Prefix"} <= set(values)
    partitions = [*fields.SOURCE_PARTITION_COLUMNS, *fields.PARTITION_COLUMNS]
    assert [k["Name"] for k in table["PartitionKeys"]] == partitions
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns == [(f.column, _glue_type(f)) for f in fields.FIELDS]
    assert "Crawler" not in json.dumps([r["Type"] for r in RESOURCES.values()])


def test_rollup_table_matches_what_the_query_function_unloads() -> None:
    from flowdigest.aws.athena import unload_sql

    table = props("DailyRollupTable")["TableInput"]
    params = table["Parameters"]
    assert table["Name"] == "daily_rollup"
    assert params["projection.dt.type"] == "date" and params["projection.dt.format"] == "yyyy-MM-dd"
    assert params["storage.location.template"] == {
        "Fn::Sub": "s3://${ReportsBucket}/rollup/dt=${!dt}/rollup_set=${!rollup_set}/"}
    assert params["projection.rollup_set.type"] == "enum"
    assert params["projection.rollup_set.values"].split(",") == list(queries.ROLLUP_SETS)
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}, {"Name": "rollup_set", "Type": "string"}]
    glue = {"INT": "int", "BIGINT": "bigint", "VARCHAR": "string", "BOOLEAN": "boolean"}
    expected = [(c, glue[t]) for c, t in queries.ROLLUP_SCHEMA.items() if c not in queries.ROLLUP_PARTITIONS]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == expected
    sql = unload_sql("SELECT 1", "s3://reports/rollup/dt=2026-11-20/")
    # UNLOAD writes the partition column as folders and wants it last in the select list
    assert sql.startswith("UNLOAD (SELECT " + ", ".join(f'"{c}"' for c, _ in [*expected, ("rollup_set", "")]) + " ")
    assert "TO 's3://reports/rollup/dt=2026-11-20/'" in sql and "format = 'PARQUET'" in sql
    assert "partitioned_by = ARRAY['rollup_set']" in sql


def test_workgroup_enforces_location_encryption_and_a_scan_cap() -> None:
    conf = props("AthenaWorkGroup")["WorkGroupConfiguration"]
    assert conf["EnforceWorkGroupConfiguration"] is True
    assert conf["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoffPerQuery"}
    assert conf["ResultConfiguration"]["OutputLocation"] == {"Fn::Sub": "s3://${ReportsBucket}/athena-results/"}
    assert conf["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_S3"


@pytest.mark.parametrize("bucket", ["FlowLogBucket", "ReportsBucket"])
def test_buckets_are_encrypted_private_tls_only_and_expire(bucket: str) -> None:
    p = props(bucket)
    assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert all(p["PublicAccessBlockConfiguration"].values()) and len(p["PublicAccessBlockConfiguration"]) == 4
    assert p["LifecycleConfiguration"]["Rules"]
    policies = [r["Properties"]["PolicyDocument"] for r in of_type("AWS::S3::BucketPolicy").values()
                if r["Properties"]["Bucket"] == {"Ref": bucket}]
    deny = [s for doc in policies for s in doc["Statement"] if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# -- functions, layers, IAM, secret -----------------------------------------------------------


def test_functions_are_python312_x86_built_by_makefile() -> None:
    glob = TEMPLATE["Globals"]["Function"]
    assert glob["Runtime"] == "python3.12" and glob["Architectures"] == ["x86_64"]
    functions = of_type("AWS::Serverless::Function")
    assert set(functions) == {"QueryFunction", "RenderFunction", "SlackFunction"}
    for name, res in functions.items():
        assert res["Metadata"]["BuildMethod"] == "makefile"
        folder = REPO / res["Properties"]["CodeUri"]
        assert f"build-{name}:" in (folder / "Makefile").read_text() and (folder / "app.py").exists()
    for name, res in of_type("AWS::Serverless::LayerVersion").items():
        assert res["Metadata"]["BuildMethod"] == "makefile"
        assert f"build-{name}:" in (REPO / res["Properties"]["ContentUri"] / "Makefile").read_text()
    # The project's layer last: Lambda lets a later layer's files overwrite an earlier one's.
    query_layers = props("QueryFunction")["Layers"]
    published, given = query_layers[0]["Fn::If"][1]["Fn::If"][1:]
    assert published["Fn::Sub"] == ("{{resolve:ssm:/aws/service/aws-sdk-pandas/"
                                    f"{TEMPLATE['Metadata']['flowdigest']['AwsSdkPandasVersion']}"
                                    "/${AWS::Region}/py3.12/x86_64/layer-arn}}")
    assert given == {"Ref": "AwsSdkPandasLayer"}
    assert query_layers[-1] == {"Ref": "FlowdigestLayer"}
    assert props("RenderFunction")["Layers"] == [{"Ref": "ChartsLayer"}, {"Ref": "FlowdigestLayer"}]


def test_application_log_level_follows_the_log_level_parameter() -> None:
    levels = TEMPLATE["Mappings"]["LambdaLogLevel"]
    assert set(levels) == set(TEMPLATE["Parameters"]["LogLevel"]["AllowedValues"])
    assert {v["Application"] for v in levels.values()} <= {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
    for name in of_type("AWS::Serverless::Function"):
        config = props(name)["LoggingConfig"]
        assert config["LogFormat"] == "JSON"
        level = {"Fn::FindInMap": ["LambdaLogLevel", {"Ref": "LogLevel"}, "Application"]}
        assert config["ApplicationLogLevel"] == level


def _statements() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, res in of_type("AWS::IAM::Role").items():
        for policy in res["Properties"].get("Policies", []):
            if "Fn::If" in policy:
                policy = policy["Fn::If"][1]
            out += [(name, s) for s in policy["PolicyDocument"]["Statement"]]
    return out


# The Inventory step's read-only Describe calls: none takes a resource-level permission.
INVENTORY_ACTIONS = {"ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances", "ec2:DescribeSubnets",
                     "ec2:DescribeRouteTables", "ec2:DescribeVpcEndpoints", "ec2:DescribeNatGateways"}
# Actions that take no resource-level permissions, so "*" is their only resource.
UNSCOPABLE = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
              "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
              "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
              "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
              "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
              "logs:DescribeLogGroups", *INVENTORY_ACTIONS}


def test_iam_grants_named_actions_on_scoped_resources() -> None:
    assert not [r for r in RESOURCES.values() if "Policies" in r.get("Properties", {})
                and r["Type"].startswith("AWS::Serverless::")], "roles are explicit, not SAM policy templates"
    for role, st in _statements():
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert st["Effect"] == "Allow"
        for action in actions:
            assert action != "*" and not action.endswith(":*"), (role, action)
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if "*" in resources:
            assert set(actions) <= UNSCOPABLE, (role, actions)


def test_the_query_role_may_make_exactly_the_inventory_describe_calls() -> None:
    from flowdigest.inventory.aws import IAM_ACTIONS

    assert set(IAM_ACTIONS) == INVENTORY_ACTIONS
    # (every function role also has the Lambda VPC policy, with two of these Describe calls)
    inventory = [(role, st) for role, st in _statements() if "ec2:DescribeInstances" in st["Action"]]
    assert [role for role, _ in inventory] == ["QueryFunctionRole"]
    assert sorted(inventory[0][1]["Action"]) == sorted(IAM_ACTIONS)
    assert ASL["States"]["Prepare"]["Next"] == "Inventory"
    state = ASL["States"]["Inventory"]
    assert state["Parameters"]["step"] == "inventory" and state["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    # a caught failure goes on to the insights: the report is made without names
    assert state["Catch"][0]["Next"] == state["Next"] == "RunInsights"
    assert ASL["States"]["Render"]["Parameters"]["inventory.$"] == state["ResultPath"] == "$.inventory"


def test_only_the_slack_function_can_read_the_secret() -> None:
    users = {path[1] for path in refs_to("SlackSecret") if path[0] == "Resources"}
    assert users == {"SlackFunction", "SlackFunctionRole"}
    readers = [role for role, st in _statements() if "secretsmanager:GetSecretValue" in st["Action"]]
    assert readers == ["SlackFunctionRole"]
    assert [p for p in TEMPLATE["Parameters"] if re.search("slack|token", p, re.I)] == ["SlackChannelId"]
    secret = props("SlackSecret")["SecretString"]["Fn::Sub"]
    assert json.loads(secret.replace("${SlackChannelId}", "C0"))["bot_token"].startswith("xoxb-placeholder")


# -- orchestration ---------------------------------------------------------------------------


def test_schedule_starts_only_this_state_machine() -> None:
    s = props("DailySchedule")
    assert s["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert s["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert s["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}
    assert s["Target"]["Arn"] == {"Ref": "DigestStateMachine"}
    assert "report_date" not in s["Target"]["Input"]  # the day before, decided by the prepare step
    statements = [st for role, st in _statements() if role == "SchedulerRole"]
    assert statements == [{"Effect": "Allow", "Action": "states:StartExecution",
                           "Resource": {"Ref": "DigestStateMachine"}}]


def test_every_asl_placeholder_is_substituted() -> None:
    sm = props("DigestStateMachine")
    text = (REPO / sm["DefinitionUri"]).read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(sm["DefinitionSubstitutions"])


def _states(machine: dict[str, Any]) -> dict[str, Any]:
    out = dict(machine["States"])
    for state in machine["States"].values():
        if state["Type"] == "Map":
            out |= _states(state["ItemProcessor"])
    return out


def test_every_task_retries_transient_errors_and_every_failure_alerts() -> None:
    assert ASL.get("QueryLanguage", "JSONPath") == "JSONPath"
    states = _states(ASL)
    transient = {"Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException",
                 "States.Timeout", "TransientError"}
    for name, state in states.items():
        assert "Arguments" not in state and "Output" not in state, f"{name}: JSONata field in a JSONPath machine"
        if state["Type"] != "Task":
            continue
        retry = state["Retry"][0]
        assert transient <= set(retry["ErrorEquals"]), name
        assert retry["BackoffRate"] > 1 and retry["JitterStrategy"] == "FULL" and retry["MaxDelaySeconds"], name
    # every top-level Task and the Map catch everything into the NotifyFailure path, then Fail
    for name in ("Prepare", "RunInsights", "Render", "Post"):
        catch = ASL["States"][name]["Catch"]
        assert catch[0]["ErrorEquals"] == ["States.ALL"]
        handler = ASL["States"][catch[0]["Next"]]
        assert handler["Next"] == "NotifyFailure", name
    notify = ASL["States"]["NotifyFailure"]
    assert set(notify["Parameters"]["alert"]) == {"step.$", "report_date.$", "error.$", "cause.$", "execution.$"}
    assert notify["Next"] == "Failed" and notify["Catch"][0]["Next"] == "Failed"
    assert ASL["States"]["Failed"]["Type"] == "Fail"
    assert ASL["States"]["RunInsights"]["ItemsPath"] == "$.plan.insights"
    assert ASL["States"]["RunInsights"]["MaxConcurrency"] == 4


def test_failed_executions_raise_an_alarm() -> None:
    alarm = props("FailedExecutionsAlarm")
    assert alarm["Namespace"] == "AWS/States" and alarm["MetricName"] == "ExecutionsFailed"
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "DigestStateMachine"}}]


def test_task_timeouts_outlast_their_functions() -> None:
    # A task that times out before its Lambda would be retried while the first call still runs.
    functions = {"${QueryFunctionArn}": "QueryFunction", "${RenderFunctionArn}": "RenderFunction",
                 "${SlackFunctionArn}": "SlackFunction"}
    default = TEMPLATE["Globals"]["Function"]["Timeout"]
    for name, state in _states(ASL).items():
        if state["Type"] == "Task":
            lambda_timeout = props(functions[state["Resource"]]).get("Timeout", default)
            assert state["TimeoutSeconds"] > lambda_timeout, name


def test_no_json_literal_hides_in_an_intrinsic_string() -> None:
    # The ASL spec wants { } escaped inside intrinsic string literals; moto keeps the
    # backslashes, AWS drops them. The defaults are plain JSON in a Pass state instead.
    def strings(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        if isinstance(node, list):
            return [s for v in node for s in strings(v)]
        return [node] if isinstance(node, str) else []

    intrinsics = [s for s in strings(ASL) if s.startswith("States.")]
    assert intrinsics
    for expression in intrinsics:
        literals = re.findall(r"'((?:[^'\\]|\\.)*)'", expression)
        assert not [lit for lit in literals if re.search(r"[{}]", lit.replace("{}", ""))], expression


def test_govcloud_gets_a_deploy_time_error_not_a_missing_layer() -> None:
    rule = TEMPLATE["Rules"]["PandasLayerIsPublishedHere"]
    # every deployment that uses the managed layer is checked
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AwsSdkPandasLayer"}, "none"]}]}
    (assertion,) = rule["Assertions"]
    regions, region = assertion["Assert"]["Fn::Not"][0]["Fn::Contains"]
    assert region == {"Ref": "AWS::Region"} and set(regions) == {"us-gov-west-1", "us-gov-east-1"}
    assert "GovCloud" in assertion["AssertDescription"]
