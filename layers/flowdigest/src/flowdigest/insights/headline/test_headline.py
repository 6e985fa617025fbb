"""headline's query: OK totals per day over the report day and the seven before it."""

from __future__ import annotations

import datetime as dt

from flowdigest.insights.testing import DAY, run

BEFORE = (DAY - dt.timedelta(days=1)).isoformat()


def test_totals_per_day_over_the_week() -> None:
    rows = run("headline", rollup_rows=[
        {"rollup_set": "hours", "dt": BEFORE, "action": "ACCEPT", "flows": 3, "bytes": 300, "packets": 3},
        {"rollup_set": "hours", "action": "ACCEPT", "flows": 2, "bytes": 100, "packets": 2},
        {"rollup_set": "hours", "action": "REJECT", "flows": 1, "bytes": 40, "packets": 1},
        {"rollup_set": "hours", "log_status": None, "action": "ACCEPT", "flows": 1, "bytes": 5, "packets": 1},
        {"rollup_set": "hours", "log_status": "NODATA", "flows": 1},
        {"rollup_set": "hours", "log_status": "SKIPDATA", "flows": 2},
        {"rollup_set": "flows", "action": "ACCEPT", "flows": 9, "bytes": 900, "packets": 9},  # another set
        {"rollup_set": "hours", "dt": (DAY - dt.timedelta(days=8)).isoformat(), "flows": 7, "bytes": 7},
    ])
    assert rows == [
        {"dt": BEFORE, "flows": 3, "bytes": 300, "packets": 3, "accepted_flows": 3, "rejected_flows": 0,
         "nodata_records": 0, "skipdata_records": 0, "tgw_bytes": 0},
        # the record without log_status (a format without log-status) is a data record
        {"dt": DAY.isoformat(), "flows": 4, "bytes": 145, "packets": 4, "accepted_flows": 3, "rejected_flows": 1,
         "nodata_records": 1, "skipdata_records": 2, "tgw_bytes": 0},
    ]


def test_transit_gateway_records_count_and_accepts_are_unknown_without_an_action() -> None:
    rows = run("headline", rollup_rows=[
        # the day before: VPC records with an action, and a Transit Gateway's
        {"rollup_set": "hours", "dt": BEFORE, "action": "REJECT", "flows": 2, "bytes": 20, "packets": 2},
        {"rollup_set": "tgw_hours", "dt": BEFORE, "flows": 5, "bytes": 500, "packets": 5},
        {"rollup_set": "tgw", "dt": BEFORE, "flows": 5, "bytes": 500, "packets": 5},  # its other set
        # the report day: Transit Gateway records only (no action), and a NODATA window
        {"rollup_set": "tgw_hours", "flows": 3, "bytes": 300, "packets": 3},
        {"rollup_set": "tgw_hours", "log_status": "NODATA", "flows": 1},
    ])
    assert rows == [
        {"dt": BEFORE, "flows": 7, "bytes": 520, "packets": 7, "accepted_flows": 0, "rejected_flows": 2,
         "nodata_records": 0, "skipdata_records": 0, "tgw_bytes": 500},
        {"dt": DAY.isoformat(), "flows": 3, "bytes": 300, "packets": 3, "accepted_flows": None,
         "rejected_flows": None, "nodata_records": 1, "skipdata_records": 0, "tgw_bytes": 300},
    ]
