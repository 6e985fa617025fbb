"""load_day: which files are the day's in each layout, its hours, and what bad input does."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowdigest import fields, sample
from flowdigest.sources import DayData, FlowLogError, load_day, missing_hours_text
from flowdigest.sources.text import format_text, read_text_file

DAY = dt.date(2024, 5, 1)
LO = int(dt.datetime(2024, 5, 1, tzinfo=dt.UTC).timestamp())
MISSING = (3, 4, 5, 17)
ACCT, REGION = "123456789012", "us-east-1"


@pytest.fixture(scope="module")
def hive_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated Parquet day (2 files an hour, hours 03-05 and 17 not delivered)."""
    root = tmp_path_factory.mktemp("hive")
    profile = sample.DayProfile(missing_hours=MISSING, files_per_hour=2)
    sample.generate_day(root, DAY, records=3000, seed=3, profile=profile)
    return root


def parquet_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.log.parquet"))


def hour_of(path: Path) -> int:
    return int(next(p for p in path.parts if p.startswith("hour="))[5:])


def text_key(root: Path, src: Path, *, hour_folder: bool = False, stamp: bool = True) -> Path:
    """Where AWS's text delivery puts the file with `src`'s records (no Hive folders)."""
    h = hour_of(src)
    folder = root / "AWSLogs" / ACCT / "vpcflowlogs" / REGION / f"{DAY:%Y}" / f"{DAY:%m}" / f"{DAY:%d}"
    if hour_folder:
        folder = folder / f"{h:02d}"
    suffix = src.name.split("_")[-1].replace(".log.parquet", "")
    name = (f"{ACCT}_vpcflowlogs_{REGION}_fl-0123456789abcdef0_{DAY:%Y%m%d}T{h:02d}{src.name[-30:-28]}Z_{suffix}"
            if stamp else f"part-{suffix}")
    return folder / (name + ".log.gz")


def as_text_day(hive: Path, out: Path, **kw: bool) -> list[Path]:
    written = []
    for src in parquet_files(hive):
        dst = text_key(out, src, **kw)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(gzip.compress(format_text(pq.read_table(src)), compresslevel=1))
        written.append(dst)
    return written


def all_rows(data: DayData) -> pa.Table:
    """The day's flow-log records (catalog columns only), in a fixed order."""
    tables = [pq.read_table(p) for p in data.parquet_files] + data.text_tables
    t = pa.concat_tables([x.select(sorted(c for c in x.column_names if c in fields.BY_COLUMN)) for x in tables])
    return t.sort_by([(c, "ascending") for c in t.column_names])


V5_COLUMNS = {fields.BY_NAME[n].column for n in fields.V5_FORMAT}
DELIVERED = set(range(24)) - set(MISSING)


# -- layouts --------------------------------------------------------------------------------

def test_hive_parquet_day(hive_day: Path) -> None:
    data = load_day(hive_day, DAY)
    files = parquet_files(hive_day)
    assert data.parquet_files == files and data.text_tables == []
    assert (data.hive, data.layout, data.columns) == (True, "hive", V5_COLUMNS)
    assert data.hours_present == DELIVERED
    assert data.total_bytes == sum(p.stat().st_size for p in files)
    assert missing_hours_text(DAY, data.hours_present) == "hours 03–05, 17 missing"
    assert data.missing_hours == [3, 4, 5, 17]


