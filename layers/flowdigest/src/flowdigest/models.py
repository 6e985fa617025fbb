"""The payloads that pass between the pipeline's steps.

They are the same in-process (the CLI) and between Lambdas (Step Functions), so every
model is JSON-serialisable and small: raw rows never travel, only aggregates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowdigest.findings.model import Finding
from flowdigest.inventory.models import NameType
from flowdigest.pricing import Prices


class _Model(BaseModel):
    # in report.json every field is there, defaults too: the schema says so
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class Totals(_Model):
    """The report day's totals over its OK records, whichever insights run. A figure the
    flow log's format cannot give (accepted / rejected without `action`) is None."""

    flows: int
    bytes: int
    packets: int
    accepted_flows: int | None
    rejected_flows: int | None
    nodata_records: int
    skipdata_records: int


class DayPlan(_Model):
    """Step 1 (prepare): what is there to report on for one day."""

    report_date: dt.date
    columns: list[str]  # VPC flow-log columns the day's data carries
    tgw_columns: list[str] = Field(default_factory=list)  # ... and its Transit Gateway flow logs'
    files: int  # flow-log objects delivered for the day
    source_bytes: int  # their total size
    hours_present: list[int]  # UTC hours with at least one delivered file
    insights: list[str]  # insight ids to query, in report order
    skipped: dict[str, str] = Field(default_factory=dict)  # insight id -> why it cannot run
    history_days: list[dt.date] = Field(default_factory=list)  # earlier days with a rollup
    bad_files: list[tuple[str, str]] = Field(default_factory=list)  # (file, reason) skipped by option
    totals: Totals | None = None  # the day's totals, from its rollup (None: not computed)
    scope: dict[str, list[str]] = Field(default_factory=dict)  # the run's filters (flowdigest.scope)
    # per account, Region and VPC: flows, bytes, packets (breakdown.sql), for report.json's breakdown
    scope_rows: list[dict[str, Any]] = Field(default_factory=list)
    places: dict[str, list[str | None]] = Field(default_factory=dict)  # vpc/subnet/interface -> [account, region, vpc]
    # bytes Athena billed for this step's queries (the rollups, the totals); None: not on Athena
    athena_billed_bytes: int | None = None


class InsightResult(_Model):
    """Step 2 (one per insight): the insight's aggregated rows, or why it was skipped. The
    report fills in the rest from the insight's Python (title, summary, details, chart_alt)."""

    id: str
    status: Literal["ok", "skipped"]
    reason: str | None = None  # why it was skipped
    rows: list[dict[str, Any]] = Field(default_factory=list)
    title: str | None = None
    summary: str | None = None
    details: list[str] = Field(default_factory=list)
    chart_alt: str | None = None  # the alt text of its chart, when it has one
    athena_billed_bytes: int | None = None  # what Athena billed for its query; None: not on Athena


class Chart(_Model):
    insight: str
    file: str  # file name (locally) or object key suffix (S3), e.g. "top_talkers.png"
    title: str
    alt_text: str
    width: int
    height: int


ChartRef = Chart  # its former name


class BadFile(_Model):
    file: str
    reason: str


class Source(_Model):
    files: int  # flow-log files read for the day
    bytes: int  # their total size
    bad_files: list[BadFile] = Field(default_factory=list)  # unreadable, skipped by --skip-bad-files


class Change(_Model):
    value: int | float  # the earlier figure: the previous day's count, or the median
    change_pct: float | None  # the report day against it; None when it was 0


class Comparison(_Model):
    """The report day against the previous day and the 7-day median (the headline's rows)."""

    previous_day: dict[str, Change] | None  # metric -> change; None without that day's rollup
    median_7d: dict[str, Change] | None  # None without any earlier day
    history_days: int


class DataHealth(_Model):
    hours_present: list[int]
    hours_missing: list[int]
    summary: str
    history_days: list[dt.date]


class FindingsSummary(_Model):
    """The findings' figures: avoidable cost (non-info findings), counts, and what was not shown."""

    avoidable_usd_per_month: float = 0.0
    by_severity: dict[str, int] = Field(default_factory=dict)  # high, medium, low, info -> count
    suppressed: int = 0  # findings hidden by the config's suppressions
    suppressed_by: dict[str, int] = Field(default_factory=dict)  # suppression reason -> findings hidden
    skipped: dict[str, str] = Field(default_factory=dict)  # finding kind -> why the day's data cannot give it


