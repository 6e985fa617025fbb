"""Every insight's numbers, on generated days, against the independent oracle."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import oracle
import pytest
from conftest import REPORT_DAY, load_report, run_report

from flowdigest import sample
from flowdigest.units import human_bytes, human_count


@pytest.fixture(scope="module")
def records(sample_root: Path) -> list[dict[str, Any]]:
    return oracle.read_day(sample_root, REPORT_DAY)


def rows(report: dict[str, Any], insight: str) -> list[dict[str, Any]]:
    entry = report["insights"][insight]
    assert entry["status"] == "ok", entry.get("reason")
    return entry["rows"]


def test_totals(sample_report: dict, records: list) -> None:
    assert sample_report["report_date"] == REPORT_DAY.isoformat()
    assert sample_report["totals"] == oracle.totals(records)
    assert sample_report["totals"]["rejected_flows"] > 0
    assert sample_report["totals"]["nodata_records"] > 0


def test_totals_do_not_depend_on_the_insights_run(sample_root: Path, records: list, tmp_path: Path) -> None:
    # the headline insight is not asked for: the totals still come from the day's rollup
    report = load_report(run_report(sample_root, REPORT_DAY, tmp_path / "out", charts=False, insights=["top_talkers"]))
    assert list(report["insights"]) == ["top_talkers"]
    assert report["totals"] == oracle.totals(records)
    assert report["comparison"] is None
    message = json.loads((tmp_path / "out" / REPORT_DAY.isoformat() / "message.json").read_text())
    assert message["text"].endswith(f"{human_count(len(oracle.ok(records)))} flows, "
                                    f"{human_bytes(oracle.totals(records)['bytes'])}")


def test_comparison_with_previous_days(sample_report: dict, sample_root: Path, records: list) -> None:
    previous = oracle.totals(oracle.read_day(sample_root, REPORT_DAY - dt.timedelta(days=1)))
    comp = sample_report["comparison"]
    assert comp["history_days"] == 7
    assert comp["previous_day"]["bytes"]["value"] == previous["bytes"]
    today = oracle.totals(records)["bytes"]
    expected_pct = (today - previous["bytes"]) / previous["bytes"] * 100
    assert comp["previous_day"]["bytes"]["change_pct"] == pytest.approx(expected_pct)
    week = sorted(oracle.totals(oracle.read_day(sample_root, REPORT_DAY - dt.timedelta(days=k)))["flows"]
                  for k in range(1, 8))
    assert comp["median_7d"]["flows"]["value"] == week[3]


def test_top_talkers(sample_report: dict, records: list) -> None:
    got = [(r["srcaddr"], r["dstaddr"], r["bytes"]) for r in rows(sample_report, "top_talkers")]
    assert got == oracle.top_talkers(records)
    assert all(r["interface_id"].startswith("eni-") for r in rows(sample_report, "top_talkers"))


def test_rejected(sample_report: dict, records: list) -> None:
    sources, ports = oracle.rejected(records)
    got = rows(sample_report, "rejected")
    assert [(r["value"], r["flows"], r["bytes"], r["distinct_count"]) for r in got if r["kind"] == "source"] == sources
    assert [(r["value"], r["protocol"], r["flows"], r["bytes"], r["distinct_count"])
            for r in got if r["kind"] == "port"] == ports


def test_gateway_endpoint(sample_report: dict, records: list) -> None:
    got = {(r["service"], r["path"], r["direction"]): r["bytes"] for r in rows(sample_report, "gateway_endpoint")}
    expected = oracle.gateway_endpoint(records)
    assert got == expected
    paths = {p for _, p, _ in got}
    assert {"nat", "gateway_endpoint"} <= paths  # the sample day has both, as designed
    assert {s for s, _, _ in got} == {"S3", "DYNAMODB"}


def test_nat_gateway(sample_report: dict, records: list) -> None:
    total, senders, dests = oracle.nat_gateway(records)
    got = rows(sample_report, "nat_gateway")
    assert [r["bytes"] for r in got if r["kind"] == "total"] == [total]
    assert total > 0
    assert [(r["address"], r["bytes"]) for r in got if r["kind"] == "sender"] == senders
    assert [(r["address"], r["bytes"]) for r in got if r["kind"] == "destination"] == dests


def test_eks_node_is_not_a_nat_gateway(sample_report: dict, records: list) -> None:
    """The EKS node's pods' packet addresses differ from its records' (as a NAT gateway's do),
    but its records carry an instance id: it is not a NAT gateway, and the figures show it."""
    net = sample.network(seed=7)
    good = [r for r in oracle.ok(records) if r["action"] == "ACCEPT"]
    on_node = [r for r in good if r["interface_id"] == net.eks_node_eni]
    assert any(r["pkt_srcaddr"] != r["srcaddr"] for r in on_node)
    assert any(r["pkt_dstaddr"] != r["dstaddr"] for r in on_node)
    assert all(r["instance_id"] for r in on_node)
    assert oracle.nat_interfaces(good) == {net.nat_eni}
    pods = {r["pkt_srcaddr"] for r in on_node if r["pkt_srcaddr"] != r["srcaddr"]}
    nat_rows = rows(sample_report, "nat_gateway")
    assert not pods & {r["address"] for r in nat_rows}
    # Without instance ids (a format without instance-id) the node would count as a NAT
    # gateway: both figures would change. The report's are the ones with the node left out.
    blind = [{**r, "instance_id": None} for r in records]
    assert oracle.nat_interfaces([{**r, "instance_id": None} for r in good]) == {net.nat_eni, net.eks_node_eni}
    assert oracle.nat_gateway(blind)[0] != oracle.nat_gateway(records)[0] == nat_rows[0]["bytes"]
    ge = {(r["service"], r["path"], r["direction"]): r["bytes"] for r in rows(sample_report, "gateway_endpoint")}
    assert oracle.gateway_endpoint(blind) != oracle.gateway_endpoint(records) == ge


def test_traffic_by_hour(sample_report: dict, records: list) -> None:
    got = {r["hour"]: (r["ingress_bytes"], r["egress_bytes"], r["unknown_bytes"])
           for r in rows(sample_report, "traffic_by_hour")}
    assert got == oracle.traffic_by_hour(records)


def test_ports_protocols(sample_report: dict, records: list) -> None:
    got = [(r["protocol"], r["dstport"], r["bytes"]) for r in rows(sample_report, "ports_protocols")]
    assert got == oracle.ports_protocols(records)


def test_new_talkers(sample_report: dict, sample_root: Path, records: list) -> None:
    history = [r for k in range(1, 8) for r in oracle.read_day(sample_root, REPORT_DAY - dt.timedelta(days=k))]
    got = [(r["srcaddr"], r["dstaddr"], r["bytes"]) for r in rows(sample_report, "new_talkers")]
    assert got == oracle.new_talkers(records, history)
    assert got, "the generator puts new pairs on the last day"


def test_data_health(sample_report: dict, records: list) -> None:
    got = {(r["hour"], r["log_status"]): r["records"] for r in rows(sample_report, "data_health")}
    assert got == oracle.data_health(records)
    assert sample_report["data_health"]["hours_missing"] == []


# -- edge-case days -----------------------------------------------------------------------

def _single_day(tmp_path: Path, profile: sample.DayProfile) -> tuple[dict, list]:
    root = tmp_path / "logs"
    sample.generate_day(root, REPORT_DAY, records=5_000, seed=3, profile=profile)
    report = load_report(run_report(root, REPORT_DAY, tmp_path / "out", charts=False))
    return report, oracle.read_day(root, REPORT_DAY)


def test_day_without_rejections(tmp_path: Path) -> None:
    report, records = _single_day(tmp_path, sample.DayProfile(rejects=False))
    assert report["totals"]["rejected_flows"] == 0 == oracle.totals(records)["rejected_flows"]
    assert rows(report, "rejected") == []
    assert report["insights"]["rejected"]["summary"] == "Nothing was rejected."
    assert report["insights"]["new_talkers"]["status"] == "skipped"  # no history at all
    assert "no earlier day" in report["insights"]["new_talkers"]["reason"]
    assert report["comparison"]["previous_day"] is None


def test_day_without_nat_traffic(tmp_path: Path) -> None:
    report, records = _single_day(tmp_path, sample.DayProfile(nat_traffic=False))
    got = rows(report, "nat_gateway")
    assert [r["bytes"] for r in got if r["kind"] == "total"] == [0]
    assert oracle.nat_gateway(records)[0] == 0
    assert report["insights"]["nat_gateway"]["summary"] == "No traffic through a NAT gateway."
    ge = {(r["service"], r["path"], r["direction"]): r["bytes"] for r in rows(report, "gateway_endpoint")}
    assert ge == oracle.gateway_endpoint(records)
    assert all(path != "nat" for _, path, _ in ge)


def test_day_with_missing_hours(tmp_path: Path) -> None:
    report, records = _single_day(tmp_path, sample.DayProfile(missing_hours=(3, 4, 5, 17)))
    assert report["data_health"]["hours_missing"] == [3, 4, 5, 17]
    assert "hours 03–05, 17 missing" in report["insights"]["data_health"]["summary"]
    assert report["totals"] == oracle.totals(records)


def test_day_without_files(tmp_path: Path) -> None:
    # the source holds flow logs, but none for the report day
    sample.generate_day(tmp_path / "logs", REPORT_DAY - dt.timedelta(days=9), records=500, seed=1)
    report = load_report(run_report(tmp_path / "logs", REPORT_DAY, tmp_path / "out", charts=False))
    assert report["totals"]["flows"] == 0
    reasons = {e["reason"] for e in report["insights"].values()}
    assert reasons == {f"no flow logs were delivered for {REPORT_DAY}"}


def test_nat_seen_only_from_the_instances(tmp_path: Path) -> None:
    """Flow logs on the instances' subnets only: traffic_path 1 to S3 is the NAT gateway's."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    src, root = tmp_path / "full", tmp_path / "logs"
    sample.generate_day(src, REPORT_DAY, records=5_000, seed=3)
    nat_eni = sample.network(seed=3).nat_eni
    for f in src.rglob("*.parquet"):
        table = pq.read_table(f)
        dest = root / f.relative_to(src)
        dest.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.filter(pc.not_equal(table["interface_id"], nat_eni)), dest, compression="gzip")
    report = load_report(run_report(root, REPORT_DAY, tmp_path / "out", charts=False))
    records = oracle.read_day(root, REPORT_DAY)
    got = {(r["service"], r["path"], r["direction"]): r["bytes"] for r in rows(report, "gateway_endpoint")}
    assert got == oracle.gateway_endpoint(records)
    via_instances = sum(r["bytes"] for r in records if r["log_status"] == "OK" and r["action"] == "ACCEPT"
                        and r["pkt_dst_aws_service"] == "S3" and r["traffic_path"] == 1)
    assert via_instances > 0 and got[("S3", "nat", "to_service")] == via_instances
    assert rows(report, "nat_gateway")[0]["bytes"] == 0  # no NAT interface logged: nothing to count there
