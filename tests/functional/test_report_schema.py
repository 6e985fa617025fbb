"""report.json is the typed Report, and docs/report.schema.json is its current JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

from flowdigest.models import Report, report_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "report.schema.json"


def test_schema_file_is_current() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == report_schema(), (
        "docs/report.schema.json is stale: python -m flowdigest.models --schema > docs/report.schema.json")


def test_report_json_is_a_report(sample_report: dict) -> None:
    # what was written parses back into the model, and dumps to the same JSON
    assert Report.model_validate(sample_report).model_dump(mode="json") == sample_report
    assert set(sample_report) == set(report_schema()["required"])