def test_parquet_validation_reads_no_data(hive_day: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_data(*a: object, **k: object) -> None:
        raise AssertionError("data read during validation")

    monkeypatch.setattr(pq, "read_table", no_data)
    monkeypatch.setattr(pq.ParquetFile, "read", no_data)
    assert load_day(hive_day, DAY).files == len(parquet_files(hive_day))


def test_aws_text_layout_hours_from_key_stamps(hive_day: Path, tmp_path: Path) -> None:
    as_text_day(hive_day, tmp_path)
    data = load_day(tmp_path, DAY)
    assert (data.layout, data.hive, data.parquet_files) == ("dated", False, [])
    assert data.files == len(parquet_files(hive_day)) and data.hours_present == DELIVERED
    assert data.columns == V5_COLUMNS
    assert all_rows(data).equals(all_rows(load_day(hive_day, DAY)))  # the same records, typed alike
    # Hive's partition columns ride along, with the delivery hour, as for Parquet in hour=HH/
    (table,) = data.text_tables  # the files' tables joined: one scan for the engine
    per_hour: Counter[str] = Counter()
    for key in tmp_path.rglob("*.log.gz"):
        per_hour[key.name.split("_")[-2][9:11]] += read_text_file(key).num_rows
    assert Counter(table.column("hour").to_pylist()) == per_hour
    assert {(r["year"], r["month"], r["day"]) for r in table.select(["year", "month", "day"]).to_pylist()} == {
        ("2024", "05", "01")}


def test_aws_text_layout_per_hour_folders(hive_day: Path, tmp_path: Path) -> None:
    as_text_day(hive_day, tmp_path, hour_folder=True, stamp=False)
    data = load_day(tmp_path, DAY)
    assert data.hours_present == DELIVERED and data.layout == "dated"


def test_dated_text_without_an_hour_takes_it_from_start(tmp_path: Path) -> None:
    folder = tmp_path / "2024" / "05" / "01"
    folder.mkdir(parents=True)
    (folder / "part-0.log").write_text(f"srcaddr start\n10.0.0.1 {LO + 7300}\n10.0.0.1 {LO - 10}\n")
    data = load_day(tmp_path, DAY)
    assert data.hours_present == {2}  # hours of the day that records start in
    (table,) = data.text_tables
    assert table.num_rows == 2  # a dated file is read whole, as Athena reads a partition
    assert table.column("hour").to_pylist() == ["02", "23"] and table.column("day").to_pylist() == ["01", "01"]


def test_hive_layout_text(hive_day: Path, tmp_path: Path) -> None:
    for src in parquet_files(hive_day)[:4]:
        dst = tmp_path / src.relative_to(hive_day).with_suffix("").with_suffix(".log.gz")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(gzip.compress(format_text(pq.read_table(src))))
    data = load_day(tmp_path, DAY)
    assert (data.layout, data.hive, data.files, len(data.text_tables)) == ("hive", False, 4, 1)
    assert data.hours_present == {hour_of(p) for p in parquet_files(hive_day)[:4]}


def test_other_days_are_not_read(hive_day: Path, tmp_path: Path) -> None:
    shutil.copytree(hive_day, tmp_path, dirs_exist_ok=True)
    other = next(tmp_path.rglob("day=01")).parent / "day=02" / "hour=00"
    other.mkdir(parents=True)
    (other / "broken.log.parquet").write_bytes(b"not parquet")  # would fail if it were opened
    text_other = tmp_path / "AWSLogs" / ACCT / "vpcflowlogs" / REGION / "2024" / "04" / "30"
    text_other.mkdir(parents=True)
    (text_other / "broken.log.gz").write_bytes(b"\x1f\x8b broken")
    data = load_day(tmp_path, DAY)
    assert data.files == len(parquet_files(hive_day)) and data.bad_files == []
    assert data.layout == "hive"  # the text tree had no file for the day


def test_loose_files_beside_a_dated_tree_are_ignored(hive_day: Path, tmp_path: Path) -> None:
    shutil.copytree(hive_day, tmp_path, dirs_exist_ok=True)
    (tmp_path / "notes.log").write_text("not a flow log at all\n")
    assert load_day(tmp_path, DAY).files == len(parquet_files(hive_day))


def test_loose_folder_told_by_record_start(tmp_path: Path) -> None:
    header = "version srcaddr bytes start end log-status"
    days = {  # start -> hours after the report day's midnight
        "two_days.log": [-1, 0.5, 23.9, 24.2],  # spans midnight on both sides
        "other_day.log.gz": [30, 40],
    }
    for name, hours in days.items():
        body = header + "\n" + "".join(f"5 10.0.0.1 {i} {LO + int(h * 3600)} {LO + int(h * 3600) + 60} OK\n"
                                       for i, h in enumerate(hours))
        (tmp_path / name).write_bytes(gzip.compress(body.encode()) if name.endswith(".gz") else body.encode())
    schema = fields.schema(["srcaddr", "bytes", "start", "log_status"])

    def parquet(name: str, groups: list[list[float]]) -> None:
        with pq.ParquetWriter(tmp_path / name, schema) as w:
            for g in groups:
                w.write_table(pa.table({"srcaddr": ["10.0.0.2"] * len(g), "bytes": [7] * len(g),
                                        "start": [LO + int(h * 3600) for h in g], "log_status": ["OK"] * len(g)},
                                       schema=schema))

    parquet("inside.parquet", [[1.1, 1.2], [2.5]])  # every row on the day: read in place
    parquet("straddles.parquet", [[-2, -1], [6.5, 7.5]])  # one row group on the day
    parquet("before.parquet", [[-5, -3]])
    data = load_day(tmp_path, DAY)
    assert data.layout == "loose" and not data.hive
    assert data.parquet_files == [tmp_path / "inside.parquet"]
    assert sorted(t.num_rows for t in data.text_tables) == [2, 2]  # two_days.log and straddles' row group
    assert all("hour" not in t.column_names for t in data.text_tables)  # partitions follow start
    assert data.hours_present == {0, 1, 2, 6, 7, 23}
    assert data.columns == {"version", "srcaddr", "bytes", "start", "end", "log_status"}
    starts = [s for t in data.text_tables for s in t.column("start").to_pylist()]
    assert all(LO <= s < LO + 86400 for s in starts)


def test_loose_file_stamped_days_away_is_not_opened(tmp_path: Path) -> None:
    header = "version srcaddr start log-status\n"
    (tmp_path / "a_20240501T0105Z_x.log").write_text(header + f"5 10.0.0.1 {LO + 3700} OK\n")
    (tmp_path / "b_20240420T0105Z_x.log.gz").write_bytes(b"\x1f\x8b broken")
    data = load_day(tmp_path, DAY)
    assert data.files == 1 and data.hours_present == {1} and data.bad_files == []


def test_loose_file_without_start(tmp_path: Path) -> None:
    (tmp_path / "f.log").write_text("srcaddr bytes\n10.0.0.1 5\n")
    with pytest.raises(FlowLogError, match=r"f\.log: no start field, so the day of its records can't be told"):
        load_day(tmp_path, DAY)


def test_headerless_custom_format_via_log_format(tmp_path: Path) -> None:
    (tmp_path / "cw.log").write_text(f"10.0.0.1 {LO + 60} OK\n")
    with pytest.raises(FlowLogError, match="3 values per record"):
        load_day(tmp_path, DAY)
    data = load_day(tmp_path, DAY, log_format="${srcaddr} ${start} ${log-status}")
    assert data.hours_present == {0} and data.columns == {"srcaddr", "start", "log_status"}


# -- no data, wrong layout ------------------------------------------------------------------

def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FlowLogError) as e:
        load_day(tmp_path / "nope", DAY)
    assert str(e.value) == f"{tmp_path / 'nope'}: no such folder"


