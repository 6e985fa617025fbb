"""An organisation's day (several accounts, Regions and VPCs under one AWSLogs/ folder): read
whole, filtered by account, Region and VPC, and broken down per account and per VPC; every
figure against tests/oracle.py over the raw records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import oracle
import pyarrow.parquet as pq
import pytest
from conftest import REPORT_DAY, load_report, run_report
from test_cli import _error, flowdigest

from flowdigest.scope import Scope
from flowdigest.sources.text import format_text

TOTALS = ("flows", "bytes", "packets", "nodata_records", "skipdata_records")


@pytest.fixture(scope="module")
def records(org_root: Path) -> list[oracle.Record]:
    return oracle.read_day(org_root, REPORT_DAY)


@pytest.fixture(scope="module")
def whole(org_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return load_report(run_report(org_root, REPORT_DAY, tmp_path_factory.mktemp("org-out"), charts=False))


def _totals(report: dict[str, Any]) -> dict[str, int]:
    return {k: report["totals"][k] for k in TOTALS}


def _expected(records: list[oracle.Record]) -> dict[str, int]:
    return {k: oracle.totals(records)[k] for k in TOTALS}


def test_the_whole_bucket_is_read(whole: dict[str, Any], records: list[oracle.Record]) -> None:
    assert len({(r["prefix_account"], r["prefix_region"]) for r in records}) == 6
    assert _totals(whole) == _expected(records)
    assert whole["scope"] == {}


def test_breakdown_rows_equal_the_oracle_per_account_and_vpc(whole: dict[str, Any],
                                                              records: list[oracle.Record]) -> None:
    for view, key in (("accounts", "account_id"), ("vpcs", "vpc_id")):
        rows = whole["breakdown"][view]
        assert {r["id"]: (r["flows"], r["bytes"], r["packets"]) for r in rows} == oracle.per(records, key)
        assert [r["bytes"] for r in rows] == sorted((r["bytes"] for r in rows), reverse=True)
    owners = {r["vpc_id"]: r["account_id"] for r in records}
    assert all(r["account_id"] == owners[r["id"]] for r in whole["breakdown"]["vpcs"])
    # each finding counted in its resource's account, and its money there (info findings are not avoidable)
    for row in whole["breakdown"]["accounts"]:
        mine = [f for f in whole["findings"] if f["resource"]["account_id"] == row["id"]]
        assert row["findings"] == len(mine)
        assert row["avoidable_usd_per_month"] == pytest.approx(
            sum(f["usd_per_month"] or 0 for f in mine if f["severity"] != "info"))
    placed = [f for f in whole["findings"] if f["resource"]["account_id"]]
    assert placed and all(f["resource"]["region"] for f in placed)


def _filters(records: list[oracle.Record]) -> list[Scope]:
    accounts = sorted({r["prefix_account"] for r in records})
    regions = sorted({r["prefix_region"] for r in records})
    vpcs = sorted({r["vpc_id"] for r in records})
    return [Scope(accounts=(accounts[1],)), Scope(regions=(regions[0],)), Scope(vpcs=(vpcs[2], vpcs[5])),
            Scope(accounts=(accounts[0], accounts[2]), regions=(regions[1],))]


@pytest.mark.parametrize("which", range(4), ids=["account", "region", "vpcs", "accounts-in-region"])
def test_a_filter_equals_the_oracle_over_its_records(which: int, org_root: Path, records: list[oracle.Record],
                                                      whole: dict[str, Any], tmp_path: Path) -> None:
    scope = _filters(records)[which]
    report = load_report(run_report(org_root, REPORT_DAY, tmp_path, charts=False, scope=scope))
    kept = oracle.in_scope(records, scope.accounts, scope.regions, scope.vpcs)
    assert 0 < len(kept) < len(records)
    assert _totals(report) == _expected(kept)
    assert report["scope"] == scope.as_dict()
    accounts = {r["id"] for r in report["breakdown"]["accounts"]}
    assert accounts == (set(oracle.per(kept, "account_id")) if len(accounts) > 1 else set())


def test_a_filtered_run_never_reuses_another_filters_rollup(org_root: Path, records: list[oracle.Record],
                                                           tmp_path: Path) -> None:
    first, second = _filters(records)[:2]
    for scope in (first, second, first, Scope()):
        report = load_report(run_report(org_root, REPORT_DAY, tmp_path, charts=False, scope=scope))
        assert _totals(report) == _expected(oracle.in_scope(records, scope.accounts, scope.regions, scope.vpcs))
    kept = sorted(p.name for p in (tmp_path / "rollup").iterdir())
    assert kept == sorted([f"dt={REPORT_DAY}", first.rollup_key(), second.rollup_key()])


def test_a_filter_matching_nothing_is_the_no_flow_logs_report(org_root: Path, tmp_path: Path) -> None:
    for scope in (Scope(accounts=("999999999999",)), Scope(vpcs=("vpc-0123456789abcdef0",))):
        folder = run_report(org_root, REPORT_DAY, tmp_path / scope.describe().split()[0], charts=False, scope=scope)
        report = load_report(folder)
        assert report["source"]["files"] == 0 and report["totals"]["flows"] == 0
        why = f"no flow logs were delivered for {REPORT_DAY} that match the filter {scope.describe()}"
        assert {r["status"] for r in report["insights"].values()} == {"skipped"}
        assert all(r["reason"] == why for r in report["insights"].values())
        message = json.loads((folder / "message.json").read_text())
        assert message["text"].endswith(f"{why}.")


def test_the_message_shows_the_top_accounts_and_vpcs(whole: dict[str, Any], org_root: Path, tmp_path: Path) -> None:
    folder = run_report(org_root, REPORT_DAY, tmp_path, charts=False)
    blocks = json.loads((folder / "message.json").read_text())["blocks"]
    text = next(b["text"]["text"] for b in blocks if "*By account*" in b.get("text", {}).get("text", ""))
    top = whole["breakdown"]["accounts"][0]
    assert "(top 3 of 3 by bytes)" in text and f"`{top['id']}`" in text
    assert "*By VPC* (top 5 of 12 by bytes)" in text
    assert text.count("\n• ") == 3 + 5


def test_text_without_account_and_region_fields_takes_them_from_its_prefix(
        org_root: Path, records: list[oracle.Record], tmp_path: Path) -> None:
    """AWS's plain text layout (AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/), in a
    format without account-id and region: the folders say whose records they are."""
    for f in org_root.rglob("*.log.parquet"):
        keys = dict(part.split("=", 1) for part in f.parts if "=" in part)
        folder = tmp_path.joinpath("text", "AWSLogs", keys["aws-account-id"], "vpcflowlogs", keys["aws-region"],
                                   keys["year"], keys["month"], keys["day"])
        folder.mkdir(parents=True, exist_ok=True)
        table = pq.read_table(f).drop_columns(["account_id", "region"])
        (folder / f.name.replace(".log.parquet", ".log.gz")).write_bytes(gzip.compress(format_text(table), 1))
    region = sorted({r["prefix_region"] for r in records})[1]
    report = load_report(run_report(tmp_path / "text", REPORT_DAY, tmp_path / "out", charts=False,
                                    scope=Scope(regions=(region,))))
    kept = oracle.in_scope(records, regions=(region,))
    assert _totals(report) == _expected(kept)
    assert {r["id"]: (r["flows"], r["bytes"], r["packets"]) for r in report["breakdown"]["accounts"]} == \
        oracle.per(kept, "prefix_account")


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--account", "111122223333,12345", "account '12345' is not valid (an account ID is 12 digits)"),
    ("--region", "Europe", "region 'Europe' is not valid (a Region looks like eu-west-1)"),
    ("--vpc", "vpc-xyz", "vpc 'vpc-xyz' is not valid (a VPC ID looks like vpc-0123456789abcdef0)"),
])
def test_a_bad_filter_is_one_line_and_exit_2(option: str, value: str, says: str, tmp_path: Path) -> None:
    result = flowdigest("run", "--source", str(tmp_path), "--date", str(REPORT_DAY), option, value)
    assert result.returncode == 2
    assert _error(result).endswith(f"argument {option}: {says}")


def test_an_organisations_sample_is_seeded_and_in_each_prefix(tmp_path: Path) -> None:
    def write(folder: Path, seed: int) -> dict[str, bytes]:
        args = ["sample", "--out", str(folder), "--date", str(REPORT_DAY), "--days", "1", "--records", "3000",
                "--files-per-hour", "1", "--accounts", "2", "--regions", "2", "--vpcs", "2", "--seed", str(seed)]
        result = flowdigest(*args)
        assert result.returncode == 0, result.stderr
        assert "2 accounts × 2 Regions × 2 VPCs:" in result.stdout and "records/s" in result.stdout
        return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.parquet")}

    first = write(tmp_path / "a", 1)
    assert write(tmp_path / "b", 1) == first
    assert write(tmp_path / "c", 2).keys() != first.keys()
    prefixes = {k.split("/year=")[0] for k in first}
    assert len(prefixes) == 4 and all(k.startswith("AWSLogs/aws-account-id=") for k in first)
    for key in first:  # each file's records are its prefix's account's and Region's
        table = pq.read_table(tmp_path / "a" / key)
        parts = dict(p.split("=", 1) for p in Path(key).parts if "=" in p)
        assert set(table.column("account_id").to_pylist()) == {parts["aws-account-id"]}
        assert set(table.column("region").to_pylist()) == {parts["aws-region"]}
    assert len({pq.read_table(tmp_path / "a" / k).column("vpc_id")[0].as_py() for k in first}) == 8


def test_a_one_account_day_has_no_breakdown_but_places_its_findings(sample_report: dict[str, Any],
                                                                     sample_root: Path) -> None:
    records = oracle.read_day(sample_root, REPORT_DAY)
    (account,) = {r["account_id"] for r in records}
    (region,) = {r["region"] for r in records}
    assert sample_report["breakdown"] == {"accounts": [], "vpcs": []} and sample_report["scope"] == {}
    placed = [f["resource"] for f in sample_report["findings"] if f["resource"]["type"] in ("interface", "subnet")]
    assert placed and all((r["account_id"], r["region"]) == (account, region) for r in placed)


def test_more_regions_than_the_sample_knows_is_one_line(tmp_path: Path) -> None:
    result = flowdigest("sample", "--out", str(tmp_path), "--date", str(REPORT_DAY), "--regions", "9")
    assert result.returncode == 2 and _error(result).endswith("--regions 9: the sample knows 8 Regions")
    assert not any(tmp_path.iterdir())
