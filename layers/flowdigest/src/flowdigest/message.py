"""message.json: the Slack summary message (Block Kit) and its thread; preview.html.

The summary carries the headline numbers and their change; the thread carries every chart
(title + alt text) and then the insights' detail lines. Text that comes from data is
escaped for mrkdwn; everything is fitted to Slack's limits here, so delivery sends as is.
"""

from __future__ import annotations

import html
import re
from typing import Any

from flowdigest import breakdown
from flowdigest.insights import INSIGHTS
from flowdigest.models import Report, SlackFile, SlackMessage, SlackReply
from flowdigest.routed_message import finding_line
from flowdigest.slack.limits import escape, fit_message
from flowdigest.units import human_bytes, human_count, signed_pct, usd

NOT_IN_FORMAT = "not in this flow log's format"


def _change(report: Report, metric: str) -> str:
    comp = report.comparison
    parts = []
    if comp is not None and comp.previous_day and metric in comp.previous_day:  # absent: unknown that day
        parts.append(f"{signed_pct(comp.previous_day[metric].change_pct)} vs previous day")
    if comp is not None and comp.median_7d and metric in comp.median_7d:
        parts.append(f"{signed_pct(comp.median_7d[metric].change_pct)} vs 7-day median")
    return ("\n" + ", ".join(parts)) if parts else ""


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _accepted_rejected(report: Report) -> str:
    t = report.totals
    if t.accepted_flows is None or t.rejected_flows is None:
        return f"*Accepted / rejected flows*\n{NOT_IN_FORMAT}"
    return (f"*Accepted / rejected flows*\n{human_count(t.accepted_flows)} / {human_count(t.rejected_flows)}"
            f"{_change(report, 'rejected_flows')}")


TOP_FINDINGS = 5
QUIET_LINE = ":white_check_mark: No findings today: nothing costly or exposed stands out."


def findings_lines(report: Report) -> str | None:
    """The summary's lead: the top findings (name, $/month; the fix), the avoidable total; or the
    quiet line. None when the findings did not run."""
    res = report.insights.get("findings")
    if res is None or res.status != "ok":
        return None
    s = report.findings_summary
    hidden = f"\n_{s.suppressed} findings suppressed by the config_" if s.suppressed else ""
    if not report.findings:
        return QUIET_LINE + hidden
    lines = [finding_line(f) for f in report.findings[:TOP_FINDINGS]]
    more = len(report.findings) - TOP_FINDINGS
    tail = f" ({more} more in the thread)" if more > 0 else ""
    return ("\n".join(lines) + f"\n*{usd(s.avoidable_usd_per_month)}/month of avoidable network cost found*{tail}"
            + hidden)


def _nothing_to_report(report: Report, title: str) -> tuple[str, list[dict[str, Any]]]:
    day = report.report_date.isoformat()
    header = {"type": "header", "text": {"type": "plain_text", "text": title}}
    bad = report.source.bad_files
    if not bad:
        which = breakdown.filter_note(report).replace(" · filtered to", " that match the filter")
        return (f"{title}: no flow logs were delivered for {day}{which}.",
                [header, _section(f":warning: No flow logs were delivered for {day}{escape(which)}; "
                                  "nothing to report.")])
    first = f"`{escape(bad[0].file)}`: {escape(bad[0].reason)}"
    more = f" (and {len(bad) - 1} more, listed in the thread)" if len(bad) > 1 else ""
    which = "the one flow-log file" if len(bad) == 1 else f"all {len(bad)} flow-log files"
    return (f"{title}: {which} delivered for {day} could not be read.",
            [header, _section(f":warning: {which.capitalize()} delivered for {day} could not be read and "
                              f"{'was' if len(bad) == 1 else 'were'} skipped, so there is nothing to report: "
                              f"{first}{more}.")])


def summary_blocks(report: Report) -> tuple[str, list[dict[str, Any]]]:
    day = report.report_date.isoformat()
    t = report.totals
    title = f"VPC flow logs — {day} (UTC)"
    if not report.source.files:
        return _nothing_to_report(report, title)
    fields = [
        f"*Flows*\n{human_count(t.flows)}{_change(report, 'flows')}",
        f"*Bytes*\n{human_bytes(t.bytes)}{_change(report, 'bytes')}",
        f"*Packets*\n{human_count(t.packets)}{_change(report, 'packets')}",
        _accepted_rejected(report),
    ]
    lead = findings_lines(report)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        *([_section(lead)] if lead else []),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    leading = sorted((INSIGHTS[i].summary_rank or 0, i) for i in report.insights
                     if i in INSIGHTS and INSIGHTS[i].leads_summary)
    key_lines = [f"*{report.insights[i].title}:* {escape(report.insights[i].summary or '')}" for _, i in leading]
    if key_lines:
        blocks.append(_section("\n".join(key_lines)))
    if views := breakdown.message_lines(report):
        blocks.append(_section(views))
    note = f"{len(report.charts)} charts and the details are in the thread · {report.source.files} files read"
    note += escape(breakdown.filter_note(report))
    if report.source.bad_files:
        note += f" · {len(report.source.bad_files)} unreadable files skipped"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    text = f"{title}: {human_count(t.flows)} flows, {human_bytes(t.bytes)}"
    return text, blocks


