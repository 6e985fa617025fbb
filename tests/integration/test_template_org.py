"""template.yaml for an organisation's bucket: many accounts and Regions, cross-account
delivery, Transit Gateway flow logs.

The tables go through moto's Glue as CloudFormation would create them (the resolved
TableInput), and Athena's partition projection is expanded from what Glue stores, the way
Athena documents it (enum values, integer ranges with digits, the location template).
The S3 keys that expansion yields for one day are compared with AWS's documented layout
for flow-log delivery (docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html),
and the query function's Athena engine lists exactly those folders in moto's S3.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_template import TEMPLATE, props
from test_template_text import Stack

from bench.athena_scan import table_scans
from flowdigest import fields, queries
from flowdigest.aws.athena import AthenaEngine
from flowdigest.aws.errors import InvalidEvent, SettingsError
from flowdigest.aws.events import PrepareEvent, parse_query
from flowdigest.aws.settings import QuerySettings
from flowdigest.scope import Scope

ACCOUNTS = ("111122223333", "444455556666", "777788889999")
REGIONS = ("eu-west-1", "us-east-1")
ORG = {"FlowLogAccountIds": ",".join(ACCOUNTS), "FlowLogRegions": ",".join(REGIONS)}
ARCHIVE = {"ExistingFlowLogBucket": "org-log-archive", "ExistingFlowLogPrefix": "vpc/"}
DAY = dt.date(2026, 3, 7)
OWN_BUCKET = "flowdigest-flowlogbucket-1a2b3c"
# AWS's documented folders (flow-logs-s3-path.html), Hive-compatible with hourly partitions
# and the default daily layout; Transit Gateway flow logs are delivered the same way.
HIVE_HOURLY = ("{prefix}AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/"
               "year={year}/month={month}/day={day}/hour={hour}/")
DATED_DAILY = "{prefix}AWSLogs/{account}/vpcflowlogs/{region}/{year}/{month}/{day}/"


def documented_day(layout: str, prefix: str, accounts: tuple[str, ...], regions: tuple[str, ...],
                   day: dt.date) -> set[str]:
    hours = range(24) if layout == "hive-hourly" else [None]
    form = HIVE_HOURLY if layout == "hive-hourly" else DATED_DAILY
    return {form.format(prefix=prefix, account=a, region=r, year=f"{day:%Y}", month=f"{day:%m}",
                        day=f"{day:%d}", hour=f"{h:02d}" if h is not None else "")
            for a, r, h in itertools.product(accounts, regions, hours)}


def projected_day(table: dict[str, Any], day: dt.date) -> set[str]:
    """The partitions Athena's projection reads for `WHERE year/month/day = <day>`, as S3
    locations: every other key takes each of its projected values (enum: the list;
    integer: the range, zero-padded to `digits`), substituted into the location template."""
    params = table["Parameters"]
    fixed = {"year": f"{day:%Y}", "month": f"{day:%m}", "day": f"{day:%d}"}
    choices: list[list[tuple[str, str]]] = []
    for key in (k["Name"] for k in table["PartitionKeys"]):
        kind = params[f"projection.{key}.type"]
        if kind == "enum":
            values = params[f"projection.{key}.values"].split(",")
        else:
            assert kind == "integer", (key, kind)
            lo, hi = (int(v) for v in params[f"projection.{key}.range"].split(","))
            width = int(params.get(f"projection.{key}.digits", "1"))
            values = [f"{v:0{width}d}" for v in range(lo, hi + 1)]
            if key in fixed:
                assert fixed[key] in values, (key, fixed[key])
                values = [fixed[key]]
        choices.append([(key, v) for v in values])
    template = params["storage.location.template"]
    out = set()
    for combo in itertools.product(*choices):
        location = template
        for key, value in combo:
            location = location.replace("${" + key + "}", value)
        assert "${" not in location, location
        out.add(location.rstrip("/") + "/")
    return out


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    import boto3
    from moto import mock_aws

    for key, value in (("AWS_DEFAULT_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "testing"),
                       ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(key, value)
    with mock_aws():
        glue = boto3.client("glue", region_name="eu-west-1")
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=ARCHIVE["ExistingFlowLogBucket"],
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield {"glue": glue, "s3": s3}


def glue_table(aws: dict[str, Any], stack: Stack, resource: str) -> dict[str, Any]:
    """The table as Glue stores it after CloudFormation's CreateTable with the resolved input."""
    assert stack.creates(resource)
    # the stack's own bucket is a resource, unresolved here: the name CloudFormation gives it
    table_input = json.loads(json.dumps(stack.resolve(props(resource))["TableInput"]).replace("${Bucket}", OWN_BUCKET))
    glue = aws["glue"]
    if not glue.get_databases()["DatabaseList"]:
        glue.create_database(DatabaseInput={"Name": "flowdigest"})
    glue.create_table(DatabaseName="flowdigest", TableInput=table_input)
    stored: dict[str, Any] = glue.get_table(DatabaseName="flowdigest", Name=table_input["Name"])["Table"]
    return stored


