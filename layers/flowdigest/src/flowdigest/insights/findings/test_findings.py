"""findings' query, from raw records through the rollup, and the findings built from its rows:
priced at the prices, named and fixed from an inventory, thresholds and suppressions applied."""

from __future__ import annotations

import pytest

from flowdigest.findings.build import build, judge
from flowdigest.findings.config import FindingsConfig, Suppression, Thresholds
from flowdigest.insights.base import Context
from flowdigest.insights.testing import DAY, Row, run
from flowdigest.inventory import NameIndex, Routes, Snapshot
from flowdigest.inventory.models import Interface, RouteTable, Subnet, VpcEndpoint
from flowdigest.pricing import GIB, Prices, usd_per_month

S3_IP, NAT_IP, APP_IP = "52.216.1.1", "10.0.0.9", "10.0.1.5"


def _record(eni: str, src: str, dst: str, nbytes: int, az: str, subnet: str, direction: str,
            pkt_src: str | None = None, pkt_dst: str | None = None, **kw: object) -> dict:
    return {"interface_id": eni, "srcaddr": src, "dstaddr": dst, "pkt_srcaddr": pkt_src or src,
            "pkt_dstaddr": pkt_dst or dst, "bytes": nbytes, "packets": 1, "action": "ACCEPT", "az_id": az,
            "subnet_id": subnet, "vpc_id": "vpc-1", "flow_direction": direction, **kw}


def _s3_through_nat(out_gib: int, back_gib: int) -> list[Row]:
    nat = {"eni": "eni-nat", "az": "use1-az1", "subnet": "subnet-pub"}
    return [
        _record(**nat, src=APP_IP, dst=NAT_IP, nbytes=out_gib * GIB, direction="ingress", pkt_dst=S3_IP,
                pkt_dst_aws_service="S3"),
        _record(**nat, src=NAT_IP, dst=S3_IP, nbytes=out_gib * GIB, direction="egress", pkt_dst_aws_service="S3"),
        _record(**nat, src=S3_IP, dst=NAT_IP, nbytes=back_gib * GIB, direction="ingress", pkt_src_aws_service="S3"),
        _record(**nat, src=NAT_IP, dst=APP_IP, nbytes=back_gib * GIB, direction="egress", pkt_src=S3_IP,
                pkt_src_aws_service="S3"),
        _record("eni-app", APP_IP, S3_IP, out_gib * GIB, "use1-az2", "subnet-b", "egress", pkt_dst_aws_service="S3"),
    ]


def test_rows_for_s3_through_a_nat_in_another_az() -> None:
    rows = run("findings", record_rows=_s3_through_nat(10, 90))
    common = {"interface_id": None, "vpc_id": "vpc-1", "port": None, "distinct_other": None, "accepted": None}
    assert rows == [
        {**common, "kind": "gateway_endpoint_bypass", "resource_id": "subnet-b", "subnet_id": "subnet-b",
         "az_id": "use1-az2", "peer_id": None, "peer_az": None, "service": "S3", "bytes": 100 * GIB, "flows": 2,
         "distinct_count": None},
        {**common, "kind": "nat_cross_az", "resource_id": "subnet-b", "subnet_id": "subnet-b", "az_id": "use1-az2",
         "peer_id": "eni-nat", "peer_az": "use1-az1", "service": None, "bytes": 100 * GIB, "flows": 2,
         "distinct_count": None},
    ]


def _inventory() -> Snapshot:
    return Snapshot(
        kinds=["Subnets", "RouteTables", "VpcEndpoints", "NetworkInterfaces"],
        subnets=[Subnet(id="subnet-b", vpc_id="vpc-1", az_id="use1-az2", tags={"Name": "private-b"})],
        route_tables=[RouteTable(id="rtb-b", vpc_id="vpc-1", subnet_ids=["subnet-b"])],
        vpc_endpoints=[VpcEndpoint(id="vpce-s3", endpoint_type="Gateway", vpc_id="vpc-1",
                                   service_name="com.amazonaws.us-east-1.s3", route_table_ids=["rtb-a"])],
        interfaces=[Interface(id="eni-app", subnet_id="subnet-b", vpc_id="vpc-1", private_ips=[APP_IP],
                              tags={"Name": "app-1"})],
    )


def test_findings_priced_named_and_fixed() -> None:
    rows = run("findings", record_rows=_s3_through_nat(10, 90))
    snap = _inventory()
    prices = Prices()
    ctx = Context(report_date=DAY, prices=prices, names=NameIndex(snap), routes=Routes(snap))
    bypass, cross = build(rows, ctx)  # ranked: $135/month of NAT processing before $61 of cross-AZ
    assert bypass.kind == "gateway_endpoint_bypass"
    assert bypass.resource.name == "private-b"
    assert bypass.usd_per_day == pytest.approx(100 * prices.nat_per_gb)
    assert bypass.usd_per_month == pytest.approx(100 * prices.nat_per_gb * 730 / 24)
    assert bypass.fix == "Associate the S3 gateway endpoint vpce-s3 with route table rtb-b."
    assert cross.kind == "nat_cross_az"
    assert cross.usd_per_day == pytest.approx(100 * prices.cross_az_per_gb * 2)
    assert "use1-az2" in cross.fix and "eni-nat" in cross.fix
    # without an inventory: no names, and the fix says to create the endpoint
    plain = build(rows, Context(report_date=DAY, prices=prices))
    assert plain[0].resource.name is None
    assert plain[0].fix.startswith("Create a gateway endpoint for S3 in vpc-1")


