"""gateway_endpoint's query, from raw records through the rollup: S3 / DynamoDB bytes by path."""

from __future__ import annotations

from flowdigest.insights.testing import Row, run
from flowdigest.queries import NatRule


def _egress(service: str, path: int | None, nbytes: int, direction: str | None = "egress") -> dict:
    return {"interface_id": "eni-app", "srcaddr": "10.0.1.5", "dstaddr": "52.216.1.1",
            "pkt_srcaddr": "10.0.1.5", "pkt_dstaddr": "52.216.1.1", "pkt_dst_aws_service": service,
            "traffic_path": path, "flow_direction": direction, "bytes": nbytes, "packets": 1, "action": "ACCEPT"}


def test_bytes_by_service_and_path() -> None:
    rows = run("gateway_endpoint", record_rows=[
        _egress("S3", 7, 1000),
        _egress("S3", 7, 24),
        _egress("S3", 8, 300),
        _egress("DYNAMODB", None, 200),
        _egress("S3", 7, 5000, direction="ingress"),  # ingress on the instance: not counted
        _egress("EC2", 8, 70),  # neither service
    ])
    assert rows == [
        {"service": "DYNAMODB", "path": "unknown", "direction": "to_service", "bytes": 200, "flows": 1},
        {"service": "S3", "path": "gateway_endpoint", "direction": "to_service", "bytes": 1024, "flows": 2},
        {"service": "S3", "path": "internet_gateway", "direction": "to_service", "bytes": 300, "flows": 1},
    ]


def test_an_eks_node_is_not_a_nat_gateway() -> None:
    # Pod 10.0.1.77 on node 10.0.1.5 (instance i-node): the packet address differs from the
    # record's, as on a NAT gateway, but the record has an instance id. So the node's S3
    # bytes keep their path, and the instance's traffic_path 1 still means a NAT gateway that
    # is not logged (no NAT gateway interface is).
    pod = {**_egress("EC2", 1, 10), "dstaddr": "10.0.2.2", "pkt_dstaddr": "10.0.2.2",
           "pkt_srcaddr": "10.0.1.77", "pkt_dst_aws_service": None}
    node: list[Row] = [{**r, "instance_id": "i-node"} for r in (pod, _egress("S3", 7, 1000), _egress("S3", 1, 64))]
    assert run("gateway_endpoint", record_rows=node) == [
        {"service": "S3", "path": "gateway_endpoint", "direction": "to_service", "bytes": 1000, "flows": 1},
        {"service": "S3", "path": "nat", "direction": "to_service", "bytes": 64, "flows": 1},
    ]


def test_with_an_inventory_its_nat_gateways_decide() -> None:
    # the same node in a format without instance-id: the records' rule takes it for a NAT gateway;
    # the inventory, which says it is an instance's and names no NAT gateway, does not
    pod = {**_egress("EC2", 1, 10), "dstaddr": "10.0.2.2", "pkt_dstaddr": "10.0.2.2",
           "pkt_srcaddr": "10.0.1.77", "pkt_dst_aws_service": None}
    blind: list[Row] = [pod, _egress("S3", 7, 1000), _egress("S3", 1, 64)]
    assert [r["path"] for r in run("gateway_endpoint", record_rows=blind)] == ["nat"]
    assert run("gateway_endpoint", record_rows=blind, nat=NatRule(())) == [
        {"service": "S3", "path": "gateway_endpoint", "direction": "to_service", "bytes": 1000, "flows": 1},
        {"service": "S3", "path": "nat", "direction": "to_service", "bytes": 64, "flows": 1},
    ]
    # an interface the inventory says is a NAT gateway's, with no translated record: its public leg counts
    nat_leg: Row = {**_egress("S3", None, 500), "interface_id": "eni-nat", "srcaddr": "10.0.0.9",
                    "pkt_srcaddr": "10.0.0.9"}
    assert run("gateway_endpoint", record_rows=[nat_leg, _egress("S3", 1, 64)], nat=NatRule(("eni-nat",))) == [
        {"service": "S3", "path": "nat", "direction": "to_service", "bytes": 500, "flows": 1},
    ]
