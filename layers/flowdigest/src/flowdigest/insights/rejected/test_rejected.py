"""rejected's query: the sources and destination ports rejected most."""

from __future__ import annotations

from flowdigest.insights.testing import run


def test_top_rejected_sources_and_ports() -> None:
    rejects = {"rollup_set": "rejects", "action": "REJECT", "protocol": 6}
    rows = run("rejected", rollup_rows=[
        {**rejects, "srcaddr": "198.51.100.1", "dstport": 22, "flows": 3, "bytes": 180},
        {**rejects, "srcaddr": "198.51.100.1", "dstport": 23, "flows": 1, "bytes": 60},
        {**rejects, "srcaddr": "198.51.100.2", "dstport": 22, "flows": 1, "bytes": 60, "log_status": None},
        {"rollup_set": "rejects", "action": "ACCEPT", "protocol": 6, "flows": 50, "bytes": 5000},
    ])
    assert rows == [
        {"kind": "source", "value": "198.51.100.1", "protocol": None, "flows": 4, "bytes": 240, "distinct_count": 2},
        {"kind": "source", "value": "198.51.100.2", "protocol": None, "flows": 1, "bytes": 60, "distinct_count": 1},
        {"kind": "port", "value": "22", "protocol": 6, "flows": 4, "bytes": 240, "distinct_count": 2},
        {"kind": "port", "value": "23", "protocol": 6, "flows": 1, "bytes": 60, "distinct_count": 1},
    ]