# -- the projection covers the listed accounts and Regions ------------------------------------


@pytest.mark.parametrize("given", [ORG, {**ORG, **ARCHIVE}], ids=["own-bucket", "log-archive"])
def test_one_days_partitions_are_every_listed_account_and_region(aws: dict[str, Any], given: dict[str, str]) -> None:
    stack = Stack(**given)
    table = glue_table(aws, stack, "FlowLogsTable")
    assert [k["Name"] for k in table["PartitionKeys"]] == [*fields.SOURCE_PARTITION_COLUMNS, *fields.PARTITION_COLUMNS]
    bucket, prefix = ("org-log-archive", "vpc/") if given.get("ExistingFlowLogBucket") else (OWN_BUCKET, "flowlogs/")
    expected = documented_day("hive-hourly", f"s3://{bucket}/{prefix}", ACCOUNTS, REGIONS, DAY)
    assert projected_day(table, DAY) == expected
    assert len(expected) == len(ACCOUNTS) * len(REGIONS) * 24  # that day's partitions, no other
    assert all(loc.startswith(table["StorageDescriptor"]["Location"]) for loc in expected)


@pytest.mark.parametrize("layout", ["hive-hourly", "dated-daily"])
def test_the_text_table_projects_the_accounts_and_regions_in_both_layouts(aws: dict[str, Any], layout: str) -> None:
    stack = Stack(**ORG, **ARCHIVE, ExistingFlowLogFileFormat="plain-text", ExistingFlowLogLayout=layout)
    table = glue_table(aws, stack, "FlowLogsTextTable")
    assert projected_day(table, DAY) == documented_day(layout, "s3://org-log-archive/vpc/", ACCOUNTS, REGIONS, DAY)


@pytest.mark.parametrize("given", [{}, ARCHIVE, {**ARCHIVE, "ExistingFlowLogAccountId": "210987654321"}])
def test_defaults_are_this_account_and_region(aws: dict[str, Any], given: dict[str, str]) -> None:
    stack = Stack(**given)
    account = given.get("ExistingFlowLogAccountId", stack.params["AWS::AccountId"])
    params = glue_table(aws, stack, "FlowLogsTable")["Parameters"]
    assert (params["projection.aws_account_id.values"], params["projection.aws_region.values"]) == \
        (account, stack.params["AWS::Region"])
    s = stack.query_settings()
    assert (s.source_accounts, s.source_regions) == ((account,), (stack.params["AWS::Region"],))


# -- the query function reads the same folders -------------------------------------------------


def _parquet(columns: list[str], rows: int) -> bytes:
    table = pa.table({c: pa.array([None] * rows, type=fields.BY_COLUMN[c].type) for c in columns})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def test_the_engine_lists_the_projected_folders_and_no_others(aws: dict[str, Any]) -> None:
    stack = Stack(**ORG, **ARCHIVE)
    engine = AthenaEngine(stack.query_settings(), s3_client=aws["s3"])
    listed = {f"s3://org-log-archive/{p}" for p in engine.day_prefixes(DAY)}
    hive_days = {loc.rsplit("hour=", 1)[0] for loc in projected_day(glue_table(aws, stack, "FlowLogsTable"), DAY)}
    assert listed == hive_days
    # Files in the documented places: two hours of each listed account and Region; the last
    # account's flow log carries reject-reason (it appears in no hour's first file). Another
    # day, an unlisted account and an unlisted Region are not read.
    v5 = [fields.BY_NAME[n].column for n in fields.V5_FORMAT]
    s3, written = aws["s3"], 0
    for account, region, hour in itertools.product(ACCOUNTS, REGIONS, (3, 17)):
        columns = [*v5, "reject_reason"] if account == ACCOUNTS[-1] else v5
        folder = HIVE_HOURLY.format(prefix="vpc/", account=account, region=region, year="2026", month="03",
                                    day="07", hour=f"{hour:02d}")
        s3.put_object(Bucket="org-log-archive", Key=folder + f"{account}_vpcflowlogs_{region}_fl-1_x.log.parquet",
                      Body=_parquet(columns, 2))
        written += 1
    for account, region, day in (("999999999999", "eu-west-1", "07"), (ACCOUNTS[0], "ap-south-1", "07"),
                                 (ACCOUNTS[0], "eu-west-1", "08")):
        folder = HIVE_HOURLY.format(prefix="vpc/", account=account, region=region, year="2026", month="03",
                                    day=day, hour="05")
        s3.put_object(Bucket="org-log-archive", Key=folder + "other.log.parquet", Body=_parquet(v5, 1))
    info = engine.open_day(DAY)
    assert info.files == written == len(ACCOUNTS) * len(REGIONS) * 2
    assert info.hours_present == {3, 17}
    assert info.columns == {*v5, "reject_reason"}


