"""The findings' counting (insights/findings/query.sql, through the rollup) against the oracle, on
hand-made records per kind (the double-count traps among them) and on the full sample day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import oracle
import pytest
from conftest import REPORT_DAY

from flowdigest import queries
from flowdigest.findings.config import ADMIN_PORTS
from flowdigest.insights.testing import DAY, run

Rows = list[dict[str, Any]]


def rec(eni: str | None, src: str, dst: str, nbytes: int, **kw: Any) -> dict[str, Any]:
    """A raw record: every catalog column (None unless given), accepted, log-status OK."""
    r: dict[str, Any] = {c: None for c in queries.FLOW_LOGS_SCHEMA if c not in ("year", "month", "day", "hour")}
    r.update(interface_id=eni, srcaddr=src, dstaddr=dst, pkt_srcaddr=src, pkt_dstaddr=dst, bytes=nbytes,
             packets=1, action="ACCEPT", log_status="OK")
    r.update({{"psrc": "pkt_srcaddr", "pdst": "pkt_dstaddr", "dir": "flow_direction"}.get(k, k): v
              for k, v in kw.items()})
    return r


def sql_counts(rows: Rows) -> dict[str, dict[Any, dict[str, Any]]]:
    """The query's rows in the oracle's shape."""
    keys = {
        "gateway_endpoint_bypass": lambda r: (r["service"], r["resource_id"]),
        "nat_cross_az": lambda r: (r["resource_id"], r["az_id"], r["peer_id"], r["peer_az"]),
        "exposed_port": lambda r: (r["resource_id"], r["port"]),
    }
    figures = {
        "aws_service_via_nat": lambda r: {"bytes": r["bytes"], "azs": r["distinct_count"]},
        "internet_egress": lambda r: {"bytes": r["bytes"], "destinations": r["distinct_count"]},
        "exposed_port": lambda r: {"flows": r["flows"], "sources": r["distinct_count"]},
        "port_scan": lambda r: {"ports": r["distinct_count"], "addresses": r["distinct_other"],
                                "accepted": r["accepted"]},
    }
    out: dict[str, dict[Any, dict[str, Any]]] = {}
    for r in rows:
        kind = r["kind"]
        if kind == "cross_az_pair":
            continue
        key = keys.get(kind, lambda r: r["resource_id"])(r)
        out.setdefault(kind, {})[key] = figures.get(kind, lambda r: {"bytes": r["bytes"]})(r)
    return out


def check(records: list[dict[str, Any]], history: list[dict[str, Any]] | None = None) -> dict:
    got = sql_counts(run("findings", record_rows=records))
    want = oracle.findings(records, history or [])
    if history is None:  # testing.run holds one day: without history every destination is new
        want.pop("new_external_destination", None)
        got.pop("new_external_destination", None)
    assert got == want
    return got


NAT, APP, DB = "eni-nat", "eni-app", "eni-db"
NAT_IP, APP_IP, DB_IP = "10.0.0.9", "10.0.1.5", "10.0.2.7"


def nat_flow(service_ip: str, out_bytes: int, back_bytes: int, service: str | None) -> list[dict[str, Any]]:
    """APP (subnet-b, az2) to a public address through the NAT gateway (subnet-pub, az1): AWS's four NAT legs
    and the instance's own two records."""
    at_nat = {"az_id": "az1", "subnet_id": "subnet-pub", "vpc_id": "vpc-1"}
    at_app = {"az_id": "az2", "subnet_id": "subnet-b", "vpc_id": "vpc-1"}
    return [
        rec(NAT, APP_IP, NAT_IP, out_bytes, pdst=service_ip, pkt_dst_aws_service=service, dir="ingress", **at_nat),
        rec(NAT, NAT_IP, service_ip, out_bytes, pkt_dst_aws_service=service, dir="egress", **at_nat),
        rec(NAT, service_ip, NAT_IP, back_bytes, pkt_src_aws_service=service, dir="ingress", **at_nat),
        rec(NAT, NAT_IP, APP_IP, back_bytes, psrc=service_ip, pkt_src_aws_service=service, dir="egress", **at_nat),
        rec(APP, APP_IP, service_ip, out_bytes, pkt_dst_aws_service=service, dir="egress", traffic_path=1, **at_app),
        rec(APP, service_ip, APP_IP, back_bytes, pkt_src_aws_service=service, dir="ingress", **at_app),
    ]


def test_nat_private_leg_is_counted_once_both_directions() -> None:
    got = check([*nat_flow("52.216.1.1", 100, 900, "S3"), *nat_flow("3.5.1.1", 40, 60, "DYNAMODB"),
                 *nat_flow("54.239.1.1", 10, 20, "EC2"), *nat_flow("203.0.113.8", 7, 3, None)])
    # the public leg and the instance's records repeat these bytes: 100 + 900, not 2000 or 3000
    assert got["gateway_endpoint_bypass"] == {("S3", "subnet-b"): {"bytes": 1000},
                                              ("DYNAMODB", "subnet-b"): {"bytes": 100}}
    assert got["aws_service_via_nat"] == {"EC2": {"bytes": 30, "azs": 1}}
    assert got["nat_cross_az"] == {("subnet-b", "az2", NAT, "az1"): {"bytes": 1000 + 100 + 30 + 10}}
    # only the non-AWS-service destination is internet egress, from the instance, not again from the NAT
    assert got["internet_egress"] == {APP: {"bytes": 7, "destinations": 1}}
    assert "cross_az" not in got  # the NAT's private leg is nat_cross_az, not cross_az too