class ScopeFigures(_Model):
    """One account's or one VPC's share of the day (report.json `breakdown`)."""

    id: str  # the account id, or the VPC id
    account_id: str | None  # an account row: its own id; a VPC row: the VPC's account, when known
    flows: int
    bytes: int
    packets: int
    findings: int  # findings whose resource is in it
    avoidable_usd_per_month: float  # those findings' usd_per_month, info ones left out


class Breakdown(_Model):
    """Totals and findings per account and per VPC. A list is empty when the day has only one."""

    accounts: list[ScopeFigures] = Field(default_factory=list)  # most bytes first
    vpcs: list[ScopeFigures] = Field(default_factory=list)  # most bytes first


class NameEntry(_Model):
    """report.json's `names` map entry: the resource behind an address or interface id."""

    name: str | None  # None: the inventory does not know it (never a guess)
    type: NameType
    interface_id: str | None
    instance_id: str | None
    subnet_id: str | None
    vpc_id: str | None
    az_id: str | None


class ResourceBytes(_Model):
    """One row of top talkers by resource: an ECS service, ASG or node group (40 tasks of one
    service are one row), else one resource; an interface the inventory lacks is its own row."""

    name: str  # the service / group name, else the resource's label, else the interface id
    type: NameType
    grouped_by: str | None  # the tag that grouped it (aws:ecs:serviceName, …); None: one resource
    interfaces: int  # its interfaces that wrote records that day
    interface_ids: list[str]  # those interfaces (raw ids), busiest first; the first 100 of a larger group
    bytes: int  # bytes on those interfaces (in and out, as each interface's records count them)


class InventoryOutput(_Model):
    """Step (inventory): where the day's snapshot is stored and what it says about the day."""

    report_date: dt.date
    inventory_key: str | None  # None: names unavailable
    available: bool
    reason: str | None = None  # when not available
    data_health: list[str] = Field(default_factory=list)  # coverage and gap lines
    named_share: float | None = None  # the day's bytes on interfaces the inventory names
    resources: list[ResourceBytes] = Field(default_factory=list)  # top talkers by resource
    athena_billed_bytes: int | None = None  # what Athena billed for its query; None: not on Athena
    # The NAT gateway rule for the insight queries (naming.nat_rule): the day's interfaces that
    # are NAT gateways' and their private addresses; None: the records decide (no inventory)
    nat_interfaces: list[str] | None = None
    nat_addresses: list[str] = Field(default_factory=list)


class Report(_Model):
    """report.json: everything the message and the charts are drawn from."""

    report_date: dt.date
    generated_at: str  # UTC, ISO 8601 to the second
    flowdigest_version: str
    source: Source
    fields: list[str]  # the flow-log columns the day's data carries
    prices: Prices
    totals: Totals
    comparison: Comparison | None  # None when the headline insight did not run
    data_health: DataHealth
    insights: dict[str, InsightResult]  # in report order
    charts: list[Chart] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)  # largest usd_per_month first (findings.model.rank)
    findings_summary: FindingsSummary = Field(default_factory=FindingsSummary)
    names: dict[str, NameEntry] = Field(default_factory=dict)  # address / interface id -> resource
    scope: dict[str, list[str]] = Field(default_factory=dict)  # filters applied: account, region, vpc -> ids
    breakdown: Breakdown = Field(default_factory=Breakdown)
    # the top talkers by resource, beside insights.top_talkers' rows by address pair (empty without inventory)
    top_talkers_by_resource: list[ResourceBytes] = Field(default_factory=list)


class RenderOutput(_Model):
    """Step 3 (render): where the report and message were stored, and the headline."""

    report_date: dt.date
    report_key: str
    message_key: str
    charts: list[Chart]
    headline: str


class SlackFile(_Model):
    kind: Literal["file"] = "file"
    file: str  # a Chart.file, relative to the report folder
    title: str
    alt_text: str


class SlackReply(_Model):
    kind: Literal["message"] = "message"
    text: str  # plain-text fallback (notifications, screen readers)
    blocks: list[dict[str, Any]]


class SlackMessage(_Model):
    """message.json: the summary message and the thread that follows it, in order."""

    report_date: dt.date
    text: str
    blocks: list[dict[str, Any]]
    thread: list[SlackFile | SlackReply]


def report_schema() -> dict[str, Any]:
    """report.json's JSON Schema, as docs/report.schema.json holds it."""
    schema = Report.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


if __name__ == "__main__":  # python -m flowdigest.models --schema > docs/report.schema.json
    import json
    import sys

    if sys.argv[1:] != ["--schema"]:
        sys.exit("usage: python -m flowdigest.models --schema   (prints report.json's JSON Schema)")
    print(json.dumps(report_schema(), indent=2))
