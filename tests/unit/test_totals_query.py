"""sql/totals.sql: the report day's totals from the rollup's 'hours' set, on a few rows."""

from __future__ import annotations

import datetime as dt

from flowdigest.insights.testing import DAY, run


def test_totals_of_the_report_day() -> None:
    hours = {"rollup_set": "hours"}
    rows = run("totals", rollup_rows=[
        {**hours, "action": "ACCEPT", "flows": 3, "bytes": 300, "packets": 6},
        {**hours, "action": "REJECT", "flows": 2, "bytes": 80, "packets": 2},
        {**hours, "log_status": None, "flows": 1, "bytes": 20, "packets": 1},  # no log-status, no action
        {**hours, "log_status": "NODATA", "flows": 4},
        {**hours, "log_status": "SKIPDATA", "flows": 1},
        {**hours, "dt": (DAY - dt.timedelta(days=1)).isoformat(), "flows": 9, "bytes": 9, "packets": 9},
        {"rollup_set": "flows", "action": "ACCEPT", "flows": 7, "bytes": 7, "packets": 7},
    ])
    assert rows == [{"flows": 6, "bytes": 400, "packets": 9, "accepted_flows": 3, "rejected_flows": 2,
                     "nodata_records": 4, "skipdata_records": 1}]


def test_a_day_without_rows_totals_zero() -> None:
    assert run("totals", rollup_rows=[]) == [{"flows": 0, "bytes": 0, "packets": 0, "accepted_flows": 0,
                                              "rejected_flows": 0, "nodata_records": 0, "skipdata_records": 0}]
