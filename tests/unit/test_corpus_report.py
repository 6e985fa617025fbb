"""Whole reports over the real-world corpus files, delivered as AWS's text layout."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

from conftest import run_report

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _text_day(root: Path, files: dict[str, str], day: str, region: str = "eu-central-1") -> None:
    day_dir = root / "AWSLogs/123456789012/vpcflowlogs" / region / day.replace("-", "/")
    day_dir.mkdir(parents=True)
    for src, stamp in files.items():
        key = f"123456789012_vpcflowlogs_{region}_fl-0123456789abcdef0_{stamp}.log.gz"
        (day_dir / key).write_bytes(gzip.compress((CORPUS / src).read_bytes()))


def _report(root: Path, day: str, out: Path) -> dict:
    return json.loads((run_report(root, dt.date.fromisoformat(day), out, charts=False) / "report.json").read_text())


def test_grafana_s3_through_the_nat_gateway_is_classified_as_nat(tmp_path: Path) -> None:
    _text_day(tmp_path / "logs", {"grafana-vpc-flow-logs-analyzer__aws-test_flow_logs.log": "20250804T1535Z_0a1b2c3d"},
              "2025-08-04")
    report = _report(tmp_path / "logs", "2025-08-04", tmp_path / "out")
    rows = report["insights"]["gateway_endpoint"]["rows"]
    # 10.63.37.34 -> 3.5.246.198 (S3), 40672 bytes, logged on the NAT gateway's interface: the interface is
    # recognised as a NAT's because another of its records has pkt-dstaddr 3.75.6.195 != dstaddr 10.63.37.34
    assert rows == [{"service": "S3", "path": "nat", "direction": "to_service", "bytes": 40672, "flows": 1}]
    nat = {r["kind"]: r for r in report["insights"]["nat_gateway"]["rows"]}
    assert nat["total"]["bytes"] == 40672 + 4065  # the public legs: to S3, and in from 85.214.204.244
    assert report["totals"]["nodata_records"] == 1 and report["totals"]["skipdata_records"] == 1


def test_default_format_skips_what_it_cannot_know(tmp_path: Path) -> None:
    # v2 default fields only: no pkt-* or flow-direction, so the AWS-service insights are skipped
    _text_day(tmp_path / "logs", {"elastic-integrations__test-extra-samples.log": "20161031T1135Z_0a1b2c3d"},
              "2016-10-31")
    report = _report(tmp_path / "logs", "2016-10-31", tmp_path / "out")
    ge = report["insights"]["gateway_endpoint"]
    assert ge["status"] == "skipped"
    assert "pkt-dst-aws-service" in ge["reason"] and "${pkt-dst-aws-service}" in ge["reason"]
    assert report["insights"]["nat_gateway"]["status"] == "skipped"
    assert report["insights"]["top_talkers"]["status"] == "ok"
    assert report["insights"]["data_health"]["status"] == "ok"
