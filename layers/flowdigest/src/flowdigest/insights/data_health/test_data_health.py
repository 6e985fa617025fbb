"""data_health's query: records and interfaces per hour and record status."""

from __future__ import annotations

from flowdigest.insights.testing import run


def test_records_per_hour_and_status() -> None:
    hours = {"rollup_set": "hours"}
    rows = run("data_health", rollup_rows=[
        {**hours, "hour": 1, "interface_id": "eni-1", "flows": 4},
        {**hours, "hour": 1, "interface_id": "eni-2", "flows": 1},
        {**hours, "hour": 1, "interface_id": "eni-1", "log_status": "NODATA", "flows": 2},
        {**hours, "hour": 3, "interface_id": "eni-2", "log_status": "SKIPDATA", "flows": 1},
        {"rollup_set": "flows", "interface_id": "eni-3", "flows": 8},
    ])
    assert rows == [
        {"hour": 1, "log_status": "NODATA", "records": 2, "interfaces": 1},
        {"hour": 1, "log_status": "OK", "records": 5, "interfaces": 2},
        {"hour": 3, "log_status": "SKIPDATA", "records": 1, "interfaces": 1},
    ]
