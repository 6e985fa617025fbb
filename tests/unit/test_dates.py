"""The report day, one rule for the CLI and the events: yesterday UTC by default, never in
the future, never before VPC Flow Logs existed."""

from __future__ import annotations

import datetime as dt

import pytest

from flowdigest import dates
from flowdigest.aws.errors import InvalidEvent
from flowdigest.aws.events import parse_query


def test_yesterday_is_the_utc_day_before() -> None:
    assert dates.yesterday(dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)) == dt.date(2025, 12, 31)
    # 01:30 in UTC+2 is still the day before in UTC: two days back from the local date
    east = dt.timezone(dt.timedelta(hours=2))
    assert dates.yesterday(dt.datetime(2026, 3, 2, 1, 30, tzinfo=east)) == dt.date(2026, 2, 28)
    assert dates.yesterday(dt.datetime(2026, 3, 2, 1, 30)) == dt.date(2026, 3, 1)  # naive: UTC
    assert dates.yesterday() == dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def test_a_report_day_is_neither_in_the_future_nor_before_flow_logs() -> None:
    assert dates.parse("2015-06-10") == dates.EARLIEST
    with pytest.raises(dates.BadReportDate, match="before 2015-06-10"):
        dates.parse("0001-01-01")
    with pytest.raises(dates.BadReportDate, match="is in the future"):
        dates.check(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2))
    with pytest.raises(dates.BadReportDate, match="not a date in the form YYYY-MM-DD"):
        dates.parse("2026-02-30")


@pytest.mark.parametrize("day", ["0001-01-01", "2099-01-01"])
def test_the_prepare_event_refuses_an_impossible_day(day: str) -> None:
    with pytest.raises(InvalidEvent, match=r"report_date: .*(before 2015-06-10|in the future)"):
        parse_query({"step": "prepare", "report_date": day})
