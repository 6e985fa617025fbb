"""8. New talkers: pairs not seen in the previous 7 days."""

from __future__ import annotations

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.naming import shown
from flowdigest.units import human_bytes, is_internal


def _pair(r: dict, ctx: Context) -> str:
    ext = [a for a in (r["srcaddr"], r["dstaddr"]) if not is_internal(a)]
    return f"{shown(ctx, r['srcaddr'])} → {shown(ctx, r['dstaddr'])}" + (" (external)" if ext else "")


def summary(rows: Rows, ctx: Context) -> str:
    days = len(ctx.history_days)
    if not rows:
        return f"No pair that was not already seen in the previous {days} days."
    top = rows[0]
    more = "at least " if len(rows) >= 10 else ""
    return (f"{more}{len(rows)} pairs not seen in the previous {days} days; largest "
            f"{_pair(top, ctx)} ({human_bytes(top['bytes'])})")


def details(rows: Rows, ctx: Context) -> list[str]:
    return [f"{_pair(r, ctx)}: {human_bytes(r['bytes'])}" for r in rows]


INSIGHT = Insight(
    id="new_talkers", title="New talkers", needs=("srcaddr", "dstaddr", "bytes"), needs_history=True,
    summary=summary, details=details,
    order=80,
)
