"""Bad and odd input through the command line: one clear line, a non-zero exit, nothing readable lost."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import oracle
import pytest

from flowdigest import sample
from flowdigest.sources import text

DAY = dt.date(2026, 11, 20)
CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def flowdigest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowdigest.cli", *args, "--no-charts"],
                          capture_output=True, text=True, timeout=300)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("flowdigest: error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture
def day(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    sample.generate_day(root, DAY, records=3_000, seed=5)
    return root


def hour_files(root: Path, hour: int) -> list[Path]:
    return sorted(root.glob(f"**/day={DAY:%d}/hour={hour:02d}/*.parquet"))


def report(out: Path) -> dict:
    return json.loads((out / DAY.isoformat() / "report.json").read_text())


def test_truncated_parquet_stops_the_run_naming_it(day: Path, tmp_path: Path) -> None:
    bad = hour_files(day, 10)[0]
    bad.write_bytes(bad.read_bytes()[:1000])
    line = one_error_line(flowdigest("run", "--source", str(day), "--date", str(DAY), "--out", str(tmp_path / "o")))
    assert bad.name in line and "truncated or corrupt" in line
    assert not (tmp_path / "o" / DAY.isoformat() / "report.json").exists()


def test_skip_bad_files_lists_them_and_loses_nothing_else(day: Path, tmp_path: Path) -> None:
    truncated = hour_files(day, 10)[0]
    good_records = oracle.read_day(day, DAY, skip=[truncated])
    truncated.write_bytes(truncated.read_bytes()[:1000])
    empty = truncated.with_name("zero-bytes.log.parquet")
    empty.write_bytes(b"")
    out = tmp_path / "o"
    result = flowdigest("run", "--source", str(day), "--date", str(DAY), "--out", str(out), "--skip-bad-files")
    assert result.returncode == 0, result.stderr
    rep = report(out)
    assert sorted(Path(b["file"]).name for b in rep["source"]["bad_files"]) == sorted([truncated.name, empty.name])
    assert rep["totals"] == oracle.totals(good_records)
    message = json.loads((out / DAY.isoformat() / "message.json").read_text())
    assert "2 unreadable files skipped" in json.dumps(message["blocks"])


@pytest.mark.slow
def test_text_day_with_a_truncated_gzip_in_the_middle(day: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    text_root = tmp_path / "text"
    day_dir = text_root / f"AWSLogs/123456789012/vpcflowlogs/us-east-1/{DAY:%Y/%m/%d}"
    day_dir.mkdir(parents=True)
    hours = sorted({p.parent.name for p in day.glob("**/hour=*/*.parquet")})
    for i, h in enumerate(hours):
        files = hour_files(day, int(h.split("=")[1]))
        body = b"".join(text.format_text(pq.read_table(f)) for f in files)  # headers repeat, as concatenated
        name = f"123456789012_vpcflowlogs_us-east-1_fl-0abc_{DAY:%Y%m%d}T{h[-2:]}00Z_{i:08x}.log.gz"
        data = gzip.compress(body)
        (day_dir / name).write_bytes(data[: len(data) // 2] if h == "hour=12" else data)
    out = str(tmp_path / "o")
    line = one_error_line(flowdigest("run", "--source", str(text_root), "--date", str(DAY), "--out", out))
    assert "T1200Z" in line and "gzip" in line
    result = flowdigest("run", "--source", str(text_root), "--date", str(DAY), "--out", str(tmp_path / "o"),
                        "--skip-bad-files")
    assert result.returncode == 0, result.stderr
    rep = report(tmp_path / "o")
    expected = oracle.totals([r for r in oracle.read_day(day, DAY) if r["hour"] != 12])
    assert rep["totals"] == expected
    assert 12 in rep["data_health"]["hours_missing"]


def test_wrong_layout_directory(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "flows.csv").write_text("a,b\n1,2\n")
    line = one_error_line(flowdigest("run", "--source", str(tmp_path / "w"), "--date", str(DAY)))
    assert "no flow-log files found" in line and "year=YYYY/month=MM/day=DD/hour=HH" in line


def test_non_aws_parquet_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    shutil.copy(CORPUS / "flowlogs-reader_flows.parquet", tmp_path / "p")
    line = one_error_line(flowdigest("run", "--source", str(tmp_path / "p"), "--date", "2021-01-01"))
    assert "flowlogs-reader_flows.parquet" in line and "not the Parquet schema AWS writes" in line


@pytest.mark.slow
def test_day_with_hours_missing_says_so(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    sample.generate_day(root, DAY, records=3_000, seed=5, profile=sample.DayProfile(missing_hours=(3, 4, 5)))
    out = tmp_path / "o"
    result = flowdigest("run", "--source", str(root), "--date", str(DAY), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "hours 03–05 missing" in result.stdout
    message = (out / DAY.isoformat() / "message.json").read_text()
    assert "hours 03–05 missing" in message


def test_memory_limit_caps_duckdb_and_a_bad_one_is_one_line(day: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDIGEST_MEMORY_LIMIT", "lots")
    line = one_error_line(flowdigest("run", "--source", str(day), "--date", DAY.isoformat(),
                                     "--out", str(tmp_path / "bad")))
    assert "FLOWDIGEST_MEMORY_LIMIT='lots' is not a size" in line
    monkeypatch.setenv("FLOWDIGEST_MEMORY_LIMIT", "1GB")  # a cap, and the day still adds up
    ok = flowdigest("run", "--source", str(day), "--date", DAY.isoformat(), "--out", str(tmp_path / "ok"))
    assert ok.returncode == 0, ok.stderr
    assert report(tmp_path / "ok")["totals"]["bytes"] == oracle.totals(oracle.read_day(day, DAY))["bytes"]


def test_a_build_past_duckdbs_memory_cap_is_one_line_naming_the_setting(day: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    from flowdigest.engine.duckdb_engine import DuckDBEngine
    from flowdigest.sources import FlowLogError

    engine = DuckDBEngine(day, tmp_path / "rollup", memory_limit="1GB")
    engine.open_day(DAY)
    real = engine.con

    class Capped:  # the build's COPY runs out of memory, as DuckDB says it past its cap
        def execute(self, sql: str, *args: object) -> object:
            if sql.lstrip().startswith("COPY"):
                raise duckdb.OutOfMemoryException("could not allocate block of size 256.0 KiB")
            return real.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(engine, "con", Capped())
    with pytest.raises(FlowLogError, match=r"needs more memory than DuckDB's limit \(.+\): raise FLOWDIGEST_MEMORY"):
        engine.build_rollup(DAY)
