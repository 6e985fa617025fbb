"""What a routed Slack channel gets: its accounts' or VPCs' part of the day's digest.

Built from report.json alone, when the Slack settings route accounts or VPCs to channels
of their own (slack/credentials.py `routes`): for each routed account or VPC its figures
(report.json `breakdown`), its top findings and their avoidable $/month, or one quiet
line, and a pointer to the whole digest in the main channel. No charts: those are in the
main channel's thread. Nothing here changes with the time it is built, so a re-run builds
the same message and the ledger can tell a changed day from a repeated one.

A routed account or VPC with no traffic that day still gets one line saying so: a channel
that hears nothing cannot tell a quiet day from a digest that stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flowdigest.findings.model import Finding
from flowdigest.models import Report, ScopeFigures, SlackFile, SlackMessage, SlackReply
from flowdigest.slack.limits import HEADER_TEXT, escape, fit_message, truncate
from flowdigest.units import human_bytes, human_count, usd

TOP_FINDINGS = 3
Kind = Literal["account", "vpc"]
FORMAT_FIELD = {"account": "${account-id}", "vpc": "${vpc-id}"}


@dataclass(frozen=True)
class ScopeView:
    """One routed account or VPC as the day's report shows it."""

    id: str
    kind: Kind
    state: Literal["seen", "absent", "unknown"]  # unknown: the logs do not say whose they are
    figures: ScopeFigures | None = None  # when seen
    findings: tuple[Finding, ...] = ()  # its findings, ranked as the report ranks them

    @property
    def label(self) -> str:
        if self.kind == "account":
            return f"account {self.id}"
        owner = self.figures.account_id if self.figures else None
        return f"VPC {self.id}" + (f" (account {owner})" if owner else "")


def kind_of(scope_id: str) -> Kind:
    return "vpc" if scope_id.startswith("vpc-") else "account"


def _owner(finding: Finding, kind: Kind) -> str | None:
    return finding.resource.vpc_id if kind == "vpc" else finding.resource.account_id


def _sole_id(report: Report, kind: Kind) -> str | None:
    """The one account (or VPC) of a day whose breakdown lists none (it has only one), when
    the report says which it is: the filter applied, the VPC rows' account, the findings."""
    seen = set(report.scope.get(kind) or [])
    if kind == "account":
        seen |= {row.account_id for row in report.breakdown.vpcs if row.account_id}
    seen |= {owner for f in report.findings if (owner := _owner(f, kind))}
    return seen.pop() if len(seen) == 1 else None


def scope_view(report: Report, scope_id: str) -> ScopeView:
    """`scope_id`'s figures and findings in `report`, or why there are none."""
    kind = kind_of(scope_id)
    rows = report.breakdown.vpcs if kind == "vpc" else report.breakdown.accounts
    row = next((r for r in rows if r.id == scope_id), None)
    if row is not None:
        return ScopeView(scope_id, kind, "seen", row, tuple(f for f in report.findings if _owner(f, kind) == scope_id))
    if rows or not report.totals.flows:
        return ScopeView(scope_id, kind, "absent")
    # No rows: the day has one account (or VPC). The whole day is this one's, if it is this one.
    sole = _sole_id(report, kind)
    if sole is None:
        return ScopeView(scope_id, kind, "unknown")
    if sole != scope_id:
        return ScopeView(scope_id, kind, "absent")
    t = report.totals
    whole = ScopeFigures(id=scope_id, account_id=scope_id if kind == "account" else None, flows=t.flows,
                         bytes=t.bytes, packets=t.packets, findings=len(report.findings),
                         avoidable_usd_per_month=report.findings_summary.avoidable_usd_per_month)
    return ScopeView(scope_id, kind, "seen", whole, tuple(report.findings))


def _findings_ran(report: Report) -> bool:
    res = report.insights.get("findings")
    return res is not None and res.status == "ok"


def finding_line(f: Finding) -> str:
    """One finding in two lines: its resource, severity, $/month and title; then the fix (the
    main digest's too: message.findings_lines)."""
    money = f" — {usd(f.usd_per_month)}/month" if f.usd_per_month is not None else ""
    return f"*{escape(f.resource.name or f.resource.id)}* ({f.severity}){money}: {escape(f.title)}\n    {escape(f.fix)}"


def findings_text(view: ScopeView, findings_ran: bool) -> str:
    """The top findings (name, $/month, fix: two lines each) and the avoidable total; or the quiet line."""
    if not findings_ran:
        return f"_Findings did not run for this day, so {view.label} has none to show._"
    if not view.findings:
        return f":white_check_mark: No findings for {view.label} today: nothing costly or exposed stands out."
    lines = [finding_line(f) for f in view.findings[:TOP_FINDINGS]]
    more = len(view.findings) - TOP_FINDINGS
    tail = f" ({more} more in the digest)" if more > 0 else ""
    avoidable = view.figures.avoidable_usd_per_month if view.figures else 0.0
    return "\n".join(lines) + f"\n*{usd(avoidable)}/month of avoidable network cost found* for {view.label}{tail}"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def scope_blocks(view: ScopeView, report: Report) -> list[dict[str, Any]]:
    day = report.report_date.isoformat()
    if view.state == "absent":
        return [_section(f":zzz: *{view.label}*: no traffic in {day}'s flow logs; nothing to report.")]
    if view.state == "unknown":
        return [_section(f":grey_question: *{view.label}*: {day}'s flow logs do not say which {view.kind} "
                         f"they come from (add `{FORMAT_FIELD[view.kind]}` to the flow log's format), "
                         "so its part of the day is not known.")]
    assert view.figures is not None
    fig = view.figures
    share = f" ({fig.bytes / report.totals.bytes:.1%} of the day's)" if report.totals.bytes else ""
    fields = [f"*Flows*\n{human_count(fig.flows)}", f"*Bytes*\n{human_bytes(fig.bytes)}{share}",
              f"*Packets*\n{human_count(fig.packets)}", f"*Findings*\n{fig.findings}"]
    return [_section(f"*{view.label}*\n{findings_text(view, _findings_ran(report))}"),
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]}]


def _fallback_text(title: str, views: Sequence[ScopeView]) -> str:
    seen = [v for v in views if v.figures is not None]
    if len(views) == 1 and seen:
        fig = seen[0].figures
        assert fig is not None
        return f"{title}: {human_count(fig.flows)} flows, {human_bytes(fig.bytes)}"
    return f"{title}: {len(seen)} of {len(views)} with traffic"


def build_routed(report: Report, scope_ids: Sequence[str], main_channel: str) -> SlackMessage:
    """The message for a channel that `scope_ids` (account ids, VPC ids) are routed to."""
    day = report.report_date.isoformat()
    views = [scope_view(report, s) for s in scope_ids]
    title = truncate(f"VPC flow logs — {day} (UTC) — {', '.join(v.label for v in views)}", HEADER_TEXT)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    for view in views:
        blocks += scope_blocks(view, report)
    pointer = f"Part of the {day} digest in <#{main_channel}>: the whole day, its charts and details are there"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": pointer}]})
    (text, blocks), *overflow = fit_message(_fallback_text(title, views), blocks)
    thread: list[SlackFile | SlackReply] = [SlackReply(text=t, blocks=b) for t, b in overflow]
    return SlackMessage(report_date=report.report_date, text=text, blocks=blocks, thread=thread)
