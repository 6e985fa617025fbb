"""The payloads that pass between the pipeline's steps.

They are the same in-process (the CLI) and between Lambdas (Step Functions), so every
model is JSON-serialisable and small: raw rows never travel, only aggregates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DayPlan(_Model):
    """Step 1 (prepare): what is there to report on for one day."""

    report_date: dt.date
    columns: list[str]  # flow-log columns the day's data carries
    files: int  # flow-log objects delivered for the day
    source_bytes: int  # their total size
    hours_present: list[int]  # UTC hours with at least one delivered file
    insights: list[str]  # insight ids to query, in report order
    skipped: dict[str, str] = Field(default_factory=dict)  # insight id -> why it cannot run
    history_days: list[dt.date] = Field(default_factory=list)  # earlier days with a rollup
    bad_files: list[tuple[str, str]] = Field(default_factory=list)  # (file, reason) skipped by option


class InsightResult(_Model):
    """Step 2 (one per insight): the insight's aggregated rows, or why it was skipped."""

    id: str
    status: Literal["ok", "skipped"]
    reason: str | None = None
    rows: list[dict[str, Any]] = Field(default_factory=list)


class ChartRef(_Model):
    insight: str
    file: str  # file name (locally) or object key suffix (S3), e.g. "top_talkers.png"
    title: str
    alt_text: str
    width: int
    height: int


class RenderOutput(_Model):
    """Step 3 (render): where the report and message were stored, and the headline."""

    report_date: dt.date
    report_key: str
    message_key: str
    charts: list[ChartRef]
    headline: str


class SlackFile(_Model):
    kind: Literal["file"] = "file"
    file: str  # a ChartRef.file, relative to the report folder
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
