"""Many small files against one file of the same records: `python -m bench.small_files`.

AWS's text delivery can write one object per ENI per minute: a quiet day is then 1,440
tiny .log.gz files. This times `flowdigest run` (a subprocess each, so its peak RSS is
the OS's figure, from getrusage) over such a day and over the same records in one file,
and records both beside each other in bench/results.json (key "small_files").
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DAY = dt.date(2026, 11, 20)
MINUTES = 1440
RECORDS = 4320  # three a minute
_PREFIX = "AWSLogs/123456789012/vpcflowlogs/us-east-1"


def day_records(records: int, seed: int) -> pa.Table:
    """`records` sample records of DAY, started evenly through the day (as many a minute),
    so that a per-minute file holds the records of its minute, as AWS delivers them."""
    from flowdigest import sample

    with tempfile.TemporaryDirectory() as tmp:
        files = sample.generate_day(Path(tmp), DAY, records=records, seed=seed)
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
    table = table.select([c for c in table.column_names if c not in ("year", "month", "day", "hour")])
    table = table.slice(0, records)
    day0 = int(dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC).timestamp())
    starts = pa.array([day0 + i * 86_400 // table.num_rows for i in range(table.num_rows)], pa.int64())
    lengths = pc.subtract(table.column("end"), table.column("start"))
    table = table.set_column(table.schema.get_field_index("start"), "start", starts)
    return table.set_column(table.schema.get_field_index("end"), "end", pc.add(starts, lengths))


def _name(minute: int, n: int) -> str:
    stamp = dt.datetime.combine(DAY, dt.time()) + dt.timedelta(minutes=minute)
    return f"123456789012_vpcflowlogs_us-east-1_fl-0abc_{stamp:%Y%m%dT%H%MZ}_{n:08x}.log.gz"


def write_days(root: Path, *, records: int = RECORDS, files: int = MINUTES, seed: int = 3) -> tuple[Path, Path]:
    """(one-file source, many-files source) holding the same records of DAY, AWS's text layout.

    The many-files day spreads the records over `files` per-minute objects (each holding its
    minute's records), under its delivery hour's folder, named with its minute's stamp.
    """
    from flowdigest.sources.text import format_text

    table = day_records(records, seed)
    one, many = root / "one", root / "many"
    one_dir = one / _PREFIX / f"{DAY:%Y/%m/%d}"
    one_dir.mkdir(parents=True, exist_ok=True)
    # no stamp in its name, no hour folder: each record's hour is its start's
    (one_dir / "123456789012_vpcflowlogs_us-east-1_fl-0abc_day.log.gz").write_bytes(
        gzip.compress(format_text(table), compresslevel=1))
    per = -(-table.num_rows // files)
    for i in range(files):
        minute = i * MINUTES // files
        folder = many / _PREFIX / f"{DAY:%Y/%m/%d}" / f"{minute // 60:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        part = table.slice(i * per, per)
        (folder / _name(minute, i)).write_bytes(gzip.compress(format_text(part), compresslevel=1))
    return one, many


def time_run(source: Path, out: Path) -> dict[str, float]:
    """Wall time and peak RSS of one `flowdigest run` (no charts) over `source`."""
    cmd = [sys.executable, "-m", "flowdigest.cli", "run", "--source", str(source), "--date", str(DAY),
           "--out", str(out), "--no-charts", "--rebuild", "-q"]
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        # wait4: this child's own peak RSS (RUSAGE_CHILDREN would be the largest child so far)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"flowdigest run over {source} failed ({proc.returncode}): {err.read().strip()}")
    peak_kib = usage.ru_maxrss
    return {"seconds": round(seconds, 3), "peak_rss_mib": round(peak_kib / 1024, 1)}


def measure(data: Path, *, records: int, files: int, runs: int) -> dict[str, object]:
    one, many = write_days(data, records=records, files=files)
    result: dict[str, object] = {"records": records, "files": files}
    for label, source in (("many_files", many), ("one_file", one)):
        best = min((time_run(source, data / f"out-{label}") for _ in range(runs)), key=lambda r: r["seconds"])
        result[label] = best
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=RECORDS)
    p.add_argument("--files", type=int, default=MINUTES)
    p.add_argument("--runs", type=int, default=3, help="best of this many runs per day")
    p.add_argument("--results", type=Path, default=Path("bench/results.json"))
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="small-files-") as tmp:
        result = measure(Path(tmp), records=args.records, files=args.files, runs=args.runs)
    many, one = result["many_files"], result["one_file"]
    assert isinstance(many, dict) and isinstance(one, dict)
    print(f"{args.records} records: {args.files} files {many['seconds']:.2f} s, {many['peak_rss_mib']:.0f} MiB; "
          f"one file {one['seconds']:.2f} s, {one['peak_rss_mib']:.0f} MiB "
          f"({many['seconds'] / one['seconds']:.1f}x time, {many['peak_rss_mib'] / one['peak_rss_mib']:.1f}x memory)")
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    results["small_files"] = result
    tmp_results = args.results.with_name(args.results.name + ".tmp")
    tmp_results.write_text(json.dumps(results, indent=1, default=str))
    os.replace(tmp_results, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
