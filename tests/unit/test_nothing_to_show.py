"""Days with nothing to show say so, and draw nothing: every file unreadable, or only NODATA."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_report

DAY = dt.date(2026, 11, 20)
HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
          "action log-status")


def _epoch(hour: int) -> int:
    return int(dt.datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=dt.UTC).timestamp())


def test_every_file_unreadable_is_named_in_the_summary(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "flowdigest.cli", "run", "--source", str(logs), "--date",
                             str(DAY), "--skip-bad-files", "--no-charts", "--out", str(out), "-q"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    message = json.loads((out / DAY.isoformat() / "message.json").read_text())
    assert "could not be read" in message["text"] and "delivered" in message["text"]
    summary = message["blocks"][1]["text"]["text"]
    assert "a.log.gz" in summary and "no flow logs were delivered" not in summary.lower()
    report = json.loads((out / DAY.isoformat() / "report.json").read_text())
    reasons = {e["reason"] for e in report["insights"].values()}
    assert reasons == {f"every flow-log file delivered for {DAY} was unreadable (1 skipped)"}


@pytest.mark.chromium
def test_a_day_of_only_nodata_draws_no_empty_charts(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [HEADER] + [f"2 123456789012 eni-0a1b2c3d4e5f6a7b{h % 10} - - - - - - - "
                        f"{_epoch(h)} {_epoch(h) + 60} - NODATA" for h in range(24)]
    (logs / "day.log").write_text("\n".join(lines) + "\n")
    report = json.loads((run_report(logs, DAY, tmp_path / "out", charts=True) / "report.json").read_text())
    assert report["totals"]["flows"] == 0 and report["totals"]["nodata_records"] == 24
    assert report["charts"] == []  # no history either, so not even the headline's
    assert not list((tmp_path / "out" / DAY.isoformat()).glob("*.png"))
    assert report["insights"]["top_talkers"]["status"] == "ok"  # its summary says there was no traffic
