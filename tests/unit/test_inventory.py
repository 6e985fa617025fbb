"""The inventory over the AWS CLI's own describe outputs (tests/fixtures/inventory/README.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flowdigest import cli
from flowdigest.inventory import InventoryError, NameIndex, Routes, Snapshot, coverage, read_dir

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory" / "account"


@pytest.fixture(scope="module")
def index() -> NameIndex:
    return NameIndex(read_dir(FIXTURES))


def label(index: NameIndex, key: str) -> tuple[str | None, str]:
    e = index.entry(key)
    return e["name"], str(e["type"])


@pytest.mark.parametrize(("key", "name", "typ"), [
    # EC2 instance: its Name tag (from Reservations), else its id
    ("eni-e5aa89a3", "checkout-api", "instance"),
    ("eni-f9ba99bf", "i-0598c7d356eba48d7", "instance"),
    ("eni-0aa1bb2cc3dd4ee5f", "ip-10-0-1-99.ec2.internal", "instance"),  # only in DescribeInstances
    # NAT gateway: Name tag from NatGateways, else its id (from NatGateways or the Description)
    ("eni-0a6b3c2d1e0f9a8b7", "egress-nat-c", "nat_gateway"),
    ("eni-0b7c6d5e4f3a2b1c0", "nat-0f1e2d3c4b5a69788", "nat_gateway"),
    ("eni-9dec76cd", "nat-05dba92075d71c408", "nat_gateway"),  # only in NatGateways
    # Lambda: InterfaceType lambda, or only the Description; function names hold hyphens
    ("eni-0c1d2e3f4a5b6c7d8", "order-events-handler", "lambda"),
    ("eni-0d2e3f4a5b6c7d8e9", "nightly-report", "lambda"),
    # load balancers by the name in "ELB app/<name>/…" and "ELB net/<name>/…"
    ("eni-0e3f4a5b6c7d8e9f0", "checkout-alb", "load_balancer"),
    ("eni-0f4a5b6c7d8e9f0a1", "orders-nlb", "load_balancer"),
    # VPC interface endpoints: id and service, by InterfaceType vpc_endpoint or the older interface
    ("eni-2ec2b084", "vpce-0f89a33420c1931d7 (elasticloadbalancing)", "vpc_endpoint"),
    ("eni-06f7a8b9c0d1e2f3a", "vpce-0d8ddce4be80e4474 (ssm)", "vpc_endpoint"),
    ("eni-01a2b3c4d5e6f7a8b", "orders-db", "rds"),
    ("eni-02b3c4d5e6f7a8b9c", "RDS eni-02b3c4d5e6f7a8b9c", "rds"),
    ("eni-03c4d5e6f7a8b9c0d", "cart", "ecs_task"),
    ("eni-05e6f7a8b9c0d1e2f", "tgw-attach-0b5c7d9e1f3a5b7c9", "transit_gateway"),
    ("eni-08b9c0d1e2f3a4b5c", "vpn-appliance", "interface"),
    ("eni-07a8b9c0d1e2f3a4b", "interface eni-07a8b9c0d1e2f3a4b", "interface"),
])
def test_label_rules(index: NameIndex, key: str, name: str, typ: str) -> None:
    assert label(index, key) == (name, typ)


def test_every_address_of_an_interface_maps_to_it(index: NameIndex) -> None:
    names = index.names_for(["10.0.1.17", "10.0.1.18", "2600:1f18:abc:8300::17", "203.0.113.12"])
    assert {e["interface_id"] for e in names.values()} == {"eni-e5aa89a3"}  # primary, secondary, IPv6, EIP
    assert names["10.0.1.17"] == {"name": "checkout-api", "type": "instance", "interface_id": "eni-e5aa89a3",
                                  "instance_id": "i-1234567890abcdef0", "subnet_id": "subnet-b61f49f0",
                                  "vpc_id": "vpc-a01106c2", "az_id": "use1-az6"}
    # the flow log's spelling of an IPv6 address need not be the inventory's
    assert index.entry("2600:1f18:0abc:8300::0017")["name"] == "checkout-api"
    # a public IP is the interface's even where its private address is ambiguous (10.0.1.149)
    assert label(index, "198.51.100.0") == ("i-0598c7d356eba48d7", "instance")
    # NAT gateway: its addresses from NatGateways, public and private
    assert label(index, "203.0.113.40") == ("egress-nat-c", "nat_gateway")
    assert label(index, "10.0.0.21") == ("egress-nat-c", "nat_gateway")
    assert index.entry("eni-0a6b3c2d1e0f9a8b7")["az_id"] == "use1-az4"


def test_unknown_addresses_stay_addresses(index: NameIndex) -> None:
    names = index.names_for(["10.0.9.9", "52.216.10.20", "3.5.0.9", "eni-0123456789abcdef0", "10.0.1.149", "-", ""],
                            service_tags={"52.216.10.20": "S3", "3.5.0.9": "-"})
    assert names["10.0.9.9"] == {"name": None, "type": "unknown", "interface_id": None, "instance_id": None,
                                 "subnet_id": None, "vpc_id": None, "az_id": None}
    assert (names["52.216.10.20"]["name"], names["52.216.10.20"]["type"]) == ("S3", "aws_service")
    assert names["3.5.0.9"]["type"] == "unknown"  # "-" is AWS's null, not a service
    assert "-" not in names and "" not in names  # nulls are not addresses
    # an interface deleted before the snapshot: its id stays, nothing is guessed
    assert names["eni-0123456789abcdef0"] == {**names["10.0.9.9"], "interface_id": "eni-0123456789abcdef0"}
    # two VPCs reuse 10.0.1.149 for different resources: not named rather than guessed
    assert names["10.0.1.149"]["type"] == "unknown"
    # a private address never takes a service tag
    assert index.entry("10.0.9.9", service="S3")["type"] == "unknown"


def test_grouping_keys_put_one_service_in_one_row(index: NameIndex) -> None:
    assert index.group_for("10.0.1.130") == index.group_for("10.0.1.131") == (
        "ecs_task", "cart", "aws:ecs:serviceName")
    assert index.group_for("10.0.1.17") == ("instance", "checkout-api-asg", "aws:autoscaling:groupName")
    assert index.group_for("eni-0aa1bb2cc3dd4ee5f") == ("instance", "general", "eks:nodegroup-name")
    assert index.group_for("eni-f9ba99bf") == ("instance", "i-0598c7d356eba48d7", None)
    assert index.group_for("10.0.9.9") != index.group_for("10.0.9.8")
    assert index.group_for("eni-0123456789abcdef0") == ("unknown", "eni-0123456789abcdef0", None)


def test_forty_tasks_of_one_service_are_one_row(tmp_path: Path) -> None:
    from flowdigest.naming import by_resource

    tasks = [{"NetworkInterfaceId": f"eni-0{k:016x}", "InterfaceType": "interface", "Status": "in-use",
              "Description": f"arn:aws:ecs:us-east-1:123456789012:attachment/{k:08x}-1111-2222-3333-444455556666",
              "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": f"10.0.3.{k + 10}"}],
              "TagSet": [{"Key": "aws:ecs:serviceName", "Value": "checkout"},
                         {"Key": "aws:ecs:clusterName", "Value": "prod"}]} for k in range(40)]
    db = {"NetworkInterfaceId": "eni-0db", "Description": "RDSNetworkInterface", "RequesterId": "amazon-rds",
          "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "10.0.4.5"}], "TagSet": []}
    (tmp_path / "enis.json").write_text(json.dumps({"NetworkInterfaces": [*tasks, db]}))
    day = {t["NetworkInterfaceId"]: 1000 + k for k, t in enumerate(tasks)} | {"eni-0db": 5000, "eni-0gone": 7}
    rows = by_resource(NameIndex(read_dir(tmp_path)), day)
    assert [(r.name, r.type, r.grouped_by, r.interfaces, r.bytes) for r in rows] == [
        ("checkout", "ecs_task", "aws:ecs:serviceName", 40, sum(range(1000, 1040))),
        ("RDS eni-0db", "rds", None, 1, 5000),
        ("eni-0gone", "unknown", None, 1, 7),  # deleted before the snapshot: its own row, never guessed
    ]
    assert rows[0].interface_ids[0] == tasks[39]["NetworkInterfaceId"]  # busiest first
    assert sorted(rows[0].interface_ids) == sorted(t["NetworkInterfaceId"] for t in tasks)


def test_routes_and_endpoints() -> None:
    routes = Routes(read_dir(FIXTURES))
    assert routes.route_table_for("subnet-b61f49f0").id == "rtb-3d560345"  # type: ignore[union-attr]
    assert routes.route_table_for("subnet-9d4a7b6c").id == "rtb-1f382e7d"  # type: ignore[union-attr]  # main
    assert routes.has_gateway_endpoint("subnet-b61f49f0", "dynamodb") is True
    assert routes.has_gateway_endpoint("subnet-b61f49f0", "s3") is False
    assert routes.has_gateway_endpoint("subnet-9d4a7b6c", "dynamodb") is False
    assert routes.has_gateway_endpoint("subnet-unknown", "s3") is None  # no VPC known for it
    assert [e.id for e in routes.gateway_endpoints("vpc-a01106c2")["dynamodb"]] == ["vpce-032a826a"]  # type: ignore[index]
    nat = {n.id: n for n in routes.nat_gateways()}
    assert (nat["nat-0c61bf8a12f7a3c10"].name, nat["nat-0c61bf8a12f7a3c10"].az_id) == ("egress-nat-c", "use1-az4")
    assert nat["nat-05dba92075d71c408"].name == "nat-05dba92075d71c408"


def test_each_output_is_optional(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "network-interfaces.json", tmp_path / "enis.json")
    snap = read_dir(tmp_path)
    index = NameIndex(snap)
    assert snap.kinds == ["NetworkInterfaces"] and len(snap.gaps) == 5
    assert label(index, "eni-e5aa89a3") == ("i-1234567890abcdef0", "instance")  # no Name tag without Reservations
    assert label(index, "eni-0a6b3c2d1e0f9a8b7") == ("nat-0c61bf8a12f7a3c10", "nat_gateway")  # from Description
    assert label(index, "eni-06f7a8b9c0d1e2f3a") == ("vpce-0d8ddce4be80e4474", "vpc_endpoint")
    assert index.entry("eni-e5aa89a3")["az_id"] is None
    assert index.entry("eni-0c1d2e3f4a5b6c7d8")["az_id"] == "use1-az6"  # the interface's own AvailabilityZoneId
    assert Routes(snap).has_gateway_endpoint("subnet-b61f49f0", "s3") is None  # unknown, not "no"
    assert Routes(snap).gateway_endpoints("vpc-a01106c2") is None


def test_snapshot_round_trips_as_json() -> None:
    snap = read_dir(FIXTURES)
    again = Snapshot.model_validate_json(snap.model_dump_json())
    assert again == snap
    assert NameIndex(again).entry("10.0.1.17") == NameIndex(snap).entry("10.0.1.17")


def test_coverage_and_silent_interfaces(index: NameIndex) -> None:
    day = {"10.0.1.17": 600, "10.0.1.130": 200, "52.216.10.20": 150, "10.0.9.9": 50}
    logged = ["eni-e5aa89a3", "eni-03c4d5e6f7a8b9c0d"]
    cov = coverage(index, day, logged, service_tags={"52.216.10.20": "S3"})
    assert (cov.total_bytes, cov.named_bytes) == (1000, 800)
    assert cov.named_share == pytest.approx(0.8)
    # silent: in-use interfaces of the logged VPC (vpc-a01106c2) with no record; not the unattached one
    vpc = {e for e, r in index.by_interface.items()
           if r.interface.vpc_id == "vpc-a01106c2" and r.interface.status != "available"}
    assert set(cov.silent_interfaces) == vpc - set(logged)
    assert "eni-07a8b9c0d1e2f3a4b" not in cov.silent_interfaces and "eni-2ec2b084" not in cov.silent_interfaces
    assert sorted(cov.silent_nat_interfaces) == ["eni-0a6b3c2d1e0f9a8b7", "eni-0b7c6d5e4f3a2b1c0"]
    assert any("NAT figures are incomplete" in line and "egress-nat-c" in line for line in cov.lines)
    assert coverage(index, {}, logged).named_share is None  # no bytes: unknown, not 0 %


def test_unavailable_snapshot_names_nothing() -> None:
    snap = Snapshot.unavailable("names unavailable: ec2:DescribeNetworkInterfaces denied")
    index = NameIndex(snap)
    assert index.entry("10.0.1.17")["type"] == "unknown"
    assert index.entry("52.216.10.20", service="S3")["type"] == "aws_service"
    cov = coverage(index, {"10.0.1.17": 5}, ["eni-e5aa89a3"])
    assert (cov.named_bytes, cov.named_share) == (None, None)
    assert cov.lines == ["names unavailable: ec2:DescribeNetworkInterfaces denied"]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file"),
    (b'{"NetworkInterfaces": [', "not valid JSON: Expecting value at line 1 column 24"),
    (b"[1, 2]", "expected a JSON object"),
    (b'{"Vpcs": []}', "not an aws ec2 describe-… output: top-level keys Vpcs"),
    (b'{"Subnets": {"SubnetId": "subnet-1"}}', "Subnets: expected a list, got an object"),
    (b'{"NetworkInterfaces": [{"Description": "x"}]}', "NetworkInterfaces[0]: no NetworkInterfaceId"),
    (b'{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "PrivateIpAddresses": "10.0.0.1"}]}',
     "NetworkInterfaces[0].PrivateIpAddresses: expected a list, got '10.0.0.1'"),
    (b'{"Reservations": [{"Instances": [{"InstanceId": "i-1", "Tags": [{"Value": "web"}]}]}]}',
     "Reservations[0].Instances[0].Tags[0]: no Key"),
    (b"\xff\xfe{\x00", "not valid JSON"),  # UTF-16 (PowerShell's redirect) is decoded, then judged
])
def test_a_malformed_file_is_one_line_naming_it(tmp_path: Path, content: bytes, message: str) -> None:
    shutil.copy(FIXTURES / "subnets.json", tmp_path / "a-good.json")
    bad = tmp_path / "b-bad.json"
    bad.write_bytes(content)
    with pytest.raises(InventoryError) as e:
        read_dir(tmp_path)
    text = str(e.value)
    assert text.startswith(f"{bad}: ") and message in text and "\n" not in text


def test_utf16_output_reads_like_utf8(tmp_path: Path) -> None:
    text = (FIXTURES / "nat-gateways.json").read_text()
    (tmp_path / "nat.json").write_bytes(text.encode("utf-16"))  # with its byte-order mark
    expect = [n["NatGatewayId"] for n in json.loads(text)["NatGateways"]]
    assert [n.id for n in read_dir(tmp_path).nat_gateways] == expect


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="no such folder"):
        read_dir(tmp_path / "missing")
    with pytest.raises(InventoryError, match=r"no \*\.json files"):
        read_dir(tmp_path)


def test_an_inventory_error_is_an_input_error() -> None:
    # The CLI ends a run on the sources' FlowLogError with one line and exit 3 (EXIT_INPUT);
    # an InventoryError is one, so `--inventory DIR` needs no handler of its own.
    from flowdigest.sources import FlowLogError

    assert issubclass(InventoryError, FlowLogError) and cli.EXIT_INPUT == 3


@pytest.mark.parametrize(("fields", "name", "typ"), [
    # the API's enum spells it natGateway; outputs show nat_gateway
    ({"InterfaceType": "natGateway", "Description": "Interface for NAT Gateway nat-0123abcd"}, "nat-0123abcd",
     "nat_gateway"),
    # the EC2 user guide's table also shows "VPC Endpoint Interface: vpce-…"
    ({"InterfaceType": "interface", "Description": "VPC Endpoint Interface: vpce-0f00567fa8477a1e6"},
     "vpce-0f00567fa8477a1e6", "vpc_endpoint"),
    ({"Description": "ELB my-classic-lb", "RequesterId": "amazon-elb"}, "my-classic-lb", "load_balancer"),
    ({"InterfaceType": "gateway_load_balancer", "Description": "ELB gwy/inspection/0a1b2c3d4e5f6071"},
     "inspection", "load_balancer"),
    ({"InterfaceType": "lambda", "Description": "something else"}, "Lambda eni-1", "lambda"),
    ({"InterfaceType": "transit_gateway", "Description": ""}, "Transit Gateway attachment eni-1", "transit_gateway"),
    ({"InterfaceType": "api_gateway_managed", "Description": "x"}, "interface eni-1", "interface"),
    ({"Attachment": {"InstanceId": "i-0abc"}}, "i-0abc", "instance"),  # instance not in Reservations
])
def test_label_edge_forms(tmp_path: Path, fields: dict[str, object], name: str, typ: str) -> None:
    (tmp_path / "enis.json").write_text(json.dumps({"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", **fields}]}))
    assert label(NameIndex(read_dir(tmp_path)), "eni-1") == (name, typ)
