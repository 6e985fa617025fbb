"""new_talkers' query: the report day's pairs not seen in the seven days before."""

from __future__ import annotations

import datetime as dt

from flowdigest.insights.testing import DAY, run


def _day(back: int) -> str:
    return (DAY - dt.timedelta(days=back)).isoformat()


def test_pairs_not_seen_that_week() -> None:
    flows = {"rollup_set": "flows"}
    rows = run("new_talkers", rollup_rows=[
        {**flows, "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "bytes": 50, "flows": 1},  # seen 3 days before
        {**flows, "dt": _day(3), "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "bytes": 5},
        {**flows, "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.3", "bytes": 30, "flows": 2},  # seen 8 days before
        {**flows, "dt": _day(8), "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.3", "bytes": 5},
        {**flows, "srcaddr": "10.0.0.4", "dstaddr": "10.0.0.5", "bytes": 70, "flows": 1, "log_status": None},
        {**flows, "srcaddr": "10.0.0.6", "dstaddr": "10.0.0.7", "log_status": "NODATA"},
    ])
    assert rows == [
        {"srcaddr": "10.0.0.4", "dstaddr": "10.0.0.5", "bytes": 70, "flows": 1},
        {"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.3", "bytes": 30, "flows": 2},
    ]
