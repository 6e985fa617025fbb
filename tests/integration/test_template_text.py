"""template.yaml's option for existing plain-text flow logs, evaluated per parameter set.

cfn-lint sees one (the default) parameter set; these tests resolve the conditions, Fn::If,
Fn::FindInMap and Fn::Sub for every ExistingFlowLogFields x ExistingFlowLogLayout value and
check what CloudFormation would create: the text table's SerDe, columns and projection, and
the query function's settings, against flowdigest.fields and the Athena engine that reads it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from test_template import TEMPLATE, props

from flowdigest import fields
from flowdigest.aws.athena import TEXT_TABLE, AthenaEngine
from flowdigest.aws.settings import QuerySettings

PSEUDO = {"AWS::Region": "eu-west-1", "AWS::AccountId": "444455556666", "AWS::Partition": "aws",
          "AWS::StackName": "flowdigest"}
EXISTING = {"ExistingFlowLogBucket": "corp-flow-logs", "ExistingFlowLogPrefix": "vpc-a/",
            "ExistingFlowLogAccountId": "111122223333", "ExistingFlowLogFileFormat": "plain-text"}
# ExistingFlowLogFields -> the format it stands for, in AWS's documented field order.
FORMATS: dict[str, tuple[str, ...]] = {
    "v2-default": fields.DEFAULT_FORMAT,
    "v5-all": fields.V5_FORMAT,
    "v5-all-reject-reason": (*fields.V5_FORMAT, "reject-reason"),
    "v8-all": tuple(f.name for f in fields.FIELDS),
}
LAYOUTS = ("dated-daily", "hive-hourly")
_NO_VALUE = object()


class Stack:
    """The template with parameters set: conditions and intrinsics resolved as CloudFormation would."""

    def __init__(self, **given: str) -> None:
        self.params = {name: str(p.get("Default", "")) for name, p in TEMPLATE["Parameters"].items()}
        unknown = set(given) - set(self.params)
        assert not unknown, unknown
        self.params |= given | PSEUDO
        self.conditions = {name: self._condition(c) for name, c in TEMPLATE["Conditions"].items()}

    def _condition(self, node: Any) -> bool:
        (fn, arg), = node.items()
        if fn in ("Condition", "Fn::Condition"):  # the test loader reads !Condition as Fn::Condition
            return self._condition(TEMPLATE["Conditions"][arg])
        if fn == "Fn::Equals":
            a, b = (self.resolve(x) for x in arg)
            return bool(a == b)
        if fn == "Fn::Not":
            return not self._condition(arg[0])
        if fn == "Fn::And":
            return all(self._condition(c) for c in arg)
        if fn == "Fn::Or":
            return any(self._condition(c) for c in arg)
        raise AssertionError(f"unexpected condition function {fn}")

    def _sub(self, text: str, variables: dict[str, Any]) -> Any:
        def value(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # a literal ${...}
            v = variables.get(name, self.params.get(name))
            return v if isinstance(v, str) else m.group(0)  # resources stay unresolved

        return re.sub(r"\$\{([^}]+)\}", value, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(x) for x in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return _NO_VALUE if arg == "AWS::NoValue" else self.params.get(arg, node)
            if fn == "Fn::If":
                return self.resolve(arg[1] if self.conditions[arg[0]] else arg[2])
            if fn == "Fn::FindInMap":
                name, key, item = (self.resolve(x) for x in arg)
                return TEMPLATE["Mappings"][name][key][item]
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if fn == "Fn::Split":
                sep, text = (self.resolve(x) for x in arg)
                return text.split(sep) if isinstance(text, str) else node
            if fn == "Fn::Join":
                sep, items = self.resolve(arg[0]), self.resolve(arg[1])
                return sep.join(items) if all(isinstance(i, str) for i in items) else node
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not _NO_VALUE}

    def creates(self, resource: str) -> bool:
        condition = TEMPLATE["Resources"][resource].get("Condition")
        return condition is None or self.conditions[condition]

    def query_settings(self) -> QuerySettings:
        env = {**TEMPLATE["Globals"]["Function"]["Environment"]["Variables"],
               **props("QueryFunction")["Environment"]["Variables"]}
        resolved = {k: self.resolve(v) for k, v in env.items()}
        # names of resources (unresolved refs) become placeholders; the local flavour's too
        resolved = {k: v if isinstance(v, str) else f"<{k}>" for k, v in resolved.items()}
        resolved["AWS_REGION"] = PSEUDO["AWS::Region"]
        return QuerySettings.from_env(resolved)


def text_table(stack: Stack) -> dict[str, Any]:
    assert stack.creates("FlowLogsTextTable")
    table: dict[str, Any] = stack.resolve(props("FlowLogsTextTable"))["TableInput"]
    return table


def _glue_type(f: fields.Field) -> str:
    return {"INT": "int", "BIGINT": "bigint"}.get(f.sql_type, "string")


# -- parameters --------------------------------------------------------------------------------


def test_parameters_offer_the_text_options_with_parquet_defaults() -> None:
    p = TEMPLATE["Parameters"]
    assert (p["ExistingFlowLogFileFormat"]["Default"], p["ExistingFlowLogFileFormat"]["AllowedValues"]) == \
        ("parquet", ["parquet", "plain-text"])
    assert (p["ExistingFlowLogLayout"]["Default"], p["ExistingFlowLogLayout"]["AllowedValues"]) == \
        ("hive-hourly", ["hive-hourly", "dated-daily"])
    assert p["ExistingFlowLogFields"]["Default"] == "v2-default"
    assert p["ExistingFlowLogFields"]["AllowedValues"] == list(FORMATS)
    assert "LogFormat" in p["ExistingFlowLogFields"]["Description"]  # must match it, in order
    group = next(g for g in TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
                 if "ExistingFlowLogBucket" in g["Parameters"])
    assert {"ExistingFlowLogFileFormat", "ExistingFlowLogLayout", "ExistingFlowLogFields"} <= set(group["Parameters"])


@pytest.mark.parametrize("option", list(FORMATS))
def test_each_fields_option_maps_to_its_format_in_aws_order(option: str) -> None:
    mapped = TEMPLATE["Mappings"]["TextFlowLogFormat"][option]["Fields"].split()
    assert tuple(mapped) == FORMATS[option]
    assert [fields.BY_NAME[n].version for n in mapped] == sorted(fields.BY_NAME[n].version for n in mapped)
    if option == "v5-all-reject-reason":  # the format this stack's own flow log writes
        own = re.findall(r"\$\{([a-z0-9-]+)\}", TEMPLATE["Mappings"]["FlowLog"]["Format"]["Fields"])
        assert tuple(own) == FORMATS[option]


def test_parquet_is_only_read_in_the_hive_hourly_layout() -> None:
    rule = TEMPLATE["Rules"]["ParquetIsHiveHourly"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "ExistingFlowLogFileFormat"}, "parquet"]}
    assert [a["Assert"] for a in rule["Assertions"]] == [
        {"Fn::Equals": [{"Ref": "ExistingFlowLogLayout"}, "hive-hourly"]}]


# -- which table, per deployment ------------------------------------------------------------------


@pytest.mark.parametrize("given", [{}, {"ExistingFlowLogFileFormat": "plain-text"},
                                   {**EXISTING, "ExistingFlowLogFileFormat": "parquet"}])
def test_parquet_deployments_have_no_text_table_and_read_flow_logs(given: dict[str, str]) -> None:
    # the stack's own flow log is Parquet whatever the format parameter says
    stack = Stack(**given)
    assert not stack.creates("FlowLogsTextTable") and stack.creates("FlowLogsTable")
    s = stack.query_settings()
    assert (s.source_format, s.source_layout, s.source_fields) == ("parquet", "hive-hourly", fields.DEFAULT_FORMAT)
    assert AthenaEngine(s).flow_logs_table == "flow_logs"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("option", list(FORMATS))
def test_text_table_reads_the_format_by_position_with_athena_types(option: str, layout: str) -> None:
    stack = Stack(**EXISTING, ExistingFlowLogLayout=layout, ExistingFlowLogFields=option)
    table = text_table(stack)
    assert table["Name"] == TEXT_TABLE and table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["skip.header.line.count"] == "1"  # AWS writes a header line per file
    sd = table["StorageDescriptor"]
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    serde = sd["SerdeInfo"]["Parameters"]
    assert (serde["field.delim"], serde["serialization.null.format"]) == (" ", "-")
    columns = [(c["Name"], c["Type"]) for c in sd["Columns"]]
    assert columns == [(fields.BY_NAME[n].column, _glue_type(fields.BY_NAME[n])) for n in FORMATS[option]]
    # ... and the query function reads it with that same field list
    s = stack.query_settings()
    assert (s.source_format, s.source_layout, s.source_fields) == ("plain-text", layout, FORMATS[option])
    engine = AthenaEngine(s)
    assert f'FROM "{TEXT_TABLE}" AS t' in engine.flow_logs_table
    for name, _ in columns:
        assert f't."{name}"' in engine.flow_logs_table


@pytest.mark.parametrize("layout", LAYOUTS)
def test_projection_follows_the_layout_and_the_engines_prefix(layout: str) -> None:
    stack = Stack(**EXISTING, ExistingFlowLogLayout=layout)
    table = text_table(stack)
    params = table["Parameters"]
    partitions = ["year", "month", "day"] + (["hour"] if layout == "hive-hourly" else [])
    sources = list(fields.SOURCE_PARTITION_COLUMNS)  # one account and Region here: test_template_org.py
    assert [k["Name"] for k in table["PartitionKeys"]] == sources + partitions
    assert all(k["Type"] == "string" for k in table["PartitionKeys"])  # as the SQL compares them
    assert params["projection.enabled"] == "true"
    projected = {k.split(".")[1] for k in params if k.startswith("projection.") and k != "projection.enabled"}
    assert projected == set(sources + partitions)
    assert (params["projection.aws_account_id.values"], params["projection.aws_region.values"]) == \
        ("111122223333", "eu-west-1")
    for part in partitions:
        assert params[f"projection.{part}.type"] == "integer"
        if part != "year":
            assert params[f"projection.{part}.digits"] == "2"
    template = params["storage.location.template"]
    assert template.startswith(table["StorageDescriptor"]["Location"])
    template = template.replace("${aws_account_id}", "111122223333").replace("${aws_region}", "eu-west-1")
    base = "s3://corp-flow-logs/vpc-a/AWSLogs/"
    if layout == "dated-daily":
        assert template == base + "111122223333/vpcflowlogs/eu-west-1/${year}/${month}/${day}"
    else:
        assert template == base + ("aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-west-1/"
                                   "year=${year}/month=${month}/day=${day}/hour=${hour}")
    # the day's partitions are exactly where the engine lists the day's objects
    day = dt.date(2026, 3, 7)
    engine = AthenaEngine(stack.query_settings())
    location = template.replace("${year}", "2026").replace("${month}", "03").replace("${day}", "07")
    listed = f"s3://{engine.source_bucket}/{engine.day_prefix(day)}"
    if layout == "hive-hourly":
        assert location.replace("${hour}", "00") + "/" == listed + "hour=00/"
    else:
        assert location + "/" == listed


def test_the_query_role_can_read_both_layouts() -> None:
    stack = Stack(**EXISTING, ExistingFlowLogLayout="dated-daily")
    engine = AthenaEngine(stack.query_settings())
    role = stack.resolve(props("QueryFunctionRole"))
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    gets = [s["Resource"] for s in statements if s["Action"] == "s3:GetObject"]
    assert gets == ["arn:aws:s3:::corp-flow-logs/vpc-a/AWSLogs/*"]
    assert engine.day_prefix(dt.date(2026, 3, 7)).startswith("vpc-a/AWSLogs/")
    glue = next(s for s in statements if "glue:GetTable" in s["Action"])
    assert any(str(r).endswith("/*") and ":table/" in str(r) for r in glue["Resource"])  # flow_logs_text too
