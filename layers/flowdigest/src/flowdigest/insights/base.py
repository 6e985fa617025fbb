"""What an insight is: the fields it needs, its SQL, its chart, its summary and details."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowdigest.pricing import Prices

if TYPE_CHECKING:  # plotly is only in the charting layer
    import plotly.graph_objects as go

Rows = list[dict[str, Any]]


@dataclass
class Context:
    """What summaries and charts may use besides their own rows."""

    report_date: dt.date
    prices: Prices
    total_bytes: int = 0
    history_days: list[dt.date] = field(default_factory=list)
    hours_present: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Insight:
    id: str
    title: str
    needs: tuple[str, ...]  # flow-log columns without which it is skipped
    summary: Callable[[Rows, Context], str]
    details: Callable[[Rows, Context], list[str]] = lambda rows, ctx: []
    chart: Callable[[Rows, Context], go.Figure | None] | None = None
    chart_alt: Callable[[Rows, Context], str] | None = None
    uses: tuple[str, ...] = ()  # optional columns it reads when present
    needs_history: bool = False  # skipped when no earlier day has a rollup

    @property
    def sql(self) -> str:
        return self.id  # sql/<id>.sql
