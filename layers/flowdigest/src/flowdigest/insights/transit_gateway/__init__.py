"""Transit Gateway: bytes between attachments and VPCs, packets lost by reason, traffic
between accounts and Regions (from Transit Gateway flow logs: the rollup's 'tgw' set).

Each flow counts once, on the attachment it came in by (query.sql). Packets lost are
unknown, never 0, where the records leave them '-' or the format lacks them.
"""

from __future__ import annotations

from typing import Any

from flowdigest.insights.base import Context, Insight, Rows
from flowdigest.units import human_bytes, human_count

# packets_lost_* column -> the reason as the summary says it
REASONS: dict[str, str] = {
    "packets_lost_no_route": "no route",
    "packets_lost_blackhole": "blackhole",
    "packets_lost_mtu_exceeded": "MTU exceeded",
    "packets_lost_ttl_expired": "TTL expired",
}
UNKNOWN = "unknown"


def _kind(rows: Rows, kind: str) -> Rows:
    return [r for r in rows if r["kind"] == kind]


def _one(rows: Rows, kind: str) -> dict[str, Any]:
    return next(iter(_kind(rows, kind)), {})


def _count(value: Any) -> str:
    return UNKNOWN if value is None else human_count(int(value))


def _pair(r: dict[str, Any]) -> str:
    return f"{r['src'] or UNKNOWN} → {r['dst'] or UNKNOWN}"


def lost_text(r: dict[str, Any]) -> str:
    """`no route 12, blackhole unknown, …`: each reason's packets lost (unknown: the records said '-')."""
    return ", ".join(f"{label} {_count(r.get(col))}" for col, label in REASONS.items())


def _lost_total(r: dict[str, Any]) -> int | None:
    known = [int(r[c]) for c in REASONS if r.get(c) is not None]
    return sum(known) if known else None


def summary(rows: Rows, ctx: Context) -> str:
    total, once = _one(rows, "total"), _one(rows, "once")
    if not total.get("flows"):
        return "No Transit Gateway data records."
    lost = _lost_total(total)
    lost_part = (f"packets lost {UNKNOWN} (not in the records)" if lost is None
                 else f"{human_count(lost)} packets lost ({lost_text(total)})")
    pairs = _kind(rows, "attachment_pair")
    top = f"; top pair {_pair(pairs[0])}: {human_bytes(int(pairs[0]['bytes'] or 0))}" if pairs else ""
    return (f"{human_bytes(int(once.get('bytes') or 0))} through the gateway, each flow once "
            f"({human_count(int(once.get('flows') or 0))} of {human_count(int(total['flows']))} records); "
            f"{lost_part}{top}")


def details(rows: Rows, ctx: Context) -> list[str]:
    total, once = _one(rows, "total"), _one(rows, "once")
    out = []
    if total.get("flows"):
        out.append(f"Transit Gateway records: {human_count(int(total['flows']))}, "
                   f"{human_bytes(int(total['bytes'] or 0))} (in the report's totals); counted once (ingress "
                   f"records): {human_bytes(int(once.get('bytes') or 0))}")
    titles = {"attachment_pair": "attachments", "vpc_pair": "VPCs", "account_pair": "between accounts",
              "region_pair": "between Regions"}
    for kind, title in titles.items():
        for i, r in enumerate(_kind(rows, kind), 1):
            out.append(f"{title} {i}. {_pair(r)}: {human_bytes(int(r['bytes'] or 0))}, "
                       f"{human_count(int(r['flows'] or 0))} records")
    for r in _kind(rows, "lost"):
        out.append(f"packets lost on {r['src'] or UNKNOWN}: {lost_text(r)}")
    for r in _kind(rows, "status"):
        out.append(f"{r['src']} records: {human_count(int(r['flows'] or 0))}")
    return out


def chart(rows: Rows, ctx: Context):
    from flowdigest.charts.style import top_bars

    def short(attachment: str | None) -> str:  # the ids' common prefix would crowd out the ids
        return (attachment or UNKNOWN).removeprefix("tgw-attach-")

    pairs = _kind(rows, "attachment_pair")
    return top_bars("Transit Gateway", "bytes between attachments tgw-attach-… (in -> out), each flow once",
                    [f"{short(r['src'])} -> {short(r['dst'])}" for r in pairs],
                    [int(r["bytes"] or 0) for r in pairs], empty="no traffic through the gateway")


def alt(rows: Rows, ctx: Context) -> str:
    pairs = _kind(rows, "attachment_pair")
    if not pairs:
        return "Empty chart: no traffic through the Transit Gateway."
    return (f"Horizontal bar chart of the {len(pairs)} attachment pairs with the most bytes; the largest is "
            f"{_pair(pairs[0])} with {human_bytes(int(pairs[0]['bytes'] or 0))}.")


INSIGHT = Insight(
    id="transit_gateway", title="Transit Gateway", needs=("tgw_attachment_id", "bytes"),
    uses=("tgw_pair_attachment_id", "flow_direction", "tgw_src_vpc_id", "tgw_dst_vpc_id", "tgw_src_vpc_account_id",
          "tgw_dst_vpc_account_id", "tgw_src_az_id", "tgw_dst_az_id", *REASONS),
    summary=summary, details=details, chart=chart, chart_alt=alt,
    reads="tgw", order=85, summary_rank=5,
)
