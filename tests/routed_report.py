"""A report day split between accounts, for the routing tests (issue 15): a generated day's
report.json whose accounts the test assigns, its breakdown rows computed from that assignment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from slack_api_server import FakeSlack, PostedMessage, sample_message, write_report

from flowdigest.findings.model import Finding
from flowdigest.models import Breakdown, Report, ScopeFigures, SlackMessage

A, B, C = "111111111111", "222222222222", "333333333333"  # A and B share the day; C saw nothing
VPC = "vpc-00bfa4195100139a1"  # the sample network's VPC


def owned(finding: Finding, **ids: str | None) -> Finding:
    return finding.model_copy(update={"resource": finding.resource.model_copy(update=ids)})


def row(scope_id: str, findings: list[Finding], share: float, total: Report, account: str | None) -> ScopeFigures:
    """`share` of the day's totals, and the figures of `findings` (its avoidable cost: the non-info ones)."""
    t = total.totals
    return ScopeFigures(id=scope_id, account_id=account, flows=int(t.flows * share), bytes=int(t.bytes * share),
                        packets=int(t.packets * share), findings=len(findings),
                        avoidable_usd_per_month=sum(f.usd_per_month or 0.0 for f in findings if f.severity != "info"))


def two_accounts(report: Report) -> tuple[Report, dict[str, list[Finding]]]:
    """The day split between accounts A (3/4 of it) and B: findings alternate, A first."""
    findings = [owned(f, account_id=A if i % 2 == 0 else B) for i, f in enumerate(report.findings)]
    mine = {acct: [f for f in findings if f.resource.account_id == acct] for acct in (A, B)}
    accounts = [row(A, mine[A], 0.75, report, A), row(B, mine[B], 0.25, report, B)]
    return report.model_copy(update={"findings": findings, "breakdown": Breakdown(accounts=accounts)}), mine


def write_routed_report(folder: Path, report: Report, day: dt.date | None = None) -> tuple[SlackMessage, Report]:
    """A report folder: the main message with its charts (slack_api_server.sample_message) and a
    report.json split between A and B, both for `day` (default: the report's)."""
    day = day or report.report_date
    split, _ = two_accounts(report.model_copy(update={"report_date": day}))
    message, _ = write_report(folder, sample_message(day))
    (folder / "report.json").write_text(split.model_dump_json(indent=2), encoding="utf-8")
    return message, split


def day_posts(slack: FakeSlack, channel: str, day: dt.date) -> list[PostedMessage]:
    """The top-level messages in `channel` that are `day`'s (by the metadata every post carries)."""
    return [m for m in slack.top_level(channel)
            if (m.metadata or {}).get("event_payload", {}).get("report_date") == day.isoformat()]


def assert_routed_once(slack: FakeSlack, channel: str, expected: SlackMessage) -> None:
    """`channel` holds `expected` once for its day, as its only top-level post that day, with no thread."""
    posts = day_posts(slack, channel, expected.report_date)
    assert len(posts) == 1, [m.text for m in posts]
    assert (posts[0].text, posts[0].blocks) == (expected.text, expected.blocks)
    assert slack.thread(posts[0].ts) == []
