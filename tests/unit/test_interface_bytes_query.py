"""sql/interface_bytes.sql (the inventory step's one query) and the NAT rule made from it."""

from __future__ import annotations

import datetime as dt

from flowdigest import naming
from flowdigest.insights.testing import run
from flowdigest.inventory import NameIndex, Snapshot
from flowdigest.inventory.models import Interface, NatAddress, NatGateway


def _rec(eni: str, nbytes: int, *, translated: bool = False, instance: str | None = None,
         action: str = "ACCEPT", status: str = "OK") -> dict:
    return {"interface_id": eni, "srcaddr": "10.0.1.5", "dstaddr": "10.0.0.9", "pkt_srcaddr": "10.0.1.5",
            "pkt_dstaddr": "52.1.1.1" if translated else "10.0.0.9", "bytes": nbytes, "packets": 1,
            "action": action, "log_status": status, "instance_id": instance}


def test_bytes_per_interface_and_whether_its_records_make_it_a_nat_gateway() -> None:
    rows = run("interface_bytes", record_rows=[
        _rec("eni-nat", 100, translated=True), _rec("eni-nat", 50),
        _rec("eni-node", 70, translated=True, instance="i-node"),  # an EKS node: its records carry the instance
        _rec("eni-rej", 9, translated=True, action="REJECT"),  # a rejected record is no NAT traffic
        _rec("eni-idle", 0, status="NODATA"),
    ])
    assert rows == [
        {"interface_id": "eni-idle", "bytes": 0, "nat_by_records": False},
        {"interface_id": "eni-nat", "bytes": 150, "nat_by_records": True},
        {"interface_id": "eni-node", "bytes": 70, "nat_by_records": False},
        {"interface_id": "eni-rej", "bytes": 9, "nat_by_records": False},
    ]


def test_the_nat_rule_follows_the_inventory_where_it_knows_the_interface() -> None:
    snap = Snapshot(kinds=["NetworkInterfaces", "NatGateways"], interfaces=[
        Interface(id="eni-node", instance_id="i-node", private_ips=["10.0.1.7"]),
        Interface(id="eni-quiet", interface_type="nat_gateway", private_ips=["10.0.0.9", "10.0.0.10"])],
        nat_gateways=[NatGateway(id="nat-1", addresses=[NatAddress(interface_id="eni-other", private_ip="10.0.3.9")])])
    rows = [{"interface_id": "eni-node", "bytes": 1, "nat_by_records": True},  # the inventory: an instance
            {"interface_id": "eni-quiet", "bytes": 1, "nat_by_records": False},  # the inventory: a NAT gateway
            {"interface_id": "eni-other", "bytes": 1, "nat_by_records": False},  # from NatGateways alone
            {"interface_id": "eni-gone", "bytes": 1, "nat_by_records": True},  # unknown: the records decide
            {"interface_id": "eni-app", "bytes": 1, "nat_by_records": False}]
    assert naming.nat_rule(NameIndex(snap), rows) == (
        ["eni-gone", "eni-other", "eni-quiet"], ["10.0.0.10", "10.0.0.9", "10.0.3.9"])
    out = naming.survey(dt.date(2026, 11, 20), snap, "k", rows)
    assert (out.nat_interfaces, out.nat_addresses) == (["eni-gone", "eni-other", "eni-quiet"],
                                                      ["10.0.0.10", "10.0.0.9", "10.0.3.9"])
    # a snapshot with neither interfaces nor NAT gateways cannot tell: the records decide
    assert naming.nat_rule(NameIndex(Snapshot(kinds=["Subnets"])), rows) is None
    assert naming.survey(dt.date(2026, 11, 20), Snapshot.unavailable("names unavailable: denied"), None,
                         rows).nat_interfaces is None