def test_a_filtered_run_lists_reads_and_stores_only_its_own(aws: dict[str, Any]) -> None:
    stack = Stack(**ORG, **ARCHIVE)
    engine = AthenaEngine(stack.query_settings(), s3_client=aws["s3"])
    scope = Scope.parse(account=ACCOUNTS[1], region="us-east-1")
    engine.set_scope(scope)
    assert {f"s3://org-log-archive/{p}" for p in engine.day_prefixes(DAY)} == \
        {p.rsplit("hour=", 1)[0] for p in documented_day("hive-hourly", "s3://org-log-archive/vpc/",
                                                         ACCOUNTS[1:2], ("us-east-1",), DAY)}
    # the partition columns in the rollup's WHERE: Athena's projection prunes the others
    sql = queries.render("daily_rollup", DAY, flow_logs=engine.flow_logs_table, scope=engine.scope)
    assert f"AND aws_account_id IN ('{ACCOUNTS[1]}') AND aws_region IN ('us-east-1')" in sql
    # its rollups go where daily_rollup_scoped's projection reads them, and only there
    scoped = glue_table(aws, stack, "DailyRollupScopedTable")
    whole = glue_table(aws, stack, "DailyRollupTable")
    assert scoped["StorageDescriptor"]["Columns"] == whole["StorageDescriptor"]["Columns"]
    assert [k["Name"] for k in scoped["PartitionKeys"]] == ["scope", "dt", "rollup_set"]
    assert scoped["Parameters"]["projection.scope.type"] == "injected"
    location = (scoped["Parameters"]["storage.location.template"].replace("${scope}", scope.rollup_key())
                .replace("${dt}", DAY.isoformat()).replace("${rollup_set}", "flows"))
    assert location.endswith(f"/{engine.rollup_prefix}dt={DAY}/rollup_set=flows/")
    assert engine.rollup_prefix == f"rollup/{scope.rollup_key()}/"
    assert engine.rollup_table == f"(SELECT * FROM daily_rollup_scoped WHERE scope = '{scope.rollup_key()}')"
    engine.set_scope(Scope())
    assert (engine.rollup_prefix, engine.rollup_table) == ("rollup/", "daily_rollup")


def test_source_lists_are_validated_with_one_line() -> None:
    env = {"FLOWDIGEST_ENGINE": "duckdb", "FLOWDIGEST_SOURCE": "/tmp/x"}
    spaced = QuerySettings.from_env({**env, "FLOWDIGEST_SOURCE_ACCOUNTS": " 111122223333,444455556666 "})
    assert spaced.source_accounts == ("111122223333", "444455556666")
    with pytest.raises(SettingsError, match=r"FLOWDIGEST_SOURCE_ACCOUNTS: .*not an account ID: 12345$"):
        QuerySettings.from_env({**env, "FLOWDIGEST_SOURCE_ACCOUNTS": "111122223333,12345"})
    with pytest.raises(SettingsError, match="not an AWS Region: Europe"):
        QuerySettings.from_env({**env, "FLOWDIGEST_SOURCE_REGIONS": "eu-west-1,Europe"})
    # the template's own patterns say the same
    for name, good, bad in (("FlowLogAccountIds", ",".join(ACCOUNTS), "111122223333, 444455556666"),
                            ("FlowLogRegions", "eu-west-1,us-gov-west-1,ap-southeast-2", "eu-west-1,")):
        pattern = TEMPLATE["Parameters"][name]["AllowedPattern"]
        assert re.fullmatch(pattern, good) and re.fullmatch(pattern, "") and not re.fullmatch(pattern, bad)