def test_cross_az_counts_the_senders_egress_only() -> None:
    a = {"az_id": "az1", "subnet_id": "subnet-a"}
    b = {"az_id": "az2", "subnet_id": "subnet-b"}
    records = [
        rec(APP, APP_IP, DB_IP, 500, dir="egress", **a),  # request, both interfaces record it
        rec(DB, APP_IP, DB_IP, 500, dir="ingress", **b),
        rec(DB, DB_IP, APP_IP, 80, dir="egress", **b),  # the response, both record it too
        rec(APP, DB_IP, APP_IP, 80, dir="ingress", **a),
        rec(APP, APP_IP, "10.0.1.6", 999, dir="egress", **a),  # same AZ (10.0.1.6 lives in az1)
        rec("eni-c", APP_IP, "10.0.1.6", 999, dir="ingress", **a),
        rec(APP, "fd00::5", "fd00::7", 64, dir="egress", **a),  # IPv6 between the AZs
        rec(DB, "fd00::5", "fd00::7", 64, dir="ingress", **b),
    ]
    got = check(records)
    assert got == {"cross_az": {"az1->az2": {"bytes": 500 + 80 + 64}}}


def test_internet_egress_ipv6_and_private_ranges() -> None:
    records = [
        rec(APP, APP_IP, "2600:1f18::1", 300, dir="egress"),  # public IPv6
        rec(APP, APP_IP, "8.8.8.8", 20, dir="egress"),
        rec(APP, APP_IP, "172.31.0.4", 999, dir="egress"),  # private
        rec(APP, APP_IP, "100.64.0.1", 999, dir="egress"),  # shared address space
        rec(APP, "fd00::5", "fe80::1", 999, dir="egress"),  # link-local
        rec(APP, APP_IP, "172.32.0.4", 5, dir="egress"),  # public: just outside 172.16/12
        rec(APP, APP_IP, "9.9.9.9", 999, dir="egress", traffic_path=4),  # over peering: not the internet
    ]
    got = check(records)
    assert got == {"internet_egress": {APP: {"bytes": 325, "destinations": 3}}}


def test_exposed_ports_and_scans() -> None:
    records = [
        rec(DB, "203.0.113.9", DB_IP, 5, dstport=22, dir="ingress"),
        rec(DB, "198.51.100.2", DB_IP, 5, dstport=22, dir="ingress"),
        rec(DB, "198.51.100.2", DB_IP, 5, dstport=22, dir="ingress"),
        rec(DB, "10.0.9.9", DB_IP, 5, dstport=5432, dir="ingress"),  # internal: not exposed
        rec(DB, "203.0.113.9", DB_IP, 5, dstport=443, dir="ingress"),  # the web port: not an admin port
        rec(DB, DB_IP, "203.0.113.9", 5, dstport=22, dir="egress"),  # outbound SSH: not exposure
        rec(DB, "52.1.1.1", DB_IP, 5, dstport=40000, dir="ingress"),  # a response, ephemeral port
        # a response on the NAT gateway's public leg, to the port it translated to (3306 by chance)
        rec(NAT, "52.1.1.1", NAT_IP, 5, dstport=3306, dir="ingress"),
        rec(NAT, APP_IP, NAT_IP, 5, pdst="52.1.1.1", dir="ingress"),  # (what makes it a NAT gateway)
        # a scanner on 12 ports, and one on 12 addresses that also reached the open SSH port
        *[rec(DB, "198.51.100.7", DB_IP, 1, dstport=p, dir="ingress", action="REJECT") for p in range(20, 32)],
        *[rec(None, "203.0.113.9", f"10.0.3.{i}", 1, dstport=23, action="REJECT") for i in range(12)],
        # rejected responses on ephemeral ports: not counted as ports
        *[rec(DB, "52.1.1.1", DB_IP, 1, dstport=40000 + p, dir="ingress", action="REJECT") for p in range(12)],
    ]
    got = check(records)
    assert got["exposed_port"] == {(DB, 22): {"flows": 3, "sources": 2}}
    assert got["port_scan"] == {"198.51.100.7": {"ports": 12, "addresses": 1, "accepted": False},
                                "203.0.113.9": {"ports": 1, "addresses": 12, "accepted": True}}


