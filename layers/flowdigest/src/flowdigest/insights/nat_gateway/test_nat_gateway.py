"""nat_gateway's query, from raw records through the rollup: one NAT gateway (private
address 10.0.0.9) carries 10.0.1.5's traffic to 52.1.1.1 and the answer back."""

from __future__ import annotations

from flowdigest.insights.testing import Row, run
from flowdigest.queries import NatRule


def _record(eni: str, src: str, dst: str, nbytes: int, pkt_src: str | None = None,
            pkt_dst: str | None = None, instance: str | None = None) -> dict:
    return {"interface_id": eni, "srcaddr": src, "dstaddr": dst, "pkt_srcaddr": pkt_src or src,
            "pkt_dstaddr": pkt_dst or dst, "bytes": nbytes, "packets": 1, "action": "ACCEPT",
            "instance_id": instance}


def test_processed_bytes_senders_and_destinations() -> None:
    rows = run("nat_gateway", record_rows=[
        _record("eni-nat", "10.0.1.5", "10.0.0.9", 100, pkt_dst="52.1.1.1"),  # private leg out
        _record("eni-nat", "10.0.0.9", "52.1.1.1", 100),  # public leg out
        _record("eni-nat", "52.1.1.1", "10.0.0.9", 50),  # public leg back
        _record("eni-nat", "10.0.0.9", "10.0.1.5", 50, pkt_src="52.1.1.1"),  # private leg back
        _record("eni-app", "10.0.1.5", "10.0.2.2", 999),  # not on the NAT gateway
    ])
    assert rows == [
        {"kind": "total", "address": None, "service": None, "bytes": 150, "flows": 2},  # the public leg
        # what 10.0.1.5 sent: the private leg's reply repeats the public leg's inbound bytes
        {"kind": "sender", "address": "10.0.1.5", "service": None, "bytes": 100, "flows": 1},
        {"kind": "destination", "address": "52.1.1.1", "service": None, "bytes": 150, "flows": 2},
    ]


def test_no_nat_gateway_still_gives_a_zero_total() -> None:
    rows = run("nat_gateway", record_rows=[_record("eni-app", "10.0.1.5", "10.0.2.2", 10)])
    assert rows == [{"kind": "total", "address": None, "service": None, "bytes": 0, "flows": 0}]


NAT_LEGS: list[Row] = [
    _record("eni-nat", "10.0.1.5", "10.0.0.9", 100, pkt_dst="52.1.1.1"),
    _record("eni-nat", "10.0.0.9", "52.1.1.1", 100),
    _record("eni-nat", "52.1.1.1", "10.0.0.9", 50),
    _record("eni-nat", "10.0.0.9", "10.0.1.5", 50, pkt_src="52.1.1.1"),
]


def test_an_eks_node_is_not_a_nat_gateway() -> None:
    # Node 10.0.1.7 (instance i-node) runs pod 10.0.1.77: its records name the node, its packets
    # the pod, as a NAT gateway's private leg does; the instance id tells them apart. Its
    # other traffic (to 52.2.2.2) would otherwise count as a NAT public leg.
    eks = [
        _record("eni-node", "10.0.1.7", "10.0.2.2", 700, pkt_src="10.0.1.77", instance="i-node"),
        _record("eni-node", "10.0.2.2", "10.0.1.7", 300, pkt_dst="10.0.1.77", instance="i-node"),
        _record("eni-node", "10.0.1.7", "52.2.2.2", 40, instance="i-node"),
    ]
    assert run("nat_gateway", record_rows=[*NAT_LEGS, *eks]) == run("nat_gateway", record_rows=NAT_LEGS)
    # the same node without instance ids (a format without instance-id) cannot be told apart
    blind: list[Row] = [{**r, "instance_id": None} for r in eks]
    rows = run("nat_gateway", record_rows=[*NAT_LEGS, *blind])
    assert rows[0] == {"kind": "total", "address": None, "service": None, "bytes": 190, "flows": 3}


def test_a_dash_instance_id_is_no_instance_id() -> None:
    # AWS may write a missing instance-id as '-' in Parquet: it is NULL, the NAT gateway still counts
    dashed: list[Row] = [{**r, "instance_id": "-"} for r in NAT_LEGS]
    assert run("nat_gateway", record_rows=dashed) == run("nat_gateway", record_rows=NAT_LEGS)


def test_with_an_inventory_its_nat_gateways_are_the_nat_gateways() -> None:
    eks_blind = [  # an EKS node's translated records without instance ids: the records' rule takes it for NAT
        _record("eni-node", "10.0.1.7", "10.0.2.2", 700, pkt_src="10.0.1.77"),
        _record("eni-node", "10.0.2.2", "10.0.1.7", 300, pkt_dst="10.0.1.77"),
        _record("eni-node", "10.0.1.7", "52.2.2.2", 40),
    ]
    inventory = NatRule(("eni-nat",), ("10.0.0.9",))  # the inventory: eni-node is an instance's
    assert run("nat_gateway", record_rows=[*NAT_LEGS, *eks_blind], nat=inventory) == run(
        "nat_gateway", record_rows=NAT_LEGS)
    # the inventory's NAT gateway counts with no translated record: its private address comes from it
    public_leg = [r for r in NAT_LEGS if r["pkt_srcaddr"] == r["srcaddr"] and r["pkt_dstaddr"] == r["dstaddr"]]
    assert run("nat_gateway", record_rows=public_leg) == [
        {"kind": "total", "address": None, "service": None, "bytes": 0, "flows": 0}]
    assert run("nat_gateway", record_rows=public_leg, nat=inventory) == [
        {"kind": "total", "address": None, "service": None, "bytes": 150, "flows": 2},
        {"kind": "destination", "address": "52.1.1.1", "service": None, "bytes": 150, "flows": 2},
    ]
    # an inventory without a NAT gateway: nothing is NAT, translated or not
    assert run("nat_gateway", record_rows=NAT_LEGS, nat=NatRule(()))[0]["bytes"] == 0
    # ids are quoted as literals, whatever they hold
    assert run("nat_gateway", record_rows=NAT_LEGS, nat=NatRule(("eni-nat", "x') OR (true",)))[0]["bytes"] == 150