# -- cross-account delivery ----------------------------------------------------------------------


def test_bucket_policy_lets_each_listed_accounts_log_delivery_write() -> None:
    stack = Stack(**ORG)
    policy = stack.resolve(props("FlowLogBucketPolicy"))["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in policy}
    arns = [f"arn:*:logs:*:{a}:*" for a in ACCOUNTS]
    write, check = by_sid["FlowLogDeliveryWrite"], by_sid["FlowLogDeliveryCheck"]
    # AWS's documented statements (flow-logs-s3-permissions), one source account and ARN per account
    assert write["Principal"] == check["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert (write["Action"], sorted(check["Action"])) == ("s3:PutObject", ["s3:GetBucketAcl", "s3:ListBucket"])
    assert write["Condition"] == {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                                   "aws:SourceAccount": list(ACCOUNTS)},
                                  "ArnLike": {"aws:SourceArn": arns}}
    assert check["Condition"] == {"StringEquals": {"aws:SourceAccount": list(ACCOUNTS)},
                                  "ArnLike": {"aws:SourceArn": arns}}
    # the VPC and Transit Gateway prefixes, Hive keys included (AWSLogs/aws-account-id=<account>/...)
    assert write["Resource"] == [f"${{FlowLogBucket.Arn}}/{p}/AWSLogs/*" for p in ("flowlogs", "tgw-flowlogs")]
    single = {s["Sid"]: s for s in Stack().resolve(props("FlowLogBucketPolicy"))["PolicyDocument"]["Statement"]}
    assert single["FlowLogDeliveryWrite"]["Condition"]["StringEquals"]["aws:SourceAccount"] == ["444455556666"]


def test_an_sse_kms_archive_key_is_usable_through_s3_only() -> None:
    key = "arn:aws:kms:eu-west-1:210987654321:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    assert re.fullmatch(TEMPLATE["Parameters"]["ExistingFlowLogKmsKeyArn"]["AllowedPattern"], key)
    role = Stack(**ARCHIVE, ExistingFlowLogKmsKeyArn=key).resolve(props("QueryFunctionRole"))
    decrypt = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if "kms" in str(s["Action"])]
    assert decrypt == [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key,
                        "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}}]
    plain = Stack(**ARCHIVE).resolve(props("QueryFunctionRole"))
    assert "kms:" not in str(plain["Policies"])


# -- Transit Gateway flow logs ---------------------------------------------------------------------


def test_tgw_flow_log_writes_hourly_hive_parquet_with_every_v6_field() -> None:
    stack = Stack(TransitGatewayId="tgw-0123456789abcdef0")
    assert stack.creates("TgwFlowLogToS3") and stack.creates("TgwFlowLogsTable")
    p = stack.resolve(props("TgwFlowLogToS3"))
    assert (p["ResourceType"], p["ResourceId"]) == ("TransitGateway", "tgw-0123456789abcdef0")
    assert p["LogDestinationType"] == "s3"
    assert "TrafficType" not in p  # not a Transit Gateway flow log property
    assert p["DestinationOptions"] == {"FileFormat": "parquet", "HiveCompatiblePartitions": True,
                                       "PerHourPartition": True}
    assert p["LogDestination"] == "${FlowLogBucket.Arn}/tgw-flowlogs/"
    assert re.findall(r"\$\{([a-z0-9-]+)\}", p["LogFormat"]) == list(fields.TGW_FORMAT)
    assert all(n in fields.BY_NAME for n in fields.TGW_FORMAT)
    assert TEMPLATE["Resources"]["TgwFlowLogToS3"]["DependsOn"] == "FlowLogBucketPolicy"
    # an existing bucket creates no flow log; the table follows ExistingTgwFlowLogPrefix
    archive = Stack(**ARCHIVE, TransitGatewayId="tgw-0123456789abcdef0")
    assert not archive.creates("TgwFlowLogToS3") and not archive.creates("TgwFlowLogsTable")
    assert Stack(**ARCHIVE, ExistingTgwFlowLogPrefix="tgw/").creates("TgwFlowLogsTable")


def RESOURCE_DEPENDS(name: str) -> Any:
    return TEMPLATE["Resources"][name].get("DependsOn")


@pytest.mark.parametrize("given", [{"TransitGatewayId": "tgw-0123456789abcdef0", **ORG},
                                   {**ARCHIVE, "ExistingTgwFlowLogPrefix": "tgw/", **ORG}],
                         ids=["own-bucket", "log-archive"])
def test_tgw_table_reads_the_tgw_prefix_only(aws: dict[str, Any], given: dict[str, str]) -> None:
    stack = Stack(**given)
    table = glue_table(aws, stack, "TgwFlowLogsTable")
    assert table["Name"] == "tgw_flow_logs"
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    glue = {"INT": "int", "BIGINT": "bigint"}
    tgw = [fields.BY_NAME[n] for n in fields.TGW_FORMAT]
    assert columns == [(f.column, glue.get(f.sql_type, "string")) for f in tgw]
    archive = bool(given.get("ExistingFlowLogBucket"))
    bucket, prefix = ("org-log-archive", "tgw/") if archive else (OWN_BUCKET, "tgw-flowlogs/")
    base = f"s3://{bucket}/{prefix}"
    assert projected_day(table, DAY) == documented_day("hive-hourly", base, ACCOUNTS, REGIONS, DAY)
    # ... and the VPC table's locations never reach into it (its records would count twice)
    aws["glue"].delete_table(DatabaseName="flowdigest", Name="tgw_flow_logs")
    vpc = projected_day(glue_table(aws, stack, "FlowLogsTable"), DAY)
    assert not any(loc.startswith(base) for loc in vpc)
    role = stack.resolve(props("QueryFunctionRole"))
    gets = [s["Resource"] for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]
            if s["Action"] == "s3:GetObject"]
    bucket_arn = "arn:aws:s3:::" + (bucket if bucket != OWN_BUCKET else "${Bucket}")
    assert f"{bucket_arn}/{prefix}AWSLogs/*" in gets
    # the query function lists the same prefix (FLOWDIGEST_TGW_SOURCE), and sql/tgw_rollup.sql
    # reads only the table's columns
    env = stack.resolve(props("QueryFunction"))["Environment"]["Variables"]
    assert stack.resolve(env["FLOWDIGEST_TGW_SOURCE"]) == f"s3://{bucket if archive else '${Bucket}'}/{prefix}"
    (scan,) = table_scans(queries.render("tgw_rollup", DAY), [DAY])
    assert scan.table == "tgw_flow_logs" and scan.columns <= {name for name, _ in columns}
    assert stack.resolve(Stack(**ORG).resolve(props("QueryFunction"))["Environment"]["Variables"]
                         ["FLOWDIGEST_TGW_SOURCE"]) == ""


