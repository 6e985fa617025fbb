"""The sample generator's inventory: the six CLI-shaped files that match its days' records."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from flowdigest import sample
from flowdigest.inventory import KINDS, NameIndex, Routes, coverage, read_dir
from flowdigest.inventory.sample_inventory import write_inventory

SEED = 5
DAY = dt.date(2024, 5, 14)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("sample")
    files = sample.generate_day(root / "logs", DAY, records=20_000, seed=SEED,
                                profile=sample.DayProfile(files_per_hour=1))
    records = pa.concat_tables([pq.read_table(f, columns=["interface_id", "flow_direction", "srcaddr", "dstaddr",
                                                             "bytes"]) for f in files])
    write_inventory(sample.network(SEED), root / "logs", root / "inventory")
    yield {"root": root, "records": records, "net": sample.network(SEED)}


def _json(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in folder.glob("*.json"):
        out.update(json.loads(p.read_text()))
    return out


def test_writes_the_six_outputs_in_the_cli_shape(day: dict[str, Any]) -> None:
    data = _json(day["root"] / "inventory")
    assert sorted(data) == sorted(KINDS)
    snap = read_dir(day["root"] / "inventory")
    assert snap.gaps == [] and snap.kinds == list(KINDS)
    net = day["net"]
    expect = {*net.private_instance_enis, *net.public_instance_enis, *net.alb_enis, net.nat_eni}
    assert {e.id for e in snap.interfaces} == expect


def test_every_vpc_address_of_the_day_has_its_interfaces_name(day: dict[str, Any]) -> None:
    """Independently of the inventory code: an interface's egress source addresses are its own
    (the NAT gateway's egress also carries forwarded ones: only its VPC address counts)."""
    rec, net = day["records"], day["net"]
    egress = rec.filter(pc.equal(rec["flow_direction"], "egress"))
    pairs = egress.group_by(["interface_id", "srcaddr"]).aggregate([]).to_pylist()
    vpc = ipaddress.ip_network("10.0.0.0/16")
    index = NameIndex(read_dir(day["root"] / "inventory"))
    checked = 0
    for p in pairs:
        addr = ipaddress.ip_address(p["srcaddr"])
        if p["interface_id"] == net.nat_eni and addr != ipaddress.ip_address(net.nat_ip):
            continue
        entry = index.entry(p["srcaddr"])
        assert entry["interface_id"] == p["interface_id"], p
        assert entry["type"] in ("instance", "nat_gateway", "load_balancer") and entry["name"]
        checked += addr in vpc or addr.version == 6
    assert checked >= len(net.private_instance_enis)
    assert index.entry(net.nat_ip)["name"] == "egress-nat"
    assert {index.entry(e)["name"] for e in net.alb_enis} == {"web-alb"}
    assert index.entry(net.alb_enis[0])["type"] == "load_balancer"


def test_routes_follow_the_generator(day: dict[str, Any], tmp_path: Path) -> None:
    net = day["net"]
    routes = Routes(read_dir(day["root"] / "inventory"))
    private = {sid: az for sid, (_, az, public) in net.subnets.items() if not public}
    # with NAT traffic, only the endpoint AZ's private subnet routes S3 to the gateway endpoint
    assert {sid: routes.has_gateway_endpoint(sid, "s3") for sid in private} == {
        sid: az == net.endpoint_az for sid, az in private.items()}
    assert [(n.name, n.az_id) for n in routes.nat_gateways()] == [("egress-nat", net.nat_az)]
    write_inventory(net, day["root"] / "logs", tmp_path / "none", gateway_endpoint=False, nat_traffic=False)
    bare = Routes(read_dir(tmp_path / "none"))
    assert bare.nat_gateways() == [] and bare.gateway_endpoints(net.vpc_id) == {}
    assert all(bare.has_gateway_endpoint(sid, "s3") is False for sid in private)


def test_an_interface_deleted_before_the_snapshot(day: dict[str, Any], tmp_path: Path) -> None:
    """Its address is in the flow logs but not in the snapshot: it stays an address (unknown),
    and the bytes it carried count as unnamed."""
    net, rec = day["net"], day["records"]
    inv = tmp_path / "inventory"
    inv.mkdir()
    data = _json(day["root"] / "inventory")
    gone = net.private_instance_enis[0]
    gone_rec = next(e for e in data["NetworkInterfaces"] if e["NetworkInterfaceId"] == gone)
    gone_ip, gone_instance = gone_rec["PrivateIpAddress"], gone_rec["Attachment"]["InstanceId"]
    data["NetworkInterfaces"] = [e for e in data["NetworkInterfaces"] if e["NetworkInterfaceId"] != gone]
    data["Reservations"] = [r for r in data["Reservations"] if r["Instances"][0]["InstanceId"] != gone_instance]
    for kind in KINDS:
        (inv / f"{kind}.json").write_text(json.dumps({kind: data[kind]}))
    index = NameIndex(read_dir(inv))
    assert index.entry(gone_ip) == {"name": None, "type": "unknown", "interface_id": None, "instance_id": None,
                                    "subnet_id": None, "vpc_id": None, "az_id": None}
    assert index.entry(gone)["type"] == "unknown" and index.entry(gone)["interface_id"] == gone

    # coverage by source address, against a share computed from the JSON files directly
    by_src = rec.group_by("srcaddr").aggregate([("bytes", "sum")]).to_pylist()
    bytes_by_addr = {r["srcaddr"]: r["bytes_sum"] for r in by_src if r["srcaddr"] and r["bytes_sum"] is not None}
    known = {a["PrivateIpAddress"] for e in data["NetworkInterfaces"] for a in e["PrivateIpAddresses"]}
    known |= {a["Ipv6Address"] for e in data["NetworkInterfaces"] for a in e["Ipv6Addresses"]}
    expect = sum(b for a, b in bytes_by_addr.items() if a in known) / sum(bytes_by_addr.values())
    cov = coverage(index, bytes_by_addr, set(rec["interface_id"].to_pylist()))
    assert cov.named_share == pytest.approx(expect)
    assert 0 < expect < 1 and bytes_by_addr.get(gone_ip, 0) > 0
    assert cov.silent_interfaces == []  # every interface of the snapshot wrote records today


def test_a_day_without_nat_records_flags_the_nat_gateway(day: dict[str, Any], tmp_path: Path) -> None:
    files = sample.generate_day(tmp_path, DAY, records=3_000, seed=SEED,
                                profile=sample.DayProfile(nat_traffic=False, files_per_hour=1))
    logged = set(pa.concat_tables([pq.read_table(f, columns=["interface_id"]) for f in files])
                 ["interface_id"].to_pylist())
    net = day["net"]
    assert net.nat_eni not in logged
    cov = coverage(NameIndex(read_dir(day["root"] / "inventory")), {}, logged)
    assert net.nat_eni in cov.silent_interfaces and cov.silent_nat_interfaces == [net.nat_eni]
    assert any(line.startswith(f"NAT gateway egress-nat ({net.nat_eni})") and "NAT figures are incomplete" in line
               for line in cov.lines)
