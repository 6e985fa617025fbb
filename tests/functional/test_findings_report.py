"""report.json's findings (ranked, summarised) and the Slack summary that leads with them."""

from __future__ import annotations

import datetime as dt

from flowdigest import message, report
from flowdigest.findings.model import SEVERITIES
from flowdigest.models import DayPlan, InsightResult, Report
from flowdigest.pricing import Prices
from flowdigest.slack.limits import escape

DAY = dt.date(2026, 3, 1)


def test_sample_report_findings_are_ranked_and_summarised(sample_report: dict) -> None:
    found = sample_report["findings"]
    assert found, "the sample day has findings"
    priced = [f["usd_per_month"] for f in found if f["usd_per_month"] is not None]
    assert priced == sorted(priced, reverse=True)
    summary = sample_report["findings_summary"]
    assert summary["by_severity"] == {s: sum(1 for f in found if f["severity"] == s) for s in SEVERITIES}
    avoidable = sum(f["usd_per_month"] or 0 for f in found if f["severity"] != "info")
    assert abs(summary["avoidable_usd_per_month"] - avoidable) < 1e-9


def test_the_summary_leads_with_the_findings(sample_report: dict) -> None:
    rep = Report.model_validate(sample_report)
    lead = message.build(rep).blocks[1]["text"]["text"]
    top = rep.findings[0]
    assert lead.splitlines()[0].startswith(f"*{escape(top.resource.name or top.resource.id)}*")
    shown = min(len(rep.findings), message.TOP_FINDINGS)
    assert len(lead.splitlines()) >= 2 * shown + 1  # two lines each, then the total
    total = rep.findings_summary.avoidable_usd_per_month
    assert f"${total:,.2f}/month of avoidable network cost found" in lead


def _quiet_report() -> Report:
    plan = DayPlan(report_date=DAY, columns=["interface_id", "srcaddr", "dstaddr", "bytes"], files=1,
                   source_bytes=1000, hours_present=list(range(24)), insights=["findings"])
    return report.build(plan, [InsightResult(id="findings", status="ok", rows=[])], Prices())


def test_a_quiet_day_says_so_in_one_line() -> None:
    rep = _quiet_report()
    assert rep.findings == []
    assert rep.findings_summary.avoidable_usd_per_month == 0
    blocks = message.build(rep).blocks
    assert blocks[1]["text"]["text"] == message.QUIET_LINE


def test_the_render_lambda_reads_the_findings_config_from_its_environment() -> None:
    import pytest

    from flowdigest.aws.errors import SettingsError
    from flowdigest.aws.settings import RenderSettings

    env = {"FLOWDIGEST_STORE_DIR": "/tmp/flowdigest-store"}
    got = RenderSettings.from_env({**env, "FLOWDIGEST_FINDINGS_CONFIG": '{"thresholds": {"min_usd_per_month": 1}}'})
    assert got.findings_config.thresholds.min_usd_per_month == 1
    with pytest.raises(SettingsError, match=r"FLOWDIGEST_FINDINGS_CONFIG: suppress\[0\]\.kind = 'x'"):
        RenderSettings.from_env({**env, "FLOWDIGEST_FINDINGS_CONFIG": '{"suppress": [{"kind": "x", "match": "y"}]}'})
