"""A big day's rollup is built a slice of its files at a time (flowdigest.engine.slices): the
report is the one the whole day's build gives, on an organisation's day (slices of whole
prefixes) and on one prefix's day (slices of its hours' files, so groups repeat across them)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import REPORT_DAY, load_report, run_report

from flowdigest.engine import slices

# what differs between any two runs, sliced or not
_PER_RUN = ("generated_at", "run")


def _report(source: Path, out: Path, day: dt.date = REPORT_DAY, **options: Any) -> dict[str, Any]:
    report = load_report(run_report(source, day, out, charts=False, **options))
    return {k: v for k, v in report.items() if k not in _PER_RUN}


def _sliced(monkeypatch: pytest.MonkeyPatch, source: Path, out: Path, parts: int,
            day: dt.date = REPORT_DAY) -> tuple[dict[str, Any], list[str]]:
    records = sum(pq.read_metadata(f).num_rows for f in source.rglob(f"day={day.day:02d}/*/*.parquet"))
    limit = records // parts + 1
    monkeypatch.setattr(slices, "budget", lambda _memory_limit: limit)
    lines: list[str] = []
    return _report(source, out, progress=lines.append), lines


@pytest.fixture(scope="module")
def vpc_and_tgw_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A day of VPC and Transit Gateway flow logs: the gateway's sets are built once, after the slices."""
    from test_transit_gateway import VPCS

    from flowdigest.sample import generate_day
    from flowdigest.sample.tgw import write_tgw_day

    root = tmp_path_factory.mktemp("vpc_and_tgw")
    generate_day(root, REPORT_DAY, records=20_000, seed=3)
    write_tgw_day(root, VPCS, REPORT_DAY)
    return root


@pytest.mark.slow
@pytest.mark.parametrize(("root", "parts"), [
    ("org_root", 4),  # an organisation's day: slices of whole prefixes
    ("sample_root", 8),  # one prefix's day: slices of its hours' files, whose groups repeat across them
    ("vpc_and_tgw_root", 4),
])
def test_a_day_built_in_slices_reports_what_its_whole_build_does(
        root: str, parts: int, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source: Path = request.getfixturevalue(root)
    whole = _report(source, tmp_path / "whole")
    sliced, lines = _sliced(monkeypatch, source, tmp_path / "sliced", parts=parts)
    assert sum(" built" in line and "slice " in line for line in lines) >= parts, lines
    assert whole["totals"]["flows"] > 0 and whole["findings"]
    if root == "vpc_and_tgw_root":
        assert whole["insights"]["transit_gateway"]["rows"]
    assert sliced == whole


def test_slices_keep_a_prefix_together_and_respect_the_budget() -> None:
    a = [Path(f"a/{h:02d}.parquet") for h in range(4)]
    b = [Path(f"b/{h:02d}.parquet") for h in range(4)]
    files = [*b, *a]
    sizes = dict.fromkeys(files, 10)
    origins = {**{f: ("111111111111", "eu-west-1") for f in a}, **{f: ("222222222222", "eu-west-1") for f in b}}
    assert slices.plan(files, sizes, origins, None) == [files]
    assert slices.plan(files, sizes, origins, 80) == [files]
    assert slices.plan(files, sizes, origins, 40) == [a, b]
    assert slices.plan(files, sizes, origins, 25) == [a[:2], a[2:], b[:2], b[2:]]
    assert slices.plan(files, sizes, origins, 50) == [a, b]  # whole prefixes first
    assert slices.plan(files, {**sizes, a[0]: 100}, origins, 25)[0] == [a[0]]  # too big alone: alone
    assert slices.plan([], {}, {}, 1) == [[]]
    c = [Path("c/00.parquet")]
    more = {**origins, c[0]: ("333333333333", "eu-west-1")}
    assert slices.plan([*files, *c], {**sizes, c[0]: 0}, more, 40) == [a, [*b, *c]]  # an empty one fits


def test_a_slice_out_of_memory_is_tried_again_in_halves() -> None:
    files = [Path(f"a/{h:02d}.parquet") for h in range(8)]
    sizes = dict.fromkeys(files, 10)
    assert slices.halve([files], sizes, {}) == [files[:4], files[4:]]
    assert slices.halve([[f] for f in files], sizes, {}) is None
    # a big file alone and small ones together: the small ones are cut next, until one a slice
    big = {**sizes, files[0]: 100}
    parts: list[list[Path]] | None = [[files[0]], files[1:]]
    tries = 0
    while parts is not None:
        last, parts, tries = parts, slices.halve(parts, big, {}), tries + 1
    assert last == [[f] for f in files] and tries < 6
    assert slices.halve([files[:2]], dict.fromkeys(files, 0), {}) == [[files[0]], [files[1]]]  # nothing to weigh


@pytest.mark.parametrize(("text", "expected"), [
    ("1.5GB", 1_500_000_000), ("1.3 GiB", int(1.3 * 2**30)), ("900MiB", 900 * 2**20), ("512", 512),
    ("lots", None), ("1.5 parsecs", None),
])
def test_memory_sizes_as_duckdb_prints_them(text: str, expected: int | None) -> None:
    assert slices.parse_size(text) == expected
    assert slices.budget(text) == (max(1, expected // slices.BYTES_PER_RECORD) if expected else None)


@pytest.mark.slow
def test_a_build_out_of_memory_is_built_again_in_smaller_slices(
        org_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    from flowdigest.engine.duckdb_engine import DuckDBEngine

    whole = _report(org_root, tmp_path / "whole")
    real_copy = DuckDBEngine._copy
    failed: list[str] = []

    def copy_once_out_of_memory(self: DuckDBEngine, sql: str, folder: Path, pattern: str) -> None:
        if not failed:  # the first try, of the whole day, runs out of memory
            failed.append(pattern)
            raise duckdb.OutOfMemoryException("could not allocate block of size 256.0 KiB")
        real_copy(self, sql, folder, pattern)

    monkeypatch.setattr(DuckDBEngine, "_copy", copy_once_out_of_memory)
    lines: list[str] = []
    again = _report(org_root, tmp_path / "again", progress=lines.append)
    assert failed == ["rollup_{i}"]
    again_in = [m for line in lines if (m := re.search(r"ran out of memory: building it again in (\d+) slices", line))]
    assert len(again_in) == 1 and int(again_in[0].group(1)) >= 2, lines
    assert again == whole


def test_duckdb_spills_into_a_temp_folder_of_the_engines_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not ./.tmp, DuckDB's default: the user's folder, and read-only on Lambda."""
    import gc
    import tempfile

    from flowdigest.engine.duckdb_engine import DuckDBEngine

    monkeypatch.chdir(tmp_path)
    engine = DuckDBEngine(tmp_path, tmp_path / "rollup", memory_limit="1GB")
    row = engine.con.execute("SELECT current_setting('temp_directory')").fetchone()
    spill = Path(row[0]) if row else None
    assert spill is not None and spill.is_dir() and spill.parent == Path(tempfile.gettempdir())
    del engine
    gc.collect()
    assert not spill.exists()
    assert not (tmp_path / ".tmp").exists()
