"""Which hours of a day were delivered, in words. Pure Python: every Lambda imports it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def missing_hours_text(report_date: dt.date, hours_present: Iterable[int]) -> str:
    """The day's missing hours as ranges: "hours 03–05, 17 missing"; "" when none is missing.

    With no hour delivered at all: "no flow logs were delivered for YYYY-MM-DD".
    """
    missing = sorted(set(range(24)) - set(hours_present))
    if not missing:
        return ""
    if len(missing) == 24:
        return f"no flow logs were delivered for {report_date.isoformat()}"
    runs: list[list[int]] = []
    for h in missing:
        if runs and h == runs[-1][-1] + 1:
            runs[-1].append(h)
        else:
            runs.append([h])
    parts = [f"{r[0]:02d}" if len(r) == 1 else f"{r[0]:02d}–{r[-1]:02d}" for r in runs]
    return f"{'hour' if len(missing) == 1 else 'hours'} {', '.join(parts)} missing"
