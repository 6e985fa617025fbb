"""9. Data health: NODATA / SKIPDATA records and hours with no delivered files."""

from __future__ import annotations

from flowdigest.hours import missing_hours_text
from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.units import human_count


def counts(rows: Rows) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r["log_status"]] = out.get(r["log_status"], 0) + int(r["records"])
    return out


def summary(rows: Rows, ctx: Context) -> str:
    c = counts(rows)
    missing = missing_hours_text(ctx.report_date, set(ctx.hours_present))
    delivery = missing or "all 24 hours delivered"
    inv = ctx.inventory
    names = ""
    if inv is not None:
        names = ("; names unavailable" if not inv.available else
                 f"; {inv.named_share * 100:.0f} % of bytes on named resources" if inv.named_share is not None else "")
    return (f"{delivery}; {human_count(c.get('NODATA', 0))} NODATA and "
            f"{human_count(c.get('SKIPDATA', 0))} SKIPDATA records{names}")


def details(rows: Rows, ctx: Context) -> list[str]:
    out = []
    for status in ("NODATA", "SKIPDATA"):
        hours = sorted({int(r["hour"]) for r in rows if r["log_status"] == status})
        if hours:
            out.append(f"{status} in hours " + ", ".join(f"{h:02d}" for h in hours))
    return out + (ctx.inventory.data_health if ctx.inventory else [])


INSIGHT = Insight(
    id="data_health", title="Data health", needs=("log_status",), summary=summary, details=details,
    order=90, summary_rank=4, reads="both",  # the Transit Gateway's records too (query.sql)
)
