"""What an insight is: the fields it needs, its SQL, its chart, its summary and details.

Each insight is one folder, insights/<id>/: query.sql (Athena dialect, over the rollup),
__init__.py defining INSIGHT, and test_<id>.py (rows in, exact rows out, on DuckDB).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowdigest.pricing import Prices

if TYPE_CHECKING:  # plotly is only in the charting layer
    import plotly.graph_objects as go

    from flowdigest.findings.config import FindingsConfig
    from flowdigest.inventory import NameIndex, Routes
    from flowdigest.models import InventoryOutput

Rows = list[dict[str, Any]]


@dataclass
class Context:
    """What summaries and charts may use besides their own rows."""

    report_date: dt.date
    prices: Prices
    total_bytes: int = 0  # the day's OK bytes (report totals)
    history_days: list[dt.date] = field(default_factory=list)
    hours_present: list[int] = field(default_factory=list)
    # The day's network inventory (issue 13): None when there is none, or it was unavailable.
    names: NameIndex | None = None  # addresses and interfaces -> resources
    service_tags: dict[str, str] = field(default_factory=dict)  # public address -> AWS service tag (rows')
    routes: Routes | None = None  # route tables, gateway endpoints, NAT gateways (findings)
    # The findings (issue 14): the day's flow-log columns (empty: unknown), the delivered bytes and
    # the thresholds and suppressions (a findings.config.FindingsConfig; None: the defaults).
    fields: list[str] = field(default_factory=list)
    source_bytes: int | None = None
    athena_billed_bytes: int | None = None  # what Athena billed for the digest's queries; None: unknown
    findings_config: FindingsConfig | None = None
    inventory: InventoryOutput | None = None  # its coverage lines and top talkers by resource


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
    # which flow logs it reads: "vpc" (flow_logs' rollup sets), "tgw" (the Transit Gateway's
    # sets) or "both"; `needs` is checked against those logs' columns
    reads: str = "vpc"
    needs_history: bool = False  # skipped when no earlier day has a rollup
    order: int = 1000  # place in the report (lowest first; ties by id)
    summary_rank: int | None = None  # its summary line leads the Slack message, in this rank
    is_headline: bool = False  # its rows give the report's comparison with earlier days
    chart_without_traffic: bool = False  # drawn on a day with no data record, beside earlier days
    folder: Path | None = None  # set by the registry: where query.sql is

    @property
    def leads_summary(self) -> bool:
        return self.summary_rank is not None

    @property
    def query_file(self) -> Path:
        if self.folder is None:
            raise ValueError(f"insight {self.id} was not loaded from a folder (no query.sql)")
        return self.folder / "query.sql"