def test_tgw_prefix_must_differ_from_the_vpc_prefix() -> None:
    rule = TEMPLATE["Rules"]["TgwPrefixIsItsOwn"]
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ExistingTgwFlowLogPrefix"}, {"Ref": "ExistingFlowLogPrefix"}]}]}


# -- filters in the state machine's input ------------------------------------------------------------


def test_prepare_event_takes_the_filters_and_names_a_bad_one() -> None:
    event = parse_query({"step": "prepare", "account": ACCOUNTS[0], "region": "eu-west-1",
                         "vpc": "vpc-0123456789abcdef0", "report_date": None, "scheduled_time": None})
    assert isinstance(event, PrepareEvent)
    assert event.filters().as_dict() == {"account": [ACCOUNTS[0]], "region": ["eu-west-1"],
                                         "vpc": ["vpc-0123456789abcdef0"]}
    listed = parse_query({"step": "prepare", "account": list(ACCOUNTS[:2]), "region": "eu-west-1,us-east-1"})
    assert listed.filters().as_dict() == {"account": list(ACCOUNTS[:2]), "region": ["eu-west-1", "us-east-1"]}
    assert not parse_query({"step": "prepare", "account": None, "region": None, "vpc": None}).filters()
    with pytest.raises(InvalidEvent, match=r"^invalid query step event: prepare.account: Value error, "
                                           r"account '1234' is not valid \(an account ID is 12 digits\)$"):
        parse_query({"step": "prepare", "account": "1234"})


def test_the_cross_account_recipe_uses_the_stacks_own_format() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    fmt = re.search(r"^FORMAT='([^']+)'$", doc, re.M)
    assert fmt and fmt.group(1).split() == TEMPLATE["Mappings"]["FlowLog"]["Format"]["Fields"].split()
    assert "FileFormat=parquet,HiveCompatiblePartitions=true,PerHourPartition=true" in doc
