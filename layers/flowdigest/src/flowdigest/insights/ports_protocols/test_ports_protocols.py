"""ports_protocols' query: destination port and protocol by bytes, OK records only."""

from __future__ import annotations

from flowdigest.insights.testing import run


def test_ports_by_bytes() -> None:
    ports = {"rollup_set": "ports"}
    rows = run("ports_protocols", rollup_rows=[
        {**ports, "protocol": 6, "dstport": 443, "bytes": 700, "flows": 2},
        {**ports, "protocol": 6, "dstport": 443, "bytes": 100, "flows": 1, "log_status": None},
        {**ports, "protocol": 17, "dstport": 53, "bytes": 900, "flows": 4},
        {**ports, "protocol": 6, "dstport": 22, "log_status": "NODATA"},
    ])
    assert rows == [
        {"protocol": 17, "dstport": 53, "bytes": 900, "flows": 4},
        {"protocol": 6, "dstport": 443, "bytes": 800, "flows": 3},
    ]