def test_wrong_layout_says_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "flows.csv").write_text("a,b\n")
    (tmp_path / "readme.md").write_text("hi")
    with pytest.raises(FlowLogError) as e:
        load_day(tmp_path, DAY)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{tmp_path}: no flow-log files found (no .parquet, .log or .log.gz; 2 other files")
    assert "AWSLogs/.../year=YYYY/month=MM/day=DD/hour=HH/*.parquet" in msg and ".log.gz" in msg
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FlowLogError, match="no flow-log files found"):
        load_day(empty, DAY)


def test_a_day_with_no_delivery_is_empty_not_an_error(hive_day: Path) -> None:
    data = load_day(hive_day, DAY + dt.timedelta(days=1))
    assert (data.files, data.hours_present, data.columns, data.bad_files) == (0, set(), set(), [])
    assert data.note == f"no flow-log files for 2024-05-02 under {hive_day} (its dated folders hold 2024-05-01)"
    assert missing_hours_text(data.report_date, data.hours_present) == "no flow logs were delivered for 2024-05-02"


# -- bad files: raise by default, listed with skip_bad, nothing readable lost ----------------

def test_truncated_gzip_in_the_middle_of_a_day(hive_day: Path, tmp_path: Path) -> None:
    keys = as_text_day(hive_day, tmp_path)
    full = load_day(tmp_path, DAY)
    hour12 = [k for k in keys if "T12" in k.name]
    hour13 = [k for k in keys if "T13" in k.name]
    assert len(hour12) == len(hour13) == 2
    lost = 0
    for k in [hour12[0], *hour13]:  # one of hour 12's two files, both of hour 13's
        lost += pq.read_table(parquet_files(hive_day)[keys.index(k)]).num_rows
        whole = k.read_bytes()
        k.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FlowLogError) as e:
        load_day(tmp_path, DAY)
    assert str(e.value) == f"{hour12[0]}: truncated gzip file: the compressed data ends early"

    data = load_day(tmp_path, DAY, skip_bad=True)
    assert data.bad_files == [(str(k), "truncated gzip file: the compressed data ends early")
                              for k in sorted([hour12[0], *hour13])]
    assert data.files == full.files - 3
    assert sum(t.num_rows for t in data.text_tables) == sum(t.num_rows for t in full.text_tables) - lost
    assert data.hours_present == DELIVERED - {13}  # hour 12 still has a readable file
    assert missing_hours_text(DAY, data.hours_present) == "hours 03–05, 13, 17 missing"


