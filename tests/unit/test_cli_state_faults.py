"""The input/state half of the fault matrix, through the command line: a run never reads its
own output, survives damaged rollups and a concurrent run, costs the same for 1,440 small
files as for one, and ends every user error in one line with its exit code."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import oracle
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the bench package lives at the repository root
from bench import small_files
from flowdigest import sample
from flowdigest.sources.text import format_text

DAY = dt.date(2026, 11, 20)
ARGS = ("--date", str(DAY), "--no-charts")


def flowdigest(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
               **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowdigest.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env={**os.environ, **(env or {})}, **kw)  # type: ignore[call-overload]


def error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The run's one error line (ours or argparse's), after checking the exit code."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("flowdigest") and ": error:" in line]
    assert len(errors) == 1, result.stderr
    return errors[0]


def report(out: Path) -> dict:
    return json.loads((out / DAY.isoformat() / "report.json").read_text())


def loose_text_day(folder: Path, records: int = 400, seed: int = 2) -> list[oracle.Record]:
    """One loose .log file of the day (no dated folders): its files' day comes from `start`."""
    hive = folder.parent / f"{folder.name}-hive"
    files = sample.generate_day(hive, DAY, records=records, seed=seed)
    table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
    table = table.select([c for c in table.column_names if c not in ("year", "month", "day", "hour")])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "day.log").write_bytes(format_text(table))
    return oracle.read_day(hive, DAY)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history")
    sample.generate_days(root, DAY, days=3, records=1_500, seed=4)
    return root