def test_new_destination_against_the_stored_history() -> None:
    day = DAY
    before = (day - dt.timedelta(days=3)).isoformat()
    today, seen_dt = day.isoformat(), {"dt": before}
    flows = {"rollup_set": "flows", "action": "ACCEPT", "interface_id": APP}
    rows = run("findings", rollup_rows=[
        {**flows, "srcaddr": APP_IP, "dstaddr": "8.8.8.8", "bytes": 5 * 2**30, "dt": today},
        {**flows, "srcaddr": APP_IP, "dstaddr": "9.9.9.9", "bytes": 3 * 2**30, "dt": today},
        {**flows, "srcaddr": APP_IP, "dstaddr": "9.9.9.9", "bytes": 1, **seen_dt},
        {**flows, "srcaddr": APP_IP, "dstaddr": "1.1.1.1", "bytes": 1, "dt": (day - dt.timedelta(days=8)).isoformat()},
        {**flows, "srcaddr": APP_IP, "dstaddr": "1.1.1.1", "bytes": 2**30, "dt": today},
    ])
    new = {r["resource_id"]: r["bytes"] for r in rows if r["kind"] == "new_external_destination"}
    assert new == {"8.8.8.8": 5 * 2**30, "1.1.1.1": 2**30}  # 1.1.1.1 was seen 8 days ago: outside the 7


def test_a_quiet_day_has_no_candidates() -> None:
    records = [rec(APP, APP_IP, DB_IP, 10, dir="egress", az_id="az1"), rec(DB, APP_IP, DB_IP, 10, dir="ingress",
                                                                          az_id="az1")]
    assert run("findings", record_rows=records) == []
    assert oracle.findings(records, []) == {}


def test_the_query_lists_the_default_admin_ports() -> None:
    text = queries.sql_text("findings")
    listed = text.split("dstport IN (")[1].split(")")[0]
    assert tuple(int(p) for p in listed.split(",")) == ADMIN_PORTS
    assert set(ADMIN_PORTS) == oracle.ADMIN_PORTS


# -- the full sample day --------------------------------------------------------------------------

LIMIT = queries.ROW_LIMIT
MEASURE = {"port_scan": lambda v: (v["accepted"], max(v["ports"], v["addresses"])),  # reached a port: first
           "exposed_port": lambda v: v["sources"]}


@pytest.fixture(scope="module")
def sample_counts(sample_root: Any) -> dict:
    records = oracle.read_day(sample_root, REPORT_DAY)
    history = [r for k in range(1, 8) for r in oracle.read_day(sample_root, REPORT_DAY - dt.timedelta(days=k))]
    return oracle.findings(records, history)


def test_sample_day_against_the_oracle(sample_report: dict, sample_counts: dict) -> None:
    got = sql_counts(sample_report["insights"]["findings"]["rows"])
    assert set(got) == set(sample_counts)
    for kind, want in sample_counts.items():
        measure = MEASURE.get(kind, lambda v: v["bytes"])
        # the query keeps the top {limit} per kind: the same figures, and the top measures
        assert got[kind] == {k: want[k] for k in got[kind]}, kind
        assert sorted(map(measure, got[kind].values())) == sorted(map(measure, want.values()))[-LIMIT:], kind


def test_sample_day_holds_every_kind_with_the_planted_amounts(sample_report: dict, sample_counts: dict) -> None:
    from flowdigest.findings.build import build
    from flowdigest.findings.config import FindingsConfig, Thresholds
    from flowdigest.findings.model import KINDS
    from flowdigest.insights.base import Context
    from flowdigest.pricing import Prices
    from flowdigest.sample.network import PLANTED
    from flowdigest.sample.traffic import (
        EC2_API_MIB,
        NEW_DESTINATION_MIB,
        PLANTED_HOURS,
        S3_SYNC_MIB,
        SCAN_PORTS_TRIED,
    )

    mib, hours = 2**20, len(PLANTED_HOURS)
    assert sample_counts["new_external_destination"][PLANTED["new_destination"][0]]["bytes"] == (
        hours * NEW_DESTINATION_MIB * mib)
    assert sample_counts["aws_service_via_nat"]["EC2"]["bytes"] == hours * sum(EC2_API_MIB) * mib
    assert sample_counts["port_scan"][PLANTED["scanner"][0]] == {
        "ports": len(SCAN_PORTS_TRIED), "addresses": 1, "accepted": True}
    # the planted S3 sync through the NAT is over the default threshold on its own
    s3_via_nat = max(v["bytes"] for (service, _), v in sample_counts["gateway_endpoint_bypass"].items()
                     if service == "S3")
    assert s3_via_nat >= hours * (S3_SYNC_MIB + 1) * mib
    bypass = build(sample_report["insights"]["findings"]["rows"],
                   Context(report_date=REPORT_DAY, prices=Prices(), fields=sample_report["fields"]))
    assert any(f.kind == "gateway_endpoint_bypass" and f.evidence["service"] == "S3" for f in bypass)
    # every kind, once the cost threshold is out of the way (the test day is small)
    loose = FindingsConfig(thresholds=Thresholds(min_usd_per_month=0, flow_log_min_usd_per_month=0))
    ctx = Context(report_date=REPORT_DAY, prices=Prices(), fields=sample_report["fields"],
                  history_days=sample_report["data_health"]["history_days"],
                  source_bytes=sample_report["source"]["bytes"], findings_config=loose)
    found = build(sample_report["insights"]["findings"]["rows"], ctx)
    assert {f.kind for f in found} == set(KINDS)
