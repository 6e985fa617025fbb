"""nat_gateway's query, from raw records through the rollup: one NAT gateway (private
address 10.0.0.9) carries 10.0.1.5's traffic to 52.1.1.1 and the answer back."""

from __future__ import annotations

from flowdigest.insights.testing import run


def _record(eni: str, src: str, dst: str, nbytes: int, pkt_src: str | None = None,
            pkt_dst: str | None = None) -> dict:
    return {"interface_id": eni, "srcaddr": src, "dstaddr": dst, "pkt_srcaddr": pkt_src or src,
            "pkt_dstaddr": pkt_dst or dst, "bytes": nbytes, "packets": 1, "action": "ACCEPT"}


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
        {"kind": "sender", "address": "10.0.1.5", "service": None, "bytes": 150, "flows": 2},
        {"kind": "destination", "address": "52.1.1.1", "service": None, "bytes": 150, "flows": 2},
    ]


def test_no_nat_gateway_still_gives_a_zero_total() -> None:
    rows = run("nat_gateway", record_rows=[_record("eni-app", "10.0.1.5", "10.0.2.2", 10)])
    assert rows == [{"kind": "total", "address": None, "service": None, "bytes": 0, "flows": 0}]
