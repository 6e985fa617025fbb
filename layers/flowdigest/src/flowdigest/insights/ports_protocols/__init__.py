"""7. Top destination ports and protocols."""

from __future__ import annotations

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.units import human_bytes, port_label


def _label(r: dict) -> str:
    return port_label(r["dstport"], r["protocol"])


def summary(rows: Rows, ctx: Context) -> str:
    if not rows:
        return "No traffic."
    top = rows[0]
    share = f" ({top['bytes'] / ctx.total_bytes * 100:.0f} % of bytes)" if ctx.total_bytes else ""
    return f"Top destination port {_label(top)}: {human_bytes(top['bytes'])}{share}"


def details(rows: Rows, ctx: Context) -> list[str]:
    return [f"{_label(r)}: {human_bytes(r['bytes'])} in {r['flows']} records" for r in rows]


def chart(rows: Rows, ctx: Context):
    from flowdigest.charts.style import top_bars

    return top_bars("Top destination ports", "bytes by destination port and protocol",
                    [_label(r) for r in rows], [r["bytes"] for r in rows], empty="no traffic", color="#8250df")


def alt(rows: Rows, ctx: Context) -> str:
    if not rows:
        return "Empty chart: no traffic."
    return (f"Horizontal bar chart of the {len(rows)} destination ports with the most bytes; the first is "
            f"{_label(rows[0])} with {human_bytes(rows[0]['bytes'])}.")


INSIGHT = Insight(
    id="ports_protocols", title="Top ports and protocols", needs=("dstport", "protocol", "bytes"),
    summary=summary, details=details, chart=chart, chart_alt=alt,
    order=70,
)
