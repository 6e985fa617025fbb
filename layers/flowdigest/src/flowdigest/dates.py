"""The report day, for the CLI and the Step Functions events alike: yesterday in UTC unless
one is named, and a named one is neither in the future nor before flow logs existed."""

from __future__ import annotations

import datetime as dt

# VPC Flow Logs launched on 2015-06-10: no day before can hold any (and a day near
# date.min would underflow the history window, day - 7).
EARLIEST = dt.date(2015, 6, 10)


class BadReportDate(ValueError):
    pass


def yesterday(at: dt.datetime | None = None) -> dt.date:
    """The UTC day before `at` (default: now); a naive `at` is taken as UTC."""
    at = at or dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).date() - dt.timedelta(days=1)


def check(day: dt.date) -> dt.date:
    """`day`, if flow logs can exist for it; else BadReportDate saying why."""
    if day > dt.datetime.now(dt.UTC).date():
        raise BadReportDate(f"{day} is in the future: flow logs cannot exist yet")
    if day < EARLIEST:
        raise BadReportDate(f"{day} is before {EARLIEST}, when VPC Flow Logs began: no flow logs exist for it")
    return day


def parse(text: str) -> dt.date:
    """A YYYY-MM-DD report day, checked."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise BadReportDate(f"{text!r} is not a date in the form YYYY-MM-DD") from None
    return check(day)
