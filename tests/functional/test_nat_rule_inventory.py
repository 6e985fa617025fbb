"""With an inventory, its InterfaceType says which interfaces are NAT gateways' (issue 13);
without one, the records do. Over the sample day rewritten two ways, checked against the
oracle given the NAT gateway the inventory's describe outputs name."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import REPORT_DAY, load_report, run_report
from oracle import gateway_endpoint as oracle_gateway_endpoint
from oracle import nat_gateway, read_day

from flowdigest import s3layout, sample
from flowdigest.inventory import read_dir

SEED = 7  # conftest's sample_root
INSIGHTS = ["nat_gateway", "gateway_endpoint"]


@pytest.fixture(scope="module")
def inventory_dir(sample_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flowdigest.inventory.sample_inventory import write_inventory

    folder = tmp_path_factory.mktemp("inventory")
    write_inventory(sample.network(SEED), sample_root, folder)
    return folder


def nat_of(folder: Path) -> tuple[set[str], set[str]]:
    """The NAT gateway interfaces and their private addresses, from the describe outputs alone."""
    nats = json.loads((folder / "nat-gateways.json").read_text())["NatGateways"]
    return ({a["NetworkInterfaceId"] for n in nats for a in n["NatGatewayAddresses"]},
            {a["PrivateIp"] for n in nats for a in n["NatGatewayAddresses"]})


def rewritten(sample_root: Path, out: Path, change: Callable[[pa.Table], pa.Table]) -> Path:
    """The report day's files of the sample, each rewritten by `change`, in the same layout."""
    for f in sorted(sample_root.glob(f"**/{s3layout.day_partitions(REPORT_DAY)}/hour=*/*.parquet")):
        target = out / f.relative_to(sample_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(change(pq.read_table(f)), target)
    return out


def figures(report: dict[str, Any]) -> tuple[tuple, dict]:
    rows = report["insights"]["nat_gateway"]["rows"]
    nat = (next(r["bytes"] for r in rows if r["kind"] == "total"),
           [(r["address"], r["bytes"]) for r in rows if r["kind"] == "sender"],
           [(r["address"], r["bytes"]) for r in rows if r["kind"] == "destination"])
    ge = {(r["service"], r["path"], r["direction"]): r["bytes"] for r in report["insights"]["gateway_endpoint"]["rows"]}
    return nat, ge


def test_an_eks_node_without_instance_ids_is_not_a_nat_gateway_by_the_inventory(
        sample_root: Path, inventory_dir: Path, tmp_path: Path) -> None:
    # a format without instance-id: the EKS node's translated records look like a NAT gateway's
    root = rewritten(sample_root, tmp_path / "logs", lambda t: t.drop_columns(["instance_id"]))
    records = read_day(root, REPORT_DAY)
    net = sample.network(SEED)
    nat, private = nat_of(inventory_dir)
    assert nat == {net.nat_eni}
    plain = figures(load_report(run_report(root, REPORT_DAY, tmp_path / "plain", charts=False, insights=INSIGHTS)))
    assert plain == (nat_gateway(records), oracle_gateway_endpoint(records))  # the records' rule: node and NAT
    assert plain[0] != nat_gateway(records, nat, private)
    named = figures(load_report(run_report(root, REPORT_DAY, tmp_path / "named", charts=False, insights=INSIGHTS,
                                           inventory=read_dir(inventory_dir))))
    assert named == (nat_gateway(records, nat, private), oracle_gateway_endpoint(records, nat))
    assert named[0][0] > 0


def test_the_inventorys_nat_gateway_counts_without_a_translated_record(
        sample_root: Path, inventory_dir: Path, tmp_path: Path) -> None:
    net = sample.network(SEED)

    def public_leg_only(t: pa.Table) -> pa.Table:  # the NAT gateway's translated records left out
        translated = pc.or_(pc.not_equal(t["pkt_srcaddr"], t["srcaddr"]), pc.not_equal(t["pkt_dstaddr"], t["dstaddr"]))
        on_nat = pc.equal(t["interface_id"], net.nat_eni)
        return t.filter(pc.invert(pc.fill_null(pc.and_(on_nat, translated), False)))

    root = rewritten(sample_root, tmp_path / "logs", public_leg_only)
    records = read_day(root, REPORT_DAY)
    nat, private = nat_of(inventory_dir)
    plain = figures(load_report(run_report(root, REPORT_DAY, tmp_path / "plain", charts=False, insights=INSIGHTS)))
    assert plain[0] == nat_gateway(records) and plain[0][0] == 0  # no translated record: no NAT gateway
    named = figures(load_report(run_report(root, REPORT_DAY, tmp_path / "named", charts=False, insights=INSIGHTS,
                                           inventory=read_dir(inventory_dir))))
    expected = nat_gateway(records, nat, private)
    assert named == (expected, oracle_gateway_endpoint(records, nat))
    assert expected[0] > 0 and expected[2] and not expected[1]  # processed bytes and destinations; no sender
    assert not {a for a, _ in expected[2]} & private  # its own address is no destination
