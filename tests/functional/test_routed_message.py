"""A routed channel's message, built from a generated day's report.json whose accounts and VPCs
the test assigns (the breakdown rows' figures computed here from that assignment)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from routed_report import VPC, A, B, C, owned, row, two_accounts

from flowdigest.models import Breakdown, Report, SlackMessage
from flowdigest.routed_message import TOP_FINDINGS, build_routed, scope_view
from flowdigest.slack import limits
from flowdigest.slack.limits import escape
from flowdigest.units import human_bytes, human_count, usd

MAIN = "C0MAINCHAN"


@pytest.fixture
def report(sample_report: dict[str, Any]) -> Report:
    """The generated day's report, its findings' accounts cleared (as a format without
    account-id and no S3 prefix give them): each test says whose they are."""
    day = Report.model_validate(sample_report)
    return day.model_copy(update={"findings": [owned(f, account_id=None, region=None) for f in day.findings]})


def texts(message: SlackMessage) -> list[str]:
    out = []
    for block in message.blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", [])] + [e["text"] for e in block.get("elements", [])]
    return out


def shown_resources(message: SlackMessage) -> list[str]:
    return [m.group(1) for t in texts(message) for m in re.finditer(r"^\*(.+?)\* \((?:high|medium|low|info)\)", t,
                                                                    re.MULTILINE)]


def test_an_accounts_channel_gets_its_figures_its_top_findings_and_its_avoidable_cost(report):
    day, mine = two_accounts(report)
    assert len(mine[A]) > TOP_FINDINGS  # the sample day has enough findings to cut
    message = build_routed(day, [A], MAIN)
    figures = day.breakdown.accounts[0]
    body = "\n".join(texts(message))

    assert message.blocks[0]["text"]["text"] == f"VPC flow logs — {day.report_date} (UTC) — account {A}"
    assert shown_resources(message) == [escape(f.resource.name or f.resource.id) for f in mine[A][:TOP_FINDINGS]]
    for f in mine[A][:TOP_FINDINGS]:
        if f.usd_per_month is not None:
            assert f"— {usd(f.usd_per_month)}/month: " in body
        assert f"\n    {escape(f.fix)}" in body
    assert (f"*{usd(figures.avoidable_usd_per_month)}/month of avoidable network cost found* for account {A} "
            f"({len(mine[A]) - TOP_FINDINGS} more in the digest)") in body
    assert f"*Bytes*\n{human_bytes(figures.bytes)} (75.0% of the day's)" in body
    assert f"*Flows*\n{human_count(figures.flows)}" in body and f"*Findings*\n{len(mine[A])}" in body
    assert f"Part of the {day.report_date} digest in <#{MAIN}>" in body
    assert message.text == f"{message.blocks[0]['text']['text']}: {human_count(figures.flows)} flows, " \
                           f"{human_bytes(figures.bytes)}"
    assert message.thread == []
    assert limits.fit_message(message.text, message.blocks) == [(message.text, message.blocks)]  # fits as is


def test_each_finding_is_two_lines_and_another_accounts_findings_stay_out(report):
    day, mine = two_accounts(report)
    message = build_routed(day, [B], MAIN)
    lead = texts(message)[1]
    lines = lead.splitlines()[1:]  # after the account's name
    finding_lines, total_line = lines[:-1], lines[-1]
    assert len(finding_lines) == 2 * min(TOP_FINDINGS, len(mine[B]))
    assert all(line.startswith("    ") for line in finding_lines[1::2])  # the fix, under its finding
    assert total_line.startswith(f"*{usd(day.breakdown.accounts[1].avoidable_usd_per_month)}/month of avoidable")
    assert set(shown_resources(message)) <= {escape(f.resource.name or f.resource.id) for f in mine[B]}


def test_an_account_without_findings_gets_the_quiet_line(report):
    day, _ = two_accounts(report)
    quiet = day.model_copy(update={"findings": [f for f in day.findings if f.resource.account_id != B]})
    body = "\n".join(texts(build_routed(quiet, [B], MAIN)))
    assert f":white_check_mark: No findings for account {B} today" in body and "avoidable" not in body
    assert f"*Bytes*\n{human_bytes(day.breakdown.accounts[1].bytes)}" in body


def test_an_account_with_no_traffic_that_day_gets_one_line_saying_so(report):
    day, _ = two_accounts(report)
    message = build_routed(day, [C], MAIN)
    assert texts(message)[1] == f":zzz: *account {C}*: no traffic in {day.report_date}'s flow logs; nothing to report."
    assert len(message.blocks) == 3  # header, that line, the pointer to the digest
    assert scope_view(day, C).state == "absent"


def test_a_channel_routed_several_scopes_gets_each_part_in_one_message(report):
    day, _ = two_accounts(report)
    vpc_findings = [f for f in day.findings if f.resource.vpc_id == VPC]
    vpcs = [row(VPC, vpc_findings, 0.5, day, A)]
    day = day.model_copy(update={"breakdown": Breakdown(accounts=day.breakdown.accounts, vpcs=vpcs)})
    message = build_routed(day, [B, VPC], MAIN)
    body = "\n".join(texts(message))
    assert message.blocks[0]["text"]["text"].endswith(f"— account {B}, VPC {VPC} (account {A})")
    assert f"*account {B}*" in body and f"*VPC {VPC} (account {A})*" in body
    assert vpc_findings and f"avoidable network cost found* for VPC {VPC} (account {A})" in body


def test_a_day_with_one_account_is_that_accounts_whole_day(report):
    """An empty breakdown list: the day has one account; the findings say which."""
    single = report.model_copy(update={"findings": [owned(f, account_id=A) for f in report.findings]})
    view = scope_view(single, A)
    assert view.state == "seen" and view.figures is not None
    assert (view.figures.flows, view.figures.bytes) == (report.totals.flows, report.totals.bytes)
    assert len(view.findings) == len(report.findings)
    body = "\n".join(texts(build_routed(single, [A], MAIN)))
    assert f"*{usd(report.findings_summary.avoidable_usd_per_month)}/month of avoidable network cost found*" in body
    assert "(100.0% of the day's)" in body
    assert scope_view(single, B).state == "absent"


def test_a_day_that_does_not_say_its_account_says_so_and_names_the_field(report):
    # the findings carry no account id, no filter was applied, no VPC row names one
    view = scope_view(report, A)
    assert view.state == "unknown"
    body = "\n".join(texts(build_routed(report, [A], MAIN)))
    assert "do not say which account they come from (add `${account-id}` to the flow log's format)" in body
    assert scope_view(report, VPC).state == "seen"  # its findings name the one VPC


def test_the_filter_applied_says_which_account_the_day_is(report):
    filtered = report.model_copy(update={"scope": {"account": [A]}})
    assert scope_view(filtered, A).state == "seen" and scope_view(filtered, B).state == "absent"


def test_findings_that_did_not_run_are_not_shown_as_none(report):
    day, _ = two_accounts(report)
    insights = {k: v for k, v in day.insights.items() if k != "findings"}
    body = "\n".join(texts(build_routed(day.model_copy(update={"insights": insights}), [A], MAIN)))
    assert "Findings did not run for this day" in body and "No findings" not in body


def test_the_same_report_builds_the_same_message(report):
    day, _ = two_accounts(report)
    again = Report.model_validate_json(day.model_dump_json())
    assert build_routed(day, [A, B], MAIN) == build_routed(again, [A, B], MAIN)


def test_many_scopes_in_one_channel_still_fit_slacks_limits(report):
    vpcs = [f"vpc-{i:017x}" for i in range(40)]
    rows = [row(v, [], 1 / 40, report, A) for v in vpcs]
    day = report.model_copy(update={"breakdown": Breakdown(vpcs=rows)})
    message = build_routed(day, vpcs, MAIN)
    assert len(message.blocks) <= limits.MAX_BLOCKS and message.thread  # the rest continues in the thread
    assert len(message.blocks[0]["text"]["text"]) <= limits.HEADER_TEXT
    shown = "\n".join(texts(message)) + "\n".join(b["text"]["text"] for r in message.thread  # type: ignore[union-attr]
                                                    for b in r.blocks if "text" in b)
    assert all(f"*VPC {v} (account {A})*" in shown for v in vpcs)
