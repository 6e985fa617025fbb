"""transit_gateway's query: pairs counted once (ingress records), packets lost by reason
(unknown stays NULL), accounts and Regions crossed; over Transit Gateway records folded by
tgw_rollup.sql."""

from __future__ import annotations

from flowdigest.insights.testing import run

LOST = {"packets_lost_no_route": None, "packets_lost_blackhole": None, "packets_lost_mtu_exceeded": None,
        "packets_lost_ttl_expired": None}
TGW = "tgw-0123456789abcdef0"


def _record(attachment: str, pair: str, direction: str, nbytes: int, **extra: object) -> dict[str, object]:
    return {"tgw_id": TGW, "tgw_attachment_id": attachment, "tgw_pair_attachment_id": pair,
            "flow_direction": direction, "bytes": nbytes, "packets": nbytes // 100,
            "tgw_src_vpc_id": "vpc-a", "tgw_dst_vpc_id": "vpc-b", "tgw_src_vpc_account_id": "111111111111",
            "tgw_dst_vpc_account_id": "222222222222", "tgw_src_az_id": "use1-az1", "tgw_dst_az_id": "use1-az2",
            **extra}


def test_each_flow_once_lost_packets_by_reason_and_unknown_kept_null() -> None:
    rows = run("transit_gateway", tgw_record_rows=[
        # one flow a -> b: its ingress record on attachment a, its egress record on b (the same bytes)
        _record("tgw-attach-a", "tgw-attach-b", "ingress", 1000, packets_lost_no_route=3,
                packets_lost_blackhole=0, packets_lost_mtu_exceeded=1, packets_lost_ttl_expired=0),
        _record("tgw-attach-b", "tgw-attach-a", "egress", 1000),
        # a flow to another Region's VPC in the same account: packets lost unknown ('-')
        _record("tgw-attach-a", "tgw-attach-peer", "ingress", 500, tgw_dst_vpc_id="vpc-c",
                tgw_dst_vpc_account_id="111111111111", tgw_dst_az_id="euw1-az3"),
        {"tgw_id": TGW, "tgw_attachment_id": "tgw-attach-b", "log_status": "NODATA"},
        {"tgw_id": TGW, "tgw_attachment_id": "tgw-attach-b", "log_status": "SKIPDATA", "bytes": 7},
    ])
    assert rows == [
        {"kind": "total", "tgw_id": None, "src": None, "dst": None, "bytes": 2500, "packets": 25, "flows": 3,
         "packets_lost_no_route": 3, "packets_lost_blackhole": 0, "packets_lost_mtu_exceeded": 1,
         "packets_lost_ttl_expired": 0},
        {"kind": "once", "tgw_id": None, "src": None, "dst": None, "bytes": 1500, "packets": 15, "flows": 2, **LOST},
        {"kind": "status", "tgw_id": None, "src": "NODATA", "dst": None, "bytes": None, "packets": None, "flows": 1,
         **LOST},
        {"kind": "status", "tgw_id": None, "src": "SKIPDATA", "dst": None, "bytes": None, "packets": None,
         "flows": 1, **LOST},
        {"kind": "attachment_pair", "tgw_id": TGW, "src": "tgw-attach-a", "dst": "tgw-attach-b", "bytes": 1000,
         "packets": 10, "flows": 1, **LOST},
        {"kind": "attachment_pair", "tgw_id": TGW, "src": "tgw-attach-a", "dst": "tgw-attach-peer", "bytes": 500,
         "packets": 5, "flows": 1, **LOST},
        {"kind": "vpc_pair", "tgw_id": TGW, "src": "vpc-a", "dst": "vpc-b", "bytes": 1000, "packets": 10,
         "flows": 1, **LOST},
        {"kind": "vpc_pair", "tgw_id": TGW, "src": "vpc-a", "dst": "vpc-c", "bytes": 500, "packets": 5, "flows": 1,
         **LOST},
        {"kind": "account_pair", "tgw_id": TGW, "src": "111111111111", "dst": "222222222222", "bytes": 1000,
         "packets": 10, "flows": 1, **LOST},
        {"kind": "region_pair", "tgw_id": TGW, "src": "use1", "dst": "euw1", "bytes": 500, "packets": 5,
         "flows": 1, **LOST},
        # every record of an attachment, any direction; a sum over '-' only is unknown
        {"kind": "lost", "tgw_id": TGW, "src": "tgw-attach-a", "dst": None, "bytes": 1500, "packets": 15,
         "flows": 2, "packets_lost_no_route": 3, "packets_lost_blackhole": 0, "packets_lost_mtu_exceeded": 1,
         "packets_lost_ttl_expired": 0},
        {"kind": "lost", "tgw_id": TGW, "src": "tgw-attach-b", "dst": None, "bytes": 1000, "packets": 10,
         "flows": 1, **LOST},
    ]


def test_without_flow_direction_every_record_counts() -> None:
    rows = run("transit_gateway", tgw_record_rows=[
        _record("tgw-attach-a", "tgw-attach-b", None, 300),  # type: ignore[arg-type]
        _record("tgw-attach-b", "tgw-attach-a", None, 200),  # type: ignore[arg-type]
    ])
    once = next(r for r in rows if r["kind"] == "once")
    assert (once["bytes"], once["flows"]) == (500, 2)
