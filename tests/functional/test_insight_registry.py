"""Adding an insight is adding one folder: a query.sql and its Python, nothing else edited."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import oracle
import pytest
from conftest import REPORT_DAY, run_report

from flowdigest import insights
from flowdigest.insights import INSIGHTS, BadInsightFolder, register_folder
from flowdigest.units import human_bytes

QUERY = """-- the interface that carried the most bytes (OK records)
SELECT interface_id, SUM(bytes) AS bytes
FROM {rollup}
WHERE dt = '{date}' AND rollup_set = 'hours' AND COALESCE(log_status, 'OK') = 'OK'
GROUP BY interface_id
ORDER BY bytes DESC, interface_id
LIMIT 1
"""
PYTHON = '''
from flowdigest.insights.base import Insight
from flowdigest.units import human_bytes


def summary(rows, ctx):
    return f"busiest interface {rows[0]['interface_id']} ({human_bytes(rows[0]['bytes'])})"


INSIGHT = Insight(id="busiest_interface", title="Busiest interface", needs=("interface_id", "bytes"),
                  summary=summary, order=15, summary_rank=0)
'''


def _write_insight(parent: Path) -> Path:
    folder = parent / "busiest_interface"
    folder.mkdir(parents=True)
    (folder / "query.sql").write_text(QUERY)
    (folder / "__init__.py").write_text(PYTHON)
    return parent


@pytest.fixture
def registry() -> Iterator[None]:
    saved = dict(INSIGHTS)
    yield
    INSIGHTS.clear()
    INSIGHTS.update(saved)


def _busiest(records: list) -> tuple[str, int]:
    per: dict[str, int] = defaultdict(int)
    for r in oracle.ok(records):
        per[r["interface_id"]] += r["bytes"]
    return min(per.items(), key=lambda kv: (-kv[1], kv[0]))


@pytest.mark.slow
def test_a_new_folder_is_a_new_insight(sample_root: Path, tmp_path: Path, registry: None) -> None:
    assert register_folder(_write_insight(tmp_path / "extra")) == ["busiest_interface"]
    assert list(INSIGHTS)[:2] == ["headline", "busiest_interface"]  # by its order
    out = run_report(sample_root, REPORT_DAY, tmp_path / "out", charts=False)
    report = json.loads((out / "report.json").read_text())
    eni, nbytes = _busiest(oracle.read_day(sample_root, REPORT_DAY))
    entry = report["insights"]["busiest_interface"]
    assert entry["rows"] == [{"interface_id": eni, "bytes": nbytes}]
    line = f"busiest interface {eni} ({human_bytes(nbytes)})"
    assert entry["summary"] == line
    message = json.loads((out / "message.json").read_text())
    leading = message["blocks"][3]["text"]["text"].splitlines()  # header, findings, figures, then these
    assert leading[0] == f"*Busiest interface:* {line}"  # summary_rank 0 leads the summary


@pytest.mark.slow
def test_insights_path_variable_adds_folders(sample_root: Path, tmp_path: Path) -> None:
    extra = _write_insight(tmp_path / "extra")
    env = {**os.environ, insights.PATH_VARIABLE: str(extra)}
    subprocess.run([sys.executable, "-m", "flowdigest.cli", "run", "--quiet", "--source", str(sample_root),
                    "--date", REPORT_DAY.isoformat(), "--out", str(tmp_path / "out"), "--no-charts",
                    "--insights", "busiest_interface"], env=env, check=True, capture_output=True)
    report = json.loads((tmp_path / "out" / REPORT_DAY.isoformat() / "report.json").read_text())
    eni, nbytes = _busiest(oracle.read_day(sample_root, REPORT_DAY))
    assert report["insights"]["busiest_interface"]["rows"] == [{"interface_id": eni, "bytes": nbytes}]


def test_a_folder_whose_id_differs_is_refused(tmp_path: Path, registry: None) -> None:
    folder = _write_insight(tmp_path / "extra") / "busiest_interface"
    folder.rename(tmp_path / "extra" / "other_name")
    refused = re.escape("INSIGHT.id is 'busiest_interface', but its folder is 'other_name'")
    with pytest.raises(BadInsightFolder, match=refused):
        register_folder(tmp_path / "extra")
    with pytest.raises(BadInsightFolder, match="no insight folder"):
        register_folder(tmp_path / "nothing")


def test_a_bad_insights_path_is_one_line(tmp_path: Path) -> None:
    broken = _write_insight(tmp_path / "extra") / "busiest_interface" / "__init__.py"
    broken.write_text("INSIGHT = Insight(")  # a syntax error in the folder's Python
    env = {**os.environ, insights.PATH_VARIABLE: str(tmp_path / "extra")}
    done = subprocess.run([sys.executable, "-m", "flowdigest.cli", "run", "--source", str(tmp_path),
                           "--date", REPORT_DAY.isoformat(), "--out", str(tmp_path / "out")],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stderr.startswith(f"flowdigest: error: {insights.PATH_VARIABLE}: {broken}: SyntaxError")
    assert len(done.stderr.splitlines()) == 1
