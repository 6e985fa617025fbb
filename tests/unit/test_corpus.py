"""Every file of the real-world sample corpus (see its README.md) is read as documented.

The corpus is copied verbatim into tests/corpus/ (its README says where each file came from).
Headerless files whose fields are not the v2 default get their documented field order as
`log_format` (the way a user passes the flow log's format string).
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from flowdigest import fields
from flowdigest.sources import FlowLogError, load_day, parse_text, read_text_file
from flowdigest.sources.parquet import read_footer

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

V5 = fields.V5_FORMAT
ECS = (*V5, "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
       "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
       "ecs-task-arn", "ecs-task-id")
V8 = (*ECS, "reject-reason")
TGW = fields.TGW_FORMAT

# file -> the format to give when it has no header (None: header or v2 default)
TEXT_FILES: dict[str, tuple[str, ...] | None] = {
    "elastic-integrations__test-extra-samples.log": None,
    "elastic-integrations__test-v5-all-fields.log": V5,
    "elastic-integrations__test-tcp-flag-sequence.log": None,
    "elastic-integrations__test-tgw-samples.log": TGW,
    "elastic-integrations__test-ecs-samples.log": ECS,
    "elastic-integrations__test-v8-samples.log": V8,
    "elastic-integrations__test-with-message-field.log": None,
    "grafana-vpc-flow-logs-analyzer__aws-test_flow_logs.log": None,
    "grafana-vpc-flow-logs-analyzer__aws-flow-logs-10.3.11.57-142.250.185.91.log": None,
}


def rows(name: str) -> list[dict[str, Any]]:
    table = read_text_file(CORPUS / name, log_format=TEXT_FILES[name])
    assert_aws_types(table)
    return table.to_pylist()


def assert_aws_types(table: pa.Table) -> None:
    for f in table.schema:
        assert f.type == fields.BY_COLUMN[f.name].type, f.name


def test_every_corpus_file_is_covered() -> None:
    listed = set(TEXT_FILES) | {"flowlogs-reader_flows.parquet",
                                "elastic-beats__processor-testdata__aws-vpc-flow-logs.yml"}
    present = {p.name for p in CORPUS.iterdir()} - {"README.md", "SHA256SUMS"}
    assert present == listed


@pytest.mark.parametrize("name", sorted(TEXT_FILES))
def test_text_file_parses_the_same_plain_and_gzipped(name: str, tmp_path: Path) -> None:
    gz = tmp_path / (name + ".gz")
    gz.write_bytes(gzip.compress((CORPUS / name).read_bytes()))
    plain = read_text_file(CORPUS / name, log_format=TEXT_FILES[name])
    assert plain.num_rows > 0
    assert read_text_file(gz, log_format=TEXT_FILES[name]).equals(plain)


def test_v2_default_without_header() -> None:
    r = rows("elastic-integrations__test-extra-samples.log")
    assert len(r) == 7
    assert r[0] == {
        "version": 2, "account_id": "123456789010", "interface_id": "eni-1235b8ca123456789",
        "srcaddr": "2001:db8:1234:a100:8d6e:3477:df66:f105",
        "dstaddr": "2001:db8:1234:a102:3304:8879:34cf:4071",
        "srcport": 34892, "dstport": 22, "protocol": 6, "packets": 54, "bytes": 8855,
        "start": 1477913708, "end": 1477913820, "action": "ACCEPT", "log_status": "OK",
    }
    nodata, skipdata = r[1], r[2]
    assert nodata["log_status"] == "NODATA" and skipdata["log_status"] == "SKIPDATA"
    for rec in (nodata, skipdata):
        for col in ("srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action"):
            assert rec[col] is None, col
        assert (rec["start"], rec["end"]) == (1431280876, 1431280934)
    assert skipdata["interface_id"] == "eni-11111111aaaaaaaaa"
    assert (r[4]["action"], r[4]["dstport"], r[4]["srcaddr"]) == ("REJECT", 3389, "78.24.182.42")
    icmp = r[5]
    assert (icmp["protocol"], icmp["srcport"], icmp["dstport"], icmp["bytes"]) == (1, 0, 0, 336)


def test_v5_all_fields_and_its_nine_digit_start() -> None:
    with pytest.raises(FlowLogError, match=r"test-v5-all-fields\.log: line 1: no header line, and 29 values"):
        read_text_file(CORPUS / "elastic-integrations__test-v5-all-fields.log")
    (r,) = rows("elastic-integrations__test-v5-all-fields.log")
    assert r["start"] == 164000066  # kept as written (1975), not "repaired"
    assert r["end"] == 1640000297
    assert (r["account_id"], r["srcaddr"], r["dstaddr"], r["srcport"], r["dstport"]) == (
        "64111117617", "89.160.20.156", "10.200.0.0", 50041, 33004)
    assert (r["packets"], r["bytes"], r["action"], r["tcp_flags"], r["type"]) == (52, 1, "REJECT", 1, "IPv4")
    assert (r["pkt_srcaddr"], r["pkt_dstaddr"]) == ("89.160.20.156", "10.200.0.80")
    assert (r["region"], r["az_id"], r["sublocation_type"], r["sublocation_id"]) == (
        "us-east-1", "use1-az5", None, None)
    assert (r["pkt_src_aws_service"], r["pkt_dst_aws_service"]) == ("AMAZON", "CLOUDFRONT")
    assert (r["flow_direction"], r["traffic_path"]) == ("ingress", 1)


def test_v5_nine_digit_start_decides_the_day_of_a_loose_file(tmp_path: Path) -> None:
    src = tmp_path / "loose"
    src.mkdir()
    shutil.copy(CORPUS / "elastic-integrations__test-v5-all-fields.log", src / "v5.log")
    fmt = " ".join(f"${{{n}}}" for n in V5)  # as the flow log's format string is written
    assert load_day(src, dt.date(2021, 12, 20), log_format=fmt).files == 0  # the end's day
    day = load_day(src, dt.date(1975, 3, 14), log_format=fmt)  # the start's day
    assert day.files == 1 and day.hours_present == {3} and day.layout == "loose"


def test_repeated_headers_and_bytes_before_packets() -> None:
    r = rows("elastic-integrations__test-tcp-flag-sequence.log")
    assert len(r) == 3  # the header lines between records are not records
    ok = r[0]
    assert (ok["vpc_id"], ok["subnet_id"], ok["instance_id"], ok["type"]) == (
        "vpc-abcdefab012345678", "subnet-aaaaaaaa012345678", "i-01234567890123456", "IPv4")
    assert (ok["srcaddr"], ok["dstaddr"], ok["srcport"], ok["dstport"]) == ("52.213.180.42", "10.0.0.62", 43416, 5001)
    assert (ok["bytes"], ok["packets"], ok["tcp_flags"], ok["action"]) == (568, 8, 2, "ACCEPT")
    assert [x["log_status"] for x in r] == ["OK", "SKIPDATA", "NODATA"]
    for rec in r[1:]:
        assert rec["srcaddr"] is None and rec["tcp_flags"] is None and rec["bytes"] is None
        assert rec["action"] is None and rec["type"] is None
        assert rec["start"] == 1566848875 and rec["interface_id"] == "eni-1235b8ca123456789"


def test_transit_gateway_v6_fields() -> None:
    with pytest.raises(FlowLogError, match="36 values"):
        read_text_file(CORPUS / "elastic-integrations__test-tgw-samples.log")
    r = rows("elastic-integrations__test-tgw-samples.log")
    assert len(r) == 10
    first = r[0]
    assert (first["version"], first["resource_type"], first["account_id"]) == (3, None, "748335378900")
    assert (first["tgw_id"], first["tgw_attachment_id"]) == ("tgw-0a12bc34de56f7890", "tgw-attach-0789ijkl")
    assert (first["tgw_src_vpc_id"], first["tgw_dst_vpc_id"]) == ("vpc-0jkl5678", "vpc-0ghi9012")
    assert first["tgw_src_eni"] == "eni-0cc3dd4ee5f66aa7b"
    assert (first["srcaddr"], first["dstaddr"], first["srcport"], first["dstport"]) == (
        "1.128.0.0", "2a02:cf40::", 39464, 22)
    assert (first["packets"], first["bytes"], first["log_status"]) == (49, 8947, "SKIPDATA")
    assert first["packets_lost_no_route"] is None and first["flow_direction"] == "ingress"
    assert [x["log_status"] for x in r].count("OK") == 3
    assert r[9]["srcaddr"] == "2a02:cf40::"


def test_ecs_v7_fields() -> None:
    r = rows("elastic-integrations__test-ecs-samples.log")
    assert len(r) == 10
    first = r[0]
    assert (first["srcaddr"], first["dstaddr"], first["dstport"], first["action"]) == (
        "1.128.0.0", "2a02:cf40::", 22, "REJECT")
    assert (first["flow_direction"], first["traffic_path"], first["vpc_id"]) == ("ingress", None, None)
    assert first["ecs_cluster_arn"] == "arn:aws:ecs:us-east-1:000000000000:cluster/frontend-cluster"
    assert (first["ecs_cluster_name"], first["ecs_service_name"], first["ecs_task_id"]) == (
        "frontend-cluster", "payments-service", "6adbd0d6-211")
    assert (first["ecs_container_id"], first["ecs_second_container_id"]) == ("574fc0af-908", "816bc224-160")
    assert first["ecs_task_definition_arn"] == "arn:aws:ecs:us-east-1:000000000000:task-definition/backend:3"
    # NODATA rows here still carry addresses (the README calls it unrealistic): kept as written
    assert (r[1]["log_status"], r[1]["srcaddr"], r[1]["bytes"]) == ("NODATA", "175.16.199.0", 1515)


def test_v8_reject_reason() -> None:
    (r,) = rows("elastic-integrations__test-v8-samples.log")
    assert (r["reject_reason"], r["action"], r["srcaddr"], r["dstport"]) == ("BPA", "REJECT", "2a02:cf40::", 80)
    assert r["ecs_service_name"] == "payments-service"


def test_json_message_wrapper() -> None:
    (r,) = rows("elastic-integrations__test-with-message-field.log")
    assert (r["account_id"], r["interface_id"], r["log_status"]) == ("428961148399", "eni-0e0bf7be352692297", "NODATA")
    assert r["srcaddr"] is None and r["bytes"] is None and r["start"] == 1671029698


def test_grafana_nat_gateway_view_with_aws_services() -> None:
    r = rows("grafana-vpc-flow-logs-analyzer__aws-test_flow_logs.log")
    assert len(r) == 6 and "traffic_path" not in r[0]
    assert (r[0]["pkt_dstaddr"], r[0]["pkt_dst_aws_service"], r[0]["pkt_src_aws_service"]) == (
        "3.75.6.195", "EC2", None)
    assert (r[2]["pkt_srcaddr"], r[2]["pkt_src_aws_service"]) == ("3.78.206.74", "AMAZON")
    s3 = r[4]  # S3 traffic leaving through the NAT gateway
    assert (s3["srcaddr"], s3["dstaddr"], s3["dstport"], s3["bytes"], s3["pkt_dst_aws_service"]) == (
        "10.63.37.34", "3.5.246.198", 443, 40672, "S3")
    assert [x["log_status"] for x in r] == ["OK", "NODATA", "OK", "SKIPDATA", "OK", "OK"]
    assert r[1]["srcaddr"] is None and r[1]["packets"] is None and r[1]["pkt_dst_aws_service"] is None


def test_grafana_long_conversation() -> None:
    r = rows("grafana-vpc-flow-logs-analyzer__aws-flow-logs-10.3.11.57-142.250.185.91.log")
    assert len(r) == 31
    assert sum(x["bytes"] for x in r) == 411973 and sum(x["packets"] for x in r) == 2343
    assert {(x["srcport"], x["dstport"]) for x in r} == {(443, 44160), (44160, 443)}
    from_nat = [x for x in r if x["srcaddr"] == "10.63.37.34"]
    assert from_nat and all(x["pkt_srcaddr"] == "142.250.185.91" for x in from_nat)
    assert min(x["start"] for x in r) == 1754322376  # unsorted in the file


def test_non_aws_parquet_is_refused_naming_columns_and_types() -> None:
    path = CORPUS / "flowlogs-reader_flows.parquet"
    with pytest.raises(FlowLogError) as e:
        read_footer(path)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(path) + ": not the Parquet schema AWS writes")
    for part in ("version is int64 (AWS writes int32)", "account_id is int64 (AWS writes string)",
                 "srcport is string (AWS writes int32)", "bytes is string (AWS writes int64)"):
        assert part in msg


def test_non_aws_parquet_in_a_day(tmp_path: Path) -> None:
    hour = (tmp_path / "AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=us-east-1"
            / "year=2015/month=08/day=12/hour=13")
    hour.mkdir(parents=True)
    shutil.copy(CORPUS / "flowlogs-reader_flows.parquet", hour / "flows.parquet")
    with pytest.raises(FlowLogError, match="srcport is string"):
        load_day(tmp_path, dt.date(2015, 8, 12))
    data = load_day(tmp_path, dt.date(2015, 8, 12), skip_bad=True)
    assert data.files == 0 and data.bad_files[0][0] == str(hour / "flows.parquet")
    assert data.bad_files[0][1].startswith("not the Parquet schema AWS writes")


# -- the elastic/beats YAML: each case's format as the header line of its samples ----------

BEATS = "elastic-beats__processor-testdata__aws-vpc-flow-logs.yml"


def beats_cases() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((CORPUS / BEATS).read_text())  # type: ignore[no-any-return]


def beats_rows(case: str) -> list[dict[str, Any]]:
    c = beats_cases()[case]
    table = parse_text(c["format"] + "\n" + "\n".join(c["samples"]) + "\n", f"{BEATS}:{case}")
    assert_aws_types(table)
    assert table.column_names == [fields.BY_NAME[n].column for n in c["format"].split()]
    assert table.num_rows == len(c["samples"])
    return table.to_pylist()


def test_beats_every_case_parses() -> None:
    cases = beats_cases()
    assert len(cases) == 14  # 5 plain cases, and v5, v6, v7 in three modes each
    for case in cases:
        beats_rows(case)


def test_beats_default_v2() -> None:
    r = beats_rows("default-v2-format")
    assert (r[0]["srcaddr"], r[0]["dstaddr"], r[0]["dstport"], r[0]["bytes"], r[0]["action"]) == (
        "172.31.16.139", "172.31.16.21", 22, 4249, "ACCEPT")
    assert (r[1]["action"], r[1]["dstport"]) == ("REJECT", 3389)
    assert r[2]["log_status"] == "NODATA" and r[2]["srcaddr"] is None and r[2]["packets"] is None
    assert r[6]["srcaddr"] == "2001:db8:1234:a100:8d6e:3477:df66:f105"


def test_beats_tcp_flags_and_doubled_space() -> None:
    r = beats_rows("tcp-flag-sequence")
    assert [x["tcp_flags"] for x in r] == [2, 18, 2, 18, 1, 1, 3, 19]
    assert (r[5]["bytes"], r[5]["packets"]) == (23294588, 15774)
    last = r[7]  # "43638  10.0.0.62": two spaces between fields
    assert (last["srcport"], last["dstport"], last["pkt_srcaddr"], last["bytes"]) == (5001, 43638, "10.0.0.62", 967)


def test_beats_nat_gateway_custom_format() -> None:
    r = beats_rows("custom-nat-gateway")
    assert [x["instance_id"] for x in r] == [None] * 4 + ["i-01234567890123456"] * 2
    assert (r[0]["srcaddr"], r[0]["dstaddr"], r[0]["pkt_srcaddr"], r[0]["pkt_dstaddr"]) == (
        "10.0.1.5", "10.0.0.220", "10.0.1.5", "203.0.113.5")
    assert r[3]["pkt_srcaddr"] == "203.0.113.5" and r[3]["srcaddr"] == "10.0.0.220"


def test_beats_transit_gateway_v3() -> None:
    r = beats_rows("transit-gateway")
    assert [x["tcp_flags"] for x in r] == [3, 19, 3, 19]
    assert r[2]["instance_id"] is None
    assert (r[2]["srcaddr"], r[2]["pkt_srcaddr"]) == ("10.40.1.175", "10.20.33.164")


def test_beats_traffic_path_to_s3() -> None:
    ingress, egress = beats_rows("service-name-path-direction")
    assert (ingress["pkt_src_aws_service"], ingress["traffic_path"], ingress["flow_direction"]) == (
        "S3", None, "ingress")
    assert (egress["pkt_dst_aws_service"], egress["traffic_path"], egress["flow_direction"]) == (
        "S3", 8, "egress")
    assert (egress["packets"], egress["bytes"], egress["az_id"], egress["tcp_flags"]) == (7, 471, "apse2-az3", 3)


def test_beats_v5_v6_v7() -> None:
    for case in ("v5-fields-original", "v5-fields-ecs", "v5-fields-ecs_and_original"):
        (v5,) = beats_rows(case)
        assert (v5["sublocation_type"], v5["sublocation_id"], v5["traffic_path"]) == ("wavelength", "fake-id", 1)
    (v6,) = beats_rows("v6-fields-original")
    assert (v6["resource_type"], v6["tgw_src_vpc_account_id"], v6["tgw_dst_vpc_account_id"]) == (
        "TransitGateway", "123456789123", "123456789123")  # doubled spaces around them
    assert v6["tgw_src_subnet_id"] == "subnet-3fbc536e360c36caб"  # the Cyrillic letter is kept
    assert (v6["packets_lost_no_route"], v6["packets_lost_blackhole"], v6["packets_lost_mtu_exceeded"]) == (1, 0, 2)
    assert (v6["tcp_flags"], v6["flow_direction"], v6["start"], v6["dstport"]) == (2, "egress", 1766848875, 53)
    (v7,) = beats_rows("v7-fields-original")
    assert (v7["ecs_cluster_name"], v7["ecs_service_name"], v7["ecs_second_container_id"]) == (
        "DEMOGO-ECS", "cats", None)
    assert v7["ecs_task_id"] == "b9ad2f8a90b24f7bbce4b0341034852f"


# -- corpus files delivered as AWS would: a day in the text layout ---------------------------

def test_grafana_files_as_an_aws_text_day(tmp_path: Path) -> None:
    day_dir = tmp_path / "AWSLogs/123456789012/vpcflowlogs/eu-central-1/2025/08/04"
    day_dir.mkdir(parents=True)
    names = {"grafana-vpc-flow-logs-analyzer__aws-test_flow_logs.log": "20250804T1535Z_0a1b2c3d",
             "grafana-vpc-flow-logs-analyzer__aws-flow-logs-10.3.11.57-142.250.185.91.log": "20250804T1605Z_4e5f6a7b"}
    for src, stamp in names.items():
        key = f"123456789012_vpcflowlogs_eu-central-1_fl-0123456789abcdef0_{stamp}.log.gz"
        (day_dir / key).write_bytes(gzip.compress((CORPUS / src).read_bytes()))
    data = load_day(tmp_path, dt.date(2025, 8, 4))
    assert data.files == 2 and data.layout == "dated" and not data.hive
    assert data.hours_present == {15, 16}  # from the keys' stamps
    assert sum(t.num_rows for t in data.text_tables) == 37
    assert "pkt_dst_aws_service" in data.columns and "traffic_path" not in data.columns
    assert load_day(tmp_path, dt.date(2025, 8, 5)).files == 0
