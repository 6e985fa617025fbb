"""traffic_by_hour's query: bytes per hour by direction, OK records only."""

from __future__ import annotations

from flowdigest.insights.testing import run


def test_bytes_per_hour_by_direction() -> None:
    hours = {"rollup_set": "hours"}
    rows = run("traffic_by_hour", rollup_rows=[
        {**hours, "hour": 0, "flow_direction": "ingress", "bytes": 10, "flows": 1},
        {**hours, "hour": 0, "flow_direction": "egress", "bytes": 20, "flows": 2},
        {**hours, "hour": 5, "bytes": 7, "flows": 1, "log_status": None},  # no direction, no log-status
        {**hours, "hour": 9, "log_status": "NODATA", "flows": 3},
    ])
    assert rows == [
        {"hour": 0, "ingress_bytes": 10, "egress_bytes": 20, "unknown_bytes": 0, "flows": 3},
        {"hour": 5, "ingress_bytes": 0, "egress_bytes": 0, "unknown_bytes": 7, "flows": 1},
    ]