def test_zero_byte_parquet(hive_day: Path, tmp_path: Path) -> None:
    shutil.copytree(hive_day, tmp_path, dirs_exist_ok=True)
    empty = parquet_files(tmp_path)[5].parent / "zzz-empty.log.parquet"
    empty.write_bytes(b"")
    with pytest.raises(FlowLogError) as e:
        load_day(tmp_path, DAY)
    assert str(e.value) == f"{empty}: empty file (0 bytes)"
    data = load_day(tmp_path, DAY, skip_bad=True)
    assert data.bad_files == [(str(empty), "empty file (0 bytes)")]
    assert data.parquet_files == [p for p in parquet_files(tmp_path) if p != empty]
    assert data.hours_present == DELIVERED


def test_truncated_and_corrupt_parquet(hive_day: Path, tmp_path: Path) -> None:
    shutil.copytree(hive_day, tmp_path, dirs_exist_ok=True)
    files = parquet_files(tmp_path)
    truncated, garbage = files[0], files[1]
    truncated.write_bytes(truncated.read_bytes()[:-100])
    garbage.write_bytes(b"PAR1" + b"\0" * 64)
    with pytest.raises(FlowLogError) as e:
        load_day(tmp_path, DAY)
    assert str(e.value).startswith(f"{truncated}: not a readable Parquet file (truncated or corrupt): ")
    assert "\n" not in str(e.value)
    data = load_day(tmp_path, DAY, skip_bad=True)
    assert [b[0] for b in data.bad_files] == [str(truncated), str(garbage)]
    assert data.parquet_files == files[2:]


def test_bad_value_in_a_text_day(tmp_path: Path) -> None:
    folder = tmp_path / "AWSLogs" / ACCT / "vpcflowlogs" / REGION / "2024" / "05" / "01"
    folder.mkdir(parents=True)
    good = folder / f"{ACCT}_vpcflowlogs_{REGION}_fl-1_20240501T0100Z_aa.log.gz"
    bad = folder / f"{ACCT}_vpcflowlogs_{REGION}_fl-1_20240501T0200Z_bb.log.gz"
    good.write_bytes(gzip.compress(f"srcaddr bytes start\n10.0.0.1 5 {LO + 3600}\n".encode()))
    bad.write_bytes(gzip.compress(f"srcaddr bytes start\n10.0.0.1 5 {LO}\n10.0.0.2 abc {LO}\n".encode()))
    with pytest.raises(FlowLogError) as e:
        load_day(tmp_path, DAY)
    assert str(e.value) == f"{bad}: line 3: field bytes: 'abc' is not a whole number"
    data = load_day(tmp_path, DAY, skip_bad=True)
    assert data.bad_files == [(str(bad), "line 3: field bytes: 'abc' is not a whole number")]
    assert data.hours_present == {1} and data.files == 1


def test_blank_text_file(tmp_path: Path) -> None:
    (tmp_path / "blank.log").write_text("\n\n")
    with pytest.raises(FlowLogError, match=r"blank\.log: no header line and no records"):
        load_day(tmp_path, DAY)
