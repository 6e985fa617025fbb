"""The benchmark harness (bench/), end to end on a tiny day. Nothing here is timed: the
checks are that every piece runs, the pandas baseline gives the engine's answers, and the
Athena estimate adds up."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

from conftest import run_report  # noqa: E402

from bench import athena_scan, baseline_pandas, lambda_size, sizes  # noqa: E402
from bench import run as bench_run  # noqa: E402
from flowdigest import queries, sample  # noqa: E402

DAY = dt.date(2025, 6, 10)


def test_query_columns_come_from_the_sql() -> None:
    build = athena_scan.query_columns(queries.render("daily_rollup", DAY), DAY)
    assert build == {"flow_logs": set(queries.ROLLUP_SOURCE_COLUMNS)}  # `hour` is a partition: free
    health = athena_scan.query_columns(queries.render("data_health", DAY), DAY)["daily_rollup"]
    assert {"hour", "log_status", "flows", "interface_id"} <= health
    assert health <= set(queries.ROLLUP_SCHEMA) - set(queries.ROLLUP_PARTITIONS)
    week = [DAY - dt.timedelta(days=k) for k in range(7, -1, -1)]
    reach = {n: max(len(s.days) for s in athena_scan.table_scans(queries.render(n, DAY), week))
             for n in ("headline", "new_talkers", "top_talkers")}
    assert reach == {"headline": 8, "new_talkers": 7, "top_talkers": 1}


def test_scans_count_each_cte_reference_and_prune_partitions() -> None:
    week = [DAY - dt.timedelta(days=k) for k in range(7, -1, -1)]
    sql = """WITH ok AS (SELECT * FROM daily_rollup WHERE dt >= '2025-06-08' AND dt < '2025-06-10'
                                                    AND rollup_set = 'flows' AND log_status = 'OK')
             SELECT a.srcaddr, SUM(b.bytes) FROM ok AS a JOIN ok AS b ON a.dstaddr = b.srcaddr GROUP BY 1"""
    scans = athena_scan.table_scans(sql, week)
    assert len(scans) == 2  # Trino inlines the CTE: two references, two scans
    assert all(s.days == [dt.date(2025, 6, 8), dt.date(2025, 6, 9)] for s in scans)
    assert all(s.sets == ["flows"] for s in scans)  # a partition now: only its folder is read
    assert all(s.filters == [("log_status", "OK")] for s in scans)
    assert set().union(*(s.columns for s in scans)) == {"srcaddr", "dstaddr", "bytes", "log_status"}


def test_rollup_lineage_maps_rollup_columns_to_raw_ones() -> None:
    lineage = athena_scan.rollup_lineage(DAY)
    assert lineage["flows"] == set() and lineage["hour"] == set()  # a count; a partition
    assert lineage["bytes"] == {"bytes"}
    build = athena_scan.query_columns(queries.render("daily_rollup", DAY), DAY)["flow_logs"]
    assert set().union(*lineage.values()) <= build


def test_athena_bills_whole_megabytes_and_10_mb_at_least() -> None:
    mb = 2**20
    assert athena_scan.billed(0) == athena_scan.billed(10 * mb) == 10 * mb
    assert athena_scan.billed(10 * mb + 1) == 11 * mb
    assert athena_scan.dollars(2**40, athena_scan.Prices()) == 5.0


def test_sizes_parse() -> None:
    assert sizes.parse_size("1M") == ("1M", 1_000_000)
    assert sizes.parse_size("200k") == ("200k", 200_000)
    assert sizes.parse_size("30m") == ("30M", 30_000_000)


def test_compare_allows_only_max_by_ties() -> None:
    row = {"srcaddr": "a", "dstaddr": "b", "bytes": 5, "interface_id": "eni-2", "instance_id": "i-2"}
    tied = {**row, "interface_id": "eni-1", "instance_id": "i-1", "_tied": [["eni-1", "i-1"], ["eni-2", "i-2"]]}
    got = sizes.compare({"top_talkers": [row]}, {"top_talkers": [tied]})
    assert got["top_talkers"]["identical"] and got["top_talkers"]["max_by_ties"] == 1
    other = {**tied, "bytes": 6}
    assert not sizes.compare({"top_talkers": [row]}, {"top_talkers": [other]})["top_talkers"]["identical"]
    skipped = sizes.compare({"new_talkers": []}, {"new_talkers": [row]}, skipped={"new_talkers"})
    assert skipped["new_talkers"]["identical"] is None


def test_compare_covers_the_baselines_subset_only() -> None:
    # a new insight needs no pandas twin; one the baseline covers must be there
    assert "top_talkers" in baseline_pandas.COVERED and "busiest_interface" not in baseline_pandas.COVERED
    got = sizes.compare({"busiest_interface": [{"x": 1}], "top_talkers": []}, {})
    assert got["busiest_interface"]["identical"] is None
    assert got["top_talkers"] == {"identical": False, "detail": "missing from baseline"}


@pytest.mark.parametrize("profile", [
    sample.DayProfile(nat_traffic=False),
    sample.DayProfile(gateway_endpoint=False),
    sample.DayProfile(rejects=False, nodata=False),
    sample.DayProfile(missing_hours=(0, 5, 23)),
], ids=["no-nat", "no-gateway-endpoint", "no-rejects-no-nodata", "missing-hours"])
@pytest.mark.slow
def test_baseline_gives_the_engines_answers_on_edge_days(tmp_path: Path, profile: sample.DayProfile) -> None:
    src = tmp_path / "logs"
    sample.generate_day(src, DAY - dt.timedelta(days=1), records=3_000, seed=5, profile=profile)
    sample.generate_day(src, DAY, records=3_000, seed=5, profile=replace_new_talkers(profile))
    out = tmp_path / "out"
    run_report(src, DAY - dt.timedelta(days=1), out, charts=False)  # the history day's rollup
    report = json.loads((run_report(src, DAY, out, charts=False) / "report.json").read_text())
    engine = {i: e["rows"] for i, e in report["insights"].items()}
    skipped = {i for i, e in report["insights"].items() if e["status"] != "ok"}
    assert baseline_pandas.build_history(src, tmp_path / "pandas-history", DAY) == [str(DAY - dt.timedelta(days=1))]
    got = sizes.compare(engine, baseline_pandas.run(src, tmp_path / "pandas-history", DAY), skipped=skipped)
    assert not skipped
    # None: not compared (outside the baseline's subset, as the findings are)
    assert {i: g["detail"] for i, g in got.items() if g["identical"] is False} == {}


def replace_new_talkers(profile: sample.DayProfile) -> sample.DayProfile:
    import dataclasses

    return dataclasses.replace(profile, new_talkers=3)


def test_lambda_sizes_without_a_build(tmp_path: Path) -> None:
    assert lambda_size.sizes(tmp_path) is None


def test_lambda_sizes_know_the_managed_layer_the_template_resolves(tmp_path: Path) -> None:
    # the template names the pandas layer by its public SSM parameter: still sized (as stated)
    (tmp_path / "template.yaml").write_text((ROOT / "template.yaml").read_text())
    query = next(f for f in lambda_size.sizes(tmp_path) or [] if f["function"] == "QueryFunction")
    assert query["complete"]
    assert {"name": "AWSSDKPandas-Python312 (managed, stated)",
            "bytes": lambda_size.MANAGED_LAYERS["AWSSDKPandas-Python312"]} in query["parts"]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    tmp = tmp_path_factory.mktemp("bench")
    lines: list[str] = []
    code = bench_run.main(["--sizes", "20k", "--runs", "1", "--budget", "0", "--no-charts", "--data", str(tmp / "data"),
                           "--results", str(tmp / "results.json")], echo=lines.append)
    assert code == 0
    return json.loads((tmp / "results.json").read_text()), "\n".join(lines)


@pytest.mark.slow
def test_harness_runs_end_to_end(harness: tuple[dict[str, Any], str]) -> None:
    results, text = harness
    size = results["sizes"]["20k"]
    for part in ("scan", "rollup", "queries", "together", "baseline"):
        assert size[part]["ok"] and size[part]["runs"] == 1 and size[part]["peak_rss_bytes"] > 0
    assert set(size["queries"]["per_insight_median_s"]) == set(size["answers"])
    assert all(a["identical"] for i, a in size["answers"].items() if i in baseline_pandas.COVERED), size["answers"]
    assert size["whole_run"]["warm"]["ok"] and size["whole_run"]["charts"] is False
    assert results["charts_note"] == "--no-charts" and "charts" not in results
    assert {t["status"] for t in results["targets"]} <= {"PASS", "MISS", "not measured"}
    for heading in ("ENGINE", "PANDAS BASELINE", "WHOLE `flowdigest run`", "ATHENA SCAN, 20k", "TARGETS"):
        assert heading in text


@pytest.mark.slow
def test_harness_athena_estimate_adds_up(harness: tuple[dict[str, Any], str]) -> None:
    a = harness[0]["sizes"]["20k"]["athena"]
    assert 0 < a["floor_bytes"] <= a["day_bytes"]
    assert a["floor_bytes"] <= a["rollup_build"]["bytes"]  # the rollup reads at least what the report needs
    assert a["rollup_total_bytes"] == a["rollup_build"]["bytes"] + sum(q["bytes"] for q in a["insights"])
    assert all(q["billed_bytes"] >= athena_scan.billed(0) for q in [*a["insights"], *a["naive"]])
    multi_day = {q["name"]: q["days"] for q in a["insights"] if q["days"] > 1}
    assert multi_day == {"headline": 8, "new_talkers": 7, "findings": 7}  # the most days one scan reads
    assert all(q["scans"] >= 1 for q in a["insights"])