# -- a run never reads its own output --------------------------------------------------------
def test_a_run_inside_its_source_folder_does_not_read_its_rollups(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    records = loose_text_day(logs)
    for _ in range(2):  # the second run finds out/rollup/dt=.../*.parquet under --source .
        result = flowdigest("run", "--source", ".", *ARGS, "--rebuild", cwd=logs)
        assert result.returncode == 0, result.stderr
        assert report(logs / "out")["totals"] == oracle.totals(records)
        assert report(logs / "out")["source"]["files"] == 1


# -- damaged and concurrent state --------------------------------------------------------------
def test_damaged_rollups_are_rebuilt_from_their_days_logs(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    first = flowdigest("run", "--source", str(history), *ARGS, "--out", str(out))
    assert first.returncode == 0, first.stderr
    clean = report(out)
    day_file = next((out / "rollup" / f"dt={DAY}").rglob("*.parquet"))
    history_file = next((out / "rollup" / f"dt={DAY - dt.timedelta(days=1)}").rglob("*.parquet"))
    day_file.write_bytes(b"")  # what a crash mid-write used to leave
    history_file.write_bytes(history_file.read_bytes()[:100])  # cut off
    again = flowdigest("run", "--source", str(history), *ARGS, "--out", str(out))
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    said = [line for line in again.stderr.splitlines() if "unreadable" in line]
    assert len(said) == 2 and all("building it again from the day's logs" in line for line in said), said
    rebuilt = report(out)
    assert rebuilt["insights"] == clean["insights"] and rebuilt["totals"] == clean["totals"]
    assert all(f.stat().st_size > 0 for f in (out / "rollup").rglob("*.parquet"))


def test_two_runs_on_one_out_folder_in_20_races(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    want = oracle.totals(oracle.read_day(history, DAY))
    outcomes = []
    for race in range(20):
        # even races: the second waits for the first; odd ones: it may not wait, so exits 75
        env = {**os.environ, "FLOWDIGEST_LOCK_WAIT": "120" if race % 2 == 0 else "0"}
        cmd = [sys.executable, "-m", "flowdigest.cli", "run", "--source", str(history), *ARGS, "--out", str(out),
               "-q", *(("--rebuild",) if race % 4 < 2 else ())]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(2)]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
        for code, err in results:
            assert "Traceback" not in err, err
            assert code in (0, 75), (code, err)
            if code == 75:
                lines = err.strip().splitlines()
                assert len(lines) == 1 and "another flowdigest run is using it" in lines[0], err
        assert 0 in [c for c, _ in results], results
        outcomes.append(tuple(sorted(c for c, _ in results)))
        assert not [f for f in (out / "rollup").rglob("*") if f.is_file() and f.stat().st_size == 0]
        assert not list((out / "rollup").glob(".*")), "a temp folder was left behind"
        assert report(out)["totals"] == want
    assert (0, 0) in outcomes  # the waiting runs both finished


def test_a_busy_out_folder_exits_75_in_one_line(history: Path, tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "o"
    out.mkdir()
    with (out / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = flowdigest("run", "--source", str(history), *ARGS, "--out", str(out),
                            env={"FLOWDIGEST_LOCK_WAIT": "0.5"})
    line = error_line(result, 75)
    assert "another flowdigest run is using it" in line and str(out) in line


# -- many small files ---------------------------------------------------------------------------
def test_1440_small_files_give_the_one_file_report(tmp_path: Path) -> None:
    one, many = small_files.write_days(tmp_path, records=small_files.RECORDS)
    assert len(list(many.rglob("*.log.gz"))) == 1440
    reports = []
    for source in (one, many):
        result = flowdigest("run", "--source", str(source), "--date", str(small_files.DAY), "--no-charts",
                            "--out", str(source / ".." / f"out-{source.name}"))
        assert result.returncode == 0, result.stderr
        reports.append(json.loads((tmp_path / f"out-{source.name}" / str(small_files.DAY) / "report.json")
                                  .read_text()))
    one_rep, many_rep = reports
    assert many_rep["source"]["files"] == 1440 and one_rep["source"]["files"] == 1
    assert many_rep["totals"] == one_rep["totals"] == oracle.totals(
        small_files.day_records(small_files.RECORDS, seed=3).to_pylist())
    for key, entry in one_rep["insights"].items():
        if key != "data_health":  # which files were delivered differs, and is its subject
            assert many_rep["insights"][key] == entry, key


# -- one line, not a traceback ------------------------------------------------------------------
def test_bad_out_folders(history: Path, tmp_path: Path) -> None:
    src = ("run", "--source", str(history), *ARGS)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert "a file, not a folder" in error_line(flowdigest(*src, "--out", str(a_file)), 2)
    assert "cannot write there" in error_line(flowdigest(*src, "--out", "/proc/flowdigest-out"), 2)
    assert "backslash" in error_line(flowdigest(*src, "--out", str(tmp_path / "a\\b")), 2)
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / str(DAY)).write_text("x")
    assert f"{blocked / str(DAY)} is a file" in error_line(flowdigest(*src, "--out", str(blocked)), 2)


def test_glob_characters_in_out_are_plain_characters(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "o[1]*?{a,b}"
    for _ in range(2):  # the second run reads the stored rollups back
        result = flowdigest("run", "--source", str(history), *ARGS, "--out", str(out))
        assert result.returncode == 0, result.stderr
    assert report(out)["totals"] == oracle.totals(oracle.read_day(history, DAY))


def test_sums_past_bigint_name_the_day_and_field(tmp_path: Path) -> None:
    start = int(dt.datetime.combine(DAY, dt.time(3), tzinfo=dt.UTC).timestamp())
    line = f"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 {2**63 - 1} {start} {start + 5} ACCEPT OK\n"
    (tmp_path / "big.log").write_text(line * 2)
    msg = error_line(flowdigest("run", "--source", str(tmp_path), *ARGS, "--out", str(tmp_path / "o")), 3)
    assert f"{DAY}: the day's bytes add up past 2^63-1" in msg


def test_negative_counters_name_the_file_and_line(tmp_path: Path) -> None:
    start = int(dt.datetime.combine(DAY, dt.time(3), tzinfo=dt.UTC).timestamp())
    rows = [f"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 {p} {b} {start} {start + 5} ACCEPT OK" for p, b in
            ((1, 40), (2, -25), (3, 60))]
    text = tmp_path / "text"
    text.mkdir()
    (text / "neg.log").write_text("\n".join(rows) + "\n")
    msg = error_line(flowdigest("run", "--source", str(text), *ARGS, "--out", str(tmp_path / "o")), 3)
    assert str(text / "neg.log") in msg and "line 2: field bytes: '-25' is negative" in msg

    hive = tmp_path / "hive"
    bad = max(sample.generate_day(hive, DAY, records=500, seed=1), key=lambda f: pq.read_metadata(f).num_rows)
    table = pq.read_table(bad)
    packets = table.column("packets").to_pylist()
    packets[3] = -7
    table = table.set_column(table.schema.get_field_index("packets"), "packets", pa.array(packets, pa.int64()))
    pq.write_table(table.select([c for c in table.column_names if c not in ("year", "month", "day", "hour")]),
                   bad)
    msg = error_line(flowdigest("run", "--source", str(hive), *ARGS, "--out", str(tmp_path / "o")), 3)
    assert bad.name in msg and "column packets: record 4: -7 is negative" in msg
    assert pc.min(table.column("bytes")).as_py() >= 0


def test_output_piped_to_head_exits_quietly(history: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "flowdigest.cli", "run", "--source", str(history), *ARGS,
           "--out", str(tmp_path / "o")]
    read, write = os.pipe()
    os.close(read)  # as `| head` does once it has its lines
    try:
        result = subprocess.run(cmd, stdout=write, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write)
    assert result.returncode == 0 and "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert (tmp_path / "o" / str(DAY) / "report.json").exists()


def test_source_root_and_empty_insight_list_are_usage_errors(tmp_path: Path) -> None:
    line = error_line(flowdigest("run", "--source", "/", *ARGS, "--out", str(tmp_path / "o")), 2)
    assert "--source /: the file system's root" in line
    line = error_line(flowdigest("run", "--source", str(tmp_path), *ARGS, "--insights", ","), 2)
    assert "names no insight" in line


def test_a_huge_tree_that_is_not_flow_logs_stops_with_a_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowdigest.sources import FlowLogError, layout, load_day

    monkeypatch.setattr(layout, "MAX_FOLDERS", 50)
    for i in range(60):
        (tmp_path / "home" / f"project-{i}").mkdir(parents=True)
    with pytest.raises(FlowLogError, match="more than 50 folders under it: not a folder of flow logs"):
        load_day(tmp_path / "home", DAY)


def test_a_killed_builds_temp_folder_is_cleared_by_the_next_build(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    leftover = out / "rollup" / f".dt={DAY}.killed.tmp" / "rollup_set=flows"
    leftover.mkdir(parents=True)
    (leftover / "rollup_0.parquet").write_bytes(b"PAR1")  # cut off mid-write
    hours_ago = dt.datetime.now().timestamp() - 7200
    os.utime(leftover.parent, (hours_ago, hours_ago))
    result = flowdigest("run", "--source", str(history), *ARGS, "--out", str(out), "--rebuild")
    assert result.returncode == 0, result.stderr
    assert not leftover.parent.exists() and report(out)["totals"] == oracle.totals(oracle.read_day(history, DAY))


def test_a_bad_file_among_an_hours_small_files_is_named(tmp_path: Path) -> None:
    from flowdigest.sources import FlowLogError, load_day

    one, many = small_files.write_days(tmp_path, records=240, files=120)
    files = sorted(many.rglob("*.log.gz"))
    bad, blank = files[5], files[9]  # both in hour 00, read with their hour's others
    lines = gzip.decompress(bad.read_bytes()).decode().splitlines()
    lines[2] += " 12"  # a 30th value
    bad.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(FlowLogError, match=rf"{bad.name}: line 3: 30 values, but the header \(line 1\) has 29"):
        load_day(many, small_files.DAY)
    blank.write_bytes(gzip.compress(b"\n\n"))
    data = load_day(many, small_files.DAY, skip_bad=True)
    assert sorted(Path(p).name for p, _ in data.bad_files) == sorted([bad.name, blank.name])
    kept = pa.concat_tables(data.text_tables)
    whole = pa.concat_tables(load_day(one, small_files.DAY).text_tables)
    assert kept.num_rows == whole.num_rows - 4 and data.files == len(files) - 2
