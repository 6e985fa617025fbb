"""Shared fixtures: generated sample days and the report run over them (no charts), the local
Slack server, moto's dummy credentials."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

REPORT_DAY = dt.date(2026, 11, 20)
RECORDS = 20_000


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight generated days ending REPORT_DAY, in AWS's Parquet layout."""
    from flowdigest import sample

    root = tmp_path_factory.mktemp("flowlogs")
    sample.generate_days(root, REPORT_DAY, days=8, records=RECORDS, seed=7)
    return root


@pytest.fixture(scope="session")
def org_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An organisation's report day: 3 accounts × 2 Regions × 2 VPCs, each under its prefix."""
    from flowdigest.sample import DayProfile
    from flowdigest.sample.org import generate_org_days

    root = tmp_path_factory.mktemp("org")
    generate_org_days(root, REPORT_DAY, accounts=3, regions=2, vpcs=2, days=1, records=30_000, seed=5,
                      profile=DayProfile(files_per_hour=1))
    return root


def run_report(source: Path, day: dt.date, out: Path, **options: Any) -> Path:
    """runner.run_day, then the report folder it wrote: out/<date>."""
    from flowdigest.runner import run_day

    output = run_day(source, day, out, **options)
    return out / output.report_key.rpartition("/")[0]


def load_report(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "report.json").read_text())


@pytest.fixture(scope="session")
def sample_report(sample_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out")
    return load_report(run_report(sample_root, REPORT_DAY, out, charts=False))


@pytest.fixture
def slack() -> Any:
    """The local Slack Web API server (tests/slack_api_server.py), one per test."""
    from slack_api_server import FakeSlack

    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and a region for moto: no real account is ever reached."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