def detail_blocks(report: Report) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for entry in report.insights.values():
        lines = [f"*{escape(entry.title or entry.id)}* — {escape(entry.summary or '')}"]
        lines += [f"• {escape(d)}" for d in entry.details]
        blocks.append(_section("\n".join(lines)))
    bad = report.source.bad_files
    if bad:
        blocks.append(_section("*Unreadable files skipped*\n" + "\n".join(
            f"• `{escape(b.file)}`: {escape(b.reason)}" for b in bad)))
    return blocks


def build(report: Report) -> SlackMessage:
    """The summary message and its thread: the report's charts, then the details."""
    text, blocks = summary_blocks(report)
    (text, blocks), *overflow = fit_message(text, blocks)
    thread: list[SlackFile | SlackReply] = [
        SlackFile(file=c.file, title=c.title, alt_text=c.alt_text) for c in report.charts
    ]
    for extra_text, extra_blocks in overflow:
        thread.insert(0, SlackReply(text=extra_text, blocks=extra_blocks))
    details = detail_blocks(report)
    if details:
        for part_text, part_blocks in fit_message(f"Details for {report.report_date}", details):
            thread.append(SlackReply(text=part_text, blocks=part_blocks))
    return SlackMessage(report_date=report.report_date, text=text, blocks=blocks, thread=thread)


# -- preview.html: how the message and its thread will look ---------------------------------

def _mrkdwn_to_html(text: str) -> str:
    # mrkdwn is already escaped for &, <, > (the same three HTML needs), so only markup remains
    text = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", text)
    text = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", text)
    text = re.sub(r":warning:", "⚠️", text)
    return text.replace("\n", "<br>")


def _blocks_html(blocks: list[dict[str, Any]]) -> str:
    out = []
    for b in blocks:
        if b["type"] == "header":
            out.append(f"<h2>{html.escape(b['text']['text'])}</h2>")
        elif b["type"] == "section":
            if "text" in b:
                out.append(f"<div class=section>{_mrkdwn_to_html(b['text']['text'])}</div>")
            if "fields" in b:
                out.append("<div class=fields>" + "".join(
                    f"<div>{_mrkdwn_to_html(f['text'])}</div>" for f in b["fields"]) + "</div>")
        elif b["type"] == "context":
            out.append("<div class=context>" + " ".join(
                _mrkdwn_to_html(e.get("text", "")) for e in b["elements"]) + "</div>")
        elif b["type"] == "divider":
            out.append("<hr>")
    return "\n".join(out)


_STYLE = """
body { font-family: Lato, 'Helvetica Neue', Arial, sans-serif; background: #f8f8f8; color: #1d1c1d; }
main { max-width: 860px; margin: 24px auto; }
.msg { background: white; border: 1px solid #ddd; border-radius: 8px; padding: 12px 16px; margin: 8px 0; }
.who { font-weight: bold; margin-bottom: 6px; } .who span { color: #616061; font-weight: normal; }
h2 { font-size: 20px; margin: 4px 0 10px; } .section { margin: 8px 0; line-height: 1.45; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 24px; margin: 8px 0; }
.context { color: #616061; font-size: 13px; margin-top: 8px; }
.thread { margin-left: 40px; border-left: 3px solid #e0e0e0; padding-left: 16px; }
figure { margin: 0; } figcaption { font-weight: bold; margin-bottom: 6px; }
img { max-width: 100%; border: 1px solid #eee; border-radius: 4px; }
code { background: #f3f3f3; padding: 1px 3px; border-radius: 3px; }
"""


def preview_html(msg: SlackMessage) -> str:
    """A self-contained page showing the message and its thread, charts inline."""
    parts = [f"<div class=msg id=summary><div class=who>flowdigest <span>APP</span></div>"
             f"{_blocks_html(msg.blocks)}</div>", "<div class=thread>"]
    for item in msg.thread:
        if isinstance(item, SlackFile):
            parts.append(
                f"<div class='msg chart'><figure><figcaption>{html.escape(item.title)}</figcaption>"
                f"<img src='{html.escape(item.file)}' alt='{html.escape(item.alt_text)}'></figure></div>")
        else:
            parts.append(f"<div class='msg reply'>{_blocks_html(item.blocks)}</div>")
    parts.append("</div>")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>flowdigest — {msg.report_date}</title><style>{_STYLE}</style></head>"
            f"<body><main>{''.join(parts)}</main></body></html>\n")
