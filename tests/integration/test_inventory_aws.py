"""The EC2 collector: moto's EC2 for the Describe calls, a Stubber for denied and throttled ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from flowdigest.inventory import NameIndex, Routes, Snapshot
from flowdigest.inventory.aws import CALLS, IAM_ACTIONS, PAGE_SIZE, client, collect

REGION = "us-east-1"
slow = pytest.mark.slow  # moto's EC2 backend takes ~8 s to load on first use


@pytest.fixture(scope="module")
def account() -> Iterator[dict[str, Any]]:
    """A VPC with two subnets, named instances (one with a secondary IP), a NAT gateway,
    an S3 gateway endpoint on one subnet's route table; collected once."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subs = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{k}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]
                for k, az in ((1, "a"), (2, "b"))]

        def instance(subnet: str, name: str | None) -> dict[str, Any]:
            tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}] if name else []
            return ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet,
                                     TagSpecifications=tags)["Instances"][0]

        web = instance(subs[0]["SubnetId"], "web-1")
        bare = instance(subs[1]["SubnetId"], None)
        web_eni = web["NetworkInterfaces"][0]["NetworkInterfaceId"]
        ec2.assign_private_ip_addresses(NetworkInterfaceId=web_eni, PrivateIpAddresses=["10.0.1.200"])
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=subs[0]["SubnetId"], AllocationId=eip, TagSpecifications=[
            {"ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": "egress-a"}]}])["NatGateway"]
        rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=rt, SubnetId=subs[0]["SubnetId"])
        vpce = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", RouteTableIds=[rt],
                                       VpcEndpointType="Gateway")["VpcEndpoint"]["VpcEndpointId"]
        yield {"snap": collect(ec2), "web": web, "bare": bare, "web_eni": web_eni, "nat": nat, "vpce": vpce,
               "subnets": subs, "vpc": vpc}


@slow
def test_collects_every_output(account: dict[str, Any]) -> None:
    snap: Snapshot = account["snap"]
    assert snap.available and snap.reason is None and snap.gaps == []
    assert snap.kinds == list(CALLS) and snap.source == "aws" and snap.collected_at
    assert Snapshot.model_validate_json(snap.model_dump_json()) == snap


@slow
def test_names_from_the_api(account: dict[str, Any]) -> None:
    index = NameIndex(account["snap"])
    web, bare, nat = account["web"], account["bare"], account["nat"]
    names = index.names_for([web["PrivateIpAddress"], "10.0.1.200", bare["PrivateIpAddress"],
                             nat["NatGatewayAddresses"][0]["PublicIp"], "10.0.3.3"])
    assert names[web["PrivateIpAddress"]] == names["10.0.1.200"]  # the secondary address too
    w = names[web["PrivateIpAddress"]]
    assert (w["name"], w["type"], w["instance_id"], w["interface_id"]) == (
        "web-1", "instance", web["InstanceId"], account["web_eni"])
    assert (w["subnet_id"], w["vpc_id"]) == (account["subnets"][0]["SubnetId"], account["vpc"])
    assert w["az_id"] == account["subnets"][0]["AvailabilityZoneId"]
    assert names[bare["PrivateIpAddress"]]["name"] == bare["InstanceId"]
    n = names[nat["NatGatewayAddresses"][0]["PublicIp"]]
    assert (n["name"], n["type"]) == ("egress-a", "nat_gateway")
    assert names["10.0.3.3"]["type"] == "unknown"


@slow
def test_routes_from_the_api(account: dict[str, Any]) -> None:
    routes = Routes(account["snap"])
    a, b = (s["SubnetId"] for s in account["subnets"])
    assert routes.has_gateway_endpoint(a, "s3") is True
    assert routes.has_gateway_endpoint(b, "s3") is False  # the main table: no endpoint route
    assert [e.id for e in routes.gateway_endpoints(account["vpc"])["s3"]] == [account["vpce"]]  # type: ignore[index]
    assert [n.name for n in routes.nat_gateways()] == ["egress-a"]


def _stubbed(errors: dict[str, str]) -> tuple[Any, Stubber]:
    """A client whose calls answer in CALLS order: an error code for the named operations,
    an empty page for the others."""
    ec2 = boto3.client("ec2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(ec2)
    for kind, (op, _) in CALLS.items():
        if op in errors:
            stub.add_client_error(op, service_error_code=errors[op], service_message="You are not authorized",
                                  http_status_code=403)
            if op == "describe_network_interfaces":
                break  # the collector stops at the first call it cannot do without
        else:
            stub.add_response(op, {kind: []}, {"MaxResults": PAGE_SIZE.get(op, 1000)})
    stub.activate()
    return ec2, stub


@pytest.mark.parametrize(("code", "says"), [
    ("UnauthorizedOperation", "names unavailable: ec2:DescribeNetworkInterfaces denied (UnauthorizedOperation)"),
    ("AccessDenied", "names unavailable: ec2:DescribeNetworkInterfaces denied (AccessDenied)"),
    ("RequestLimitExceeded", "names unavailable: ec2:DescribeNetworkInterfaces throttled (RequestLimitExceeded)"),
])
def test_denied_or_throttled_interfaces_degrade_without_raising(code: str, says: str) -> None:
    ec2, stub = _stubbed({"describe_network_interfaces": code})
    snap = collect(ec2)
    stub.assert_no_pending_responses()
    assert not snap.available and snap.reason is not None and snap.reason.startswith(says)
    assert NameIndex(snap).entry("10.0.1.5")["type"] == "unknown"


def test_an_optional_output_denied_is_a_gap_line() -> None:
    ec2, stub = _stubbed({"describe_instances": "UnauthorizedOperation", "describe_vpc_endpoints": "AccessDenied"})
    snap = collect(ec2)
    stub.assert_no_pending_responses()
    assert snap.available and "Reservations" not in snap.kinds and "VpcEndpoints" not in snap.kinds
    assert snap.gaps == [
        "no Reservations (aws ec2 describe-instances): ec2:DescribeInstances denied (UnauthorizedOperation): "
        "the role needs it",
        "no VpcEndpoints (aws ec2 describe-vpc-endpoints): ec2:DescribeVpcEndpoints denied (AccessDenied): "
        "the role needs it",
    ]


def test_reads_every_page() -> None:
    ec2 = boto3.client("ec2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(ec2)
    page = {"MaxResults": 1000}
    stub.add_response("describe_network_interfaces", {"NetworkInterfaces": [
        {"NetworkInterfaceId": "eni-1", "PrivateIpAddress": "10.0.0.1"}], "NextToken": "t1"}, page)
    stub.add_response("describe_network_interfaces", {"NetworkInterfaces": [
        {"NetworkInterfaceId": "eni-2", "PrivateIpAddress": "10.0.0.2"}]}, {**page, "NextToken": "t1"})
    for kind, (op, _) in list(CALLS.items())[1:]:
        stub.add_response(op, {kind: []}, {"MaxResults": PAGE_SIZE.get(op, 1000)})
    with stub:
        snap = collect(ec2)
    stub.assert_no_pending_responses()
    assert [e.id for e in snap.interfaces] == ["eni-1", "eni-2"]
    assert NameIndex(snap).entry("10.0.0.2")["name"] == "interface eni-2"


def test_client_retries_throttling_adaptively() -> None:
    c = client(REGION)
    assert c.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 8}
    assert IAM_ACTIONS == ("ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances", "ec2:DescribeSubnets",
                           "ec2:DescribeRouteTables", "ec2:DescribeVpcEndpoints", "ec2:DescribeNatGateways")
