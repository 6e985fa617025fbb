"""The command line: --help everywhere, and user errors as one line with a non-zero exit."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from flowdigest import cli

COMMANDS = ["demo", "run", "post", "sample"]


def flowdigest(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowdigest.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_help(command: list[str]) -> None:
    result = flowdigest(*command, "--help")
    assert result.returncode == 0
    assert "usage: flowdigest" in result.stdout


def _error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_bad_date(tmp_path: Path) -> None:
    line = _error(flowdigest("run", "--source", str(tmp_path), "--date", "2026-13-01"))
    assert "'2026-13-01' is not a date in the form YYYY-MM-DD" in line


def test_future_date(tmp_path: Path) -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    line = _error(flowdigest("run", "--source", str(tmp_path), "--date", tomorrow.isoformat()))
    assert "is in the future" in line


@pytest.mark.parametrize("command", [["run", "--source", "."], ["demo"], ["sample", "--out", "x"]])
def test_a_date_before_flow_logs_existed(command: list[str], tmp_path: Path) -> None:
    result = flowdigest(*command, "--date", "0001-01-01", cwd=tmp_path)
    assert "before 2015-06-10, when VPC Flow Logs began" in _error(result)
    assert result.returncode == 2


def test_sample_days_reaching_before_flow_logs_existed(tmp_path: Path) -> None:
    result = flowdigest("sample", "--out", str(tmp_path), "--date", "2015-06-12", "--days", "4")
    assert "--days 4 from --date 2015-06-12 reaches back before 2015-06-10" in _error(result)
    assert result.returncode == 2 and not any(tmp_path.iterdir())


def test_unknown_insight(tmp_path: Path) -> None:
    line = _error(flowdigest("run", "--source", str(tmp_path), "--date", "2026-01-01", "--insights", "top_talker"))
    assert "unknown insight top_talker" in line and "top_talkers" in line


def test_missing_source(tmp_path: Path) -> None:
    line = _error(flowdigest("run", "--source", str(tmp_path / "nope"), "--date", "2026-01-01"))
    assert "nope" in line and "no such folder" in line


def test_main_returns_code_instead_of_raising(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "--source", str(tmp_path / "nope"), "--date", "2026-01-01", "-q"])
    assert code == cli.EXIT_INPUT
    assert capsys.readouterr().err.startswith("flowdigest: error: --source")