def test_thresholds_and_suppressions() -> None:
    rows = run("findings", record_rows=_s3_through_nat(1, 1))  # 2 GiB: $2.74/month through the NAT
    prices = Prices()
    assert usd_per_month(2 * prices.nat_per_gb) < Thresholds().min_usd_per_month
    assert build(rows, Context(report_date=DAY, prices=prices)) == []
    loose = FindingsConfig(thresholds=Thresholds(min_usd_per_month=0))
    assert [f.kind for f in build(rows, Context(report_date=DAY, prices=prices, findings_config=loose))] == [
        "gateway_endpoint_bypass", "nat_cross_az"]
    hide = FindingsConfig(thresholds=Thresholds(min_usd_per_month=0),
                          suppress=(Suppression(kind="nat_cross_az", match="subnet-b", reason="accepted"),))
    kept, hidden = judge(rows, Context(report_date=DAY, prices=prices, findings_config=hide))
    assert [f.kind for f in kept] == ["gateway_endpoint_bypass"]
    assert hidden == {"accepted": 1}


def test_kinds_the_format_cannot_give_are_skipped() -> None:
    rows = run("findings", record_rows=_s3_through_nat(10, 90))
    ctx = Context(report_date=DAY, prices=Prices(), fields=["interface_id", "srcaddr", "dstaddr", "bytes",
                                                              "pkt_srcaddr", "pkt_dstaddr", "pkt_dst_aws_service"])
    assert [f.kind for f in build(rows, ctx)] == ["gateway_endpoint_bypass"]  # no az-id: no nat_cross_az


def test_cross_az_names_its_resource_pairs_from_the_inventory() -> None:
    web, db = "10.0.1.5", "10.0.2.7"
    rows = run("findings", record_rows=[
        _record("eni-web", web, db, 300 * GIB, "use1-az1", "subnet-a", "egress"),
        _record("eni-db", web, db, 300 * GIB, "use1-az2", "subnet-b", "ingress"),  # the same flow, received
    ])
    snap = Snapshot(kinds=["NetworkInterfaces"], interfaces=[
        Interface(id="eni-web", subnet_id="subnet-a", vpc_id="vpc-1", private_ips=[web], tags={"Name": "web-1"}),
        Interface(id="eni-db", subnet_id="subnet-b", vpc_id="vpc-1", private_ips=[db], tags={"Name": "db-1"})])
    named = Context(report_date=DAY, prices=Prices(), names=NameIndex(snap))
    (cross,) = [f for f in build(rows, named) if f.kind == "cross_az"]
    assert cross.bytes == 300 * GIB  # counted once, from the sender's record
    assert cross.evidence["top_pairs"] == [{"sender": "eni-web", "sender_name": "web-1", "receiver": "eni-db",
                                            "receiver_name": "db-1", "bytes": 300 * GIB}]
    assert cross.fix.endswith("(most: web-1 (eni-web) → db-1 (eni-db)).")
    (plain,) = [f for f in build(rows, Context(report_date=DAY, prices=Prices())) if f.kind == "cross_az"]
    assert plain.fix.endswith("(most: eni-web → eni-db).") and plain.evidence["top_pairs"][0]["sender_name"] is None


def test_flow_log_cost_prices_the_digests_athena_bytes_and_says_unknown_without() -> None:
    from flowdigest import report
    from flowdigest.findings.build import flow_log_cost
    from flowdigest.models import DayPlan, InsightResult

    mb, prices = 2**20, Prices()
    plan = DayPlan(report_date=DAY, columns=[], files=1, source_bytes=50 * GIB, hours_present=[], insights=[],
                   athena_billed_bytes=180 * mb)
    ran = [InsightResult(id="a", status="ok", athena_billed_bytes=10 * mb),
           InsightResult(id="b", status="skipped", reason="no field")]  # a skipped insight ran no query
    billed = report.athena_billed(plan, ran, None)
    assert billed == 190 * mb
    known = flow_log_cost(Context(report_date=DAY, prices=prices, source_bytes=50 * GIB, athena_billed_bytes=billed))
    assert known is not None
    assert known.evidence["athena_usd_per_day"] == pytest.approx(190 * mb / 2**40 * prices.athena_per_tb)
    assert known.title.endswith(f"Athena scans: ${190 * mb / 2**40 * prices.athena_per_tb:.4f} a day")
    # a local run: DuckDB's queries say nothing of Athena, so the figure is unknown, not $0
    local = [InsightResult(id="a", status="ok")]
    assert report.athena_billed(plan.model_copy(update={"athena_billed_bytes": None}), local, None) is None
    unknown = flow_log_cost(Context(report_date=DAY, prices=prices, source_bytes=50 * GIB))
    assert unknown is not None and unknown.evidence["athena_usd_per_day"] is None
    assert unknown.title.endswith("Athena scans: unknown")


def test_the_flow_logs_own_cost_has_a_threshold_of_its_own() -> None:
    cheap = Context(report_date=DAY, prices=Prices(), source_bytes=GIB // 100)  # cents a month
    assert "flow_log_cost" not in {f.kind for f in build([], cheap)}
    shown = Context(report_date=DAY, prices=Prices(), source_bytes=GIB // 100,
                    findings_config=FindingsConfig(thresholds=Thresholds(flow_log_min_usd_per_month=0)))
    assert [f.kind for f in build([], shown)] == ["flow_log_cost"]
