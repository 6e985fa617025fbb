"""Transit Gateway flow logs end to end: the corpus' sample (text, then the same records as
Parquet) through `flowdigest run --log-format`, a generated TGW day against the independent
oracle (tests/tgw_oracle.py), and a day with both VPC and TGW flow logs."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import oracle
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tgw_oracle

from flowdigest import cli, fields, s3layout
from flowdigest.sample import generate_day
from flowdigest.sample.tgw import TgwVpc, default_lost, tgw_day, write_tgw_day

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "elastic-integrations__test-tgw-samples.log"
CORPUS_DAY = dt.date(2025, 8, 19)
TGW_FORMAT = " ".join(f"${{{f}}}" for f in fields.TGW_FORMAT)
DAY = dt.date(2026, 11, 26)
VPCS = [
    TgwVpc("111111111111", "us-east-1", "vpc-0a1", ("subnet-0a1", "subnet-0a2"), ("use1-az1", "use1-az2"), 1),
    TgwVpc("222222222222", "us-east-1", "vpc-0b2", ("subnet-0b1",), ("use1-az4",), 2),
    TgwVpc("333333333333", "eu-west-1", "vpc-0c3", ("subnet-0c1", "subnet-0c2"), ("euw1-az1", "euw1-az3"), 3),
    TgwVpc("111111111111", "eu-west-1", "vpc-0d4", ("subnet-0d1",), ("euw1-az2",), 4),
]


def _run(source: Path, day: dt.date, out: Path, *extra: str) -> dict[str, Any]:
    code = cli.main(["run", "--source", str(source), "--date", day.isoformat(), "--out", str(out),
                     "--no-charts", "-q", *extra])
    assert code == 0
    return json.loads((out / day.isoformat() / "report.json").read_text())


def _corpus_records() -> list[dict[str, Any]]:
    """The sample's records as the file writes them: its field order, '-' for missing (None here)."""
    rows = []
    for line in CORPUS.read_text().splitlines():
        values = dict(zip(fields.TGW_FORMAT, line.split(), strict=True))
        rows.append({fields.BY_NAME[n].column: None if v == "-" else v for n, v in values.items()})
    return rows


def _typed(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([pa.field(f.column, f.type) for f in fields.TGW_CATALOG])
    cast = {f.column: (int if f.kind != "string" else str) for f in fields.TGW_CATALOG}
    return pa.Table.from_pylist([{c: None if v is None else cast[c](v) for c, v in r.items()} for r in rows],
                                schema=schema)


def _text_source(root: Path) -> Path:
    folder = root / "AWSLogs/123456789012/vpcflowlogs/eu-central-1" / CORPUS_DAY.strftime("%Y/%m/%d")
    folder.mkdir(parents=True)
    name = "123456789012_vpcflowlogs_eu-central-1_fl-0123456789abcdef0_20250819T0835Z_0a1b2c3d.log.gz"
    (folder / name).write_bytes(gzip.compress(CORPUS.read_bytes()))
    return root


def _parquet_source(root: Path) -> Path:
    folder = root / s3layout.hive_hour_prefix("123456789012", "eu-central-1", CORPUS_DAY, 8)
    folder.mkdir(parents=True)
    pq.write_table(_typed(_corpus_records()), folder / "sample.log.parquet", compression="gzip")
    return root


@pytest.fixture(scope="module")
def corpus_text_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("tgw_text")
    return _run(_text_source(tmp / "logs"), CORPUS_DAY, tmp / "out", "--log-format", TGW_FORMAT)


def test_corpus_sample_totals_are_the_sum_of_its_ok_records(corpus_text_report: dict[str, Any]) -> None:
    records = _corpus_records()
    expected = tgw_oracle.totals(records)
    assert expected["flows"] > 0
    assert corpus_text_report["totals"] == {**expected, "accepted_flows": None, "rejected_flows": None}
    head = corpus_text_report["insights"]["headline"]
    assert head["status"] == "ok" and "accepted / rejected not in this flow log's format" in head["summary"]
    assert head["rows"][-1]["accepted_flows"] is None and head["rows"][-1]["rejected_flows"] is None
    assert corpus_text_report["insights"]["data_health"]["status"] == "ok"


def test_corpus_packets_lost_are_unknown_as_the_file_says(corpus_text_report: dict[str, Any]) -> None:
    records = _corpus_records()
    rows = corpus_text_report["insights"]["transit_gateway"]["rows"]
    total = next(r for r in rows if r["kind"] == "total")
    assert {c: total[c] for c in tgw_oracle.LOST} == dict.fromkeys(tgw_oracle.LOST)  # every value is '-'
    by_attachment = {r["src"]: {c: r[c] for c in tgw_oracle.LOST} for r in rows if r["kind"] == "lost"}
    assert by_attachment == tgw_oracle.lost(records)
    statuses = {r["src"]: r["flows"] for r in rows if r["kind"] == "status"}
    expected = tgw_oracle.totals(records)
    assert statuses == {"NODATA": expected["nodata_records"], "SKIPDATA": expected["skipdata_records"]}
    assert "packets lost unknown" in corpus_text_report["insights"]["transit_gateway"]["summary"]


def test_the_same_records_as_parquet_give_the_same_report(corpus_text_report: dict[str, Any],
                                                          tmp_path: Path) -> None:
    report = _run(_parquet_source(tmp_path / "logs"), CORPUS_DAY, tmp_path / "out")
    assert report["totals"] == corpus_text_report["totals"]
    for i, entry in corpus_text_report["insights"].items():
        assert (report["insights"][i]["status"], report["insights"][i]["rows"]) == (entry["status"], entry["rows"]), i


def _pairs(rows: list[dict[str, Any]], kind: str) -> dict[tuple[Any, Any], int]:
    return {(r["src"], r["dst"]): r["bytes"] for r in rows if r["kind"] == kind}


def test_a_generated_day_matches_the_oracle(tmp_path: Path) -> None:
    write_tgw_day(tmp_path / "logs", VPCS, DAY)
    records = tgw_day(VPCS, DAY).records  # the same seeded records the files hold
    report = _run(tmp_path / "logs", DAY, tmp_path / "out")
    expected = tgw_oracle.totals(records)
    assert report["totals"] == {**expected, "accepted_flows": None, "rejected_flows": None}
    rows = report["insights"]["transit_gateway"]["rows"]
    once = next(r for r in rows if r["kind"] == "once")
    assert once["bytes"] == tgw_oracle.once_bytes(records) == expected["bytes"] // 2  # two records a flow
    for kind, want in tgw_oracle.pairs(records).items():
        top = dict(sorted(want.items(), key=lambda kv: -kv[1])[:10])
        assert _pairs(rows, kind) == top, kind
    assert _pairs(rows, "region_pair") and _pairs(rows, "account_pair")
    lost = {r["src"]: {c: r[c] for c in tgw_oracle.LOST} for r in rows if r["kind"] == "lost"}
    assert lost == tgw_oracle.lost(records)
    # the planted amounts, per the VPC whose attachment they came in by
    attachments = tgw_day(VPCS, DAY).attachments
    for (vpc, reason), n in default_lost(VPCS).items():
        assert lost[attachments[vpc]][f"packets_lost_{reason}"] == n


def test_a_day_with_both_kinds_says_so_and_keeps_them_apart(tmp_path: Path) -> None:
    vpc_only, both = tmp_path / "vpc", tmp_path / "both"
    generate_day(vpc_only, DAY, records=3000, seed=3)
    generate_day(both, DAY, records=3000, seed=3)
    write_tgw_day(both, VPCS, DAY)
    vpc_records = oracle.read_day(vpc_only, DAY)
    alone = _run(vpc_only, DAY, tmp_path / "out_vpc")
    mixed = _run(both, DAY, tmp_path / "out_both")
    tgw = tgw_oracle.totals(tgw_day(VPCS, DAY).records)
    vpc = oracle.totals(vpc_records)
    assert mixed["totals"] == {k: vpc[k] + tgw.get(k, 0) if k in tgw else vpc[k] for k in vpc}
    # the VPC insights read the VPC flow logs alone
    for i in ("top_talkers", "rejected", "gateway_endpoint", "nat_gateway", "traffic_by_hour", "ports_protocols"):
        assert mixed["insights"][i]["rows"] == alone["insights"][i]["rows"], i
    assert "transit_gateway" not in alone["insights"]
    note = " ".join(mixed["insights"]["headline"]["details"])
    assert "both kinds of flow log" in note and "Traffic between VPCs shows in both" in note
    tgw_bytes = mixed["insights"]["headline"]["rows"][-1]["tgw_bytes"]
    assert tgw_bytes == tgw["bytes"] and "in Transit Gateway flow logs" in mixed["insights"]["headline"]["summary"]


GRAFANA = CORPUS.parent / "grafana-vpc-flow-logs-analyzer__aws-test_flow_logs.log"


def _day_of(root: Path, text: str, stamp: str = "20250804T1535Z") -> Path:
    folder = root / "AWSLogs/123456789012/vpcflowlogs/eu-central-1/2025/08/04"
    folder.mkdir(parents=True)
    name = f"123456789012_vpcflowlogs_eu-central-1_fl-0123456789abcdef0_{stamp}_0a1b2c3d.log.gz"
    (folder / name).write_bytes(gzip.compress(text.encode()))
    return root


def test_without_action_every_insight_that_does_not_need_it_runs_the_same(tmp_path: Path) -> None:
    # the grafana sample accepts every record: taking `action` out of its format may change
    # nothing but the accepted / rejected figures (unknown) and the rejected insight (skipped)
    from flowdigest.insights import INSIGHTS

    header, *lines = GRAFANA.read_text().splitlines()
    names = header.split()
    assert all(dict(zip(names, line.split(), strict=True))["action"] in ("ACCEPT", "-") for line in lines)
    drop = names.index("action")
    cut = "\n".join(" ".join(w for i, w in enumerate(line.split()) if i != drop) for line in [header, *lines])
    day = dt.date(2025, 8, 4)
    full = _run(_day_of(tmp_path / "full", GRAFANA.read_text()), day, tmp_path / "out_full")
    without = _run(_day_of(tmp_path / "cut", cut + "\n"), day, tmp_path / "out_cut")
    assert without["totals"] == {**full["totals"], "accepted_flows": None, "rejected_flows": None}
    for i, entry in full["insights"].items():
        got = without["insights"][i]
        if "action" in INSIGHTS[i].needs:
            assert got["status"] == "skipped" and "${action}" in got["reason"], i
        elif i == "headline":
            assert got["status"] == "ok"
            assert [{**r, "accepted_flows": None, "rejected_flows": None} for r in entry["rows"]] == got["rows"]
        elif i == "findings":  # the cost kinds take every record as accepted; the risk kinds are skipped
            risk = {"exposed_port", "port_scan"}
            assert got["status"] == "ok" and got["rows"], i
            assert [r for r in got["rows"] if r["kind"] not in risk] == \
                [r for r in entry["rows"] if r["kind"] not in risk]
            assert {"exposed_port", "port_scan"} <= set(without["findings_summary"]["skipped"])
        else:
            assert (got["status"], got["rows"]) == (entry["status"], entry["rows"]), i


def test_sample_writes_a_transit_gateway_day_only_when_asked(tmp_path: Path) -> None:
    args = ["sample", "--date", DAY.isoformat(), "--days", "1", "--records", "1000", "-q"]
    assert cli.main([*args, "--out", str(tmp_path / "plain")]) == 0
    assert cli.main([*args, "--out", str(tmp_path / "tgw"), "--tgw"]) == 0
    plain = {p.relative_to(tmp_path / "plain"): p.read_bytes() for p in (tmp_path / "plain").rglob("*") if p.is_file()}
    both = {p.relative_to(tmp_path / "tgw"): p.read_bytes() for p in (tmp_path / "tgw").rglob("*") if p.is_file()}
    tgw_files = {p for p in both if p.parts[0] == "tgw-flowlogs"}
    assert len(tgw_files) == 24 and {p: b for p, b in both.items() if p not in tgw_files} == plain
    report = _run(tmp_path / "tgw", DAY, tmp_path / "out")
    assert report["insights"]["transit_gateway"]["status"] == "ok"


def test_an_organisations_sample_has_transit_gateway_traffic_between_its_accounts(tmp_path: Path) -> None:
    """`sample --accounts --regions --tgw`: the gateway's attachments are the organisation's VPCs,
    and the report's TGW figures are the oracle's over the records of those VPCs."""
    from flowdigest.sample.org import org_vpcs, tgw_vpcs

    out = tmp_path / "org"
    assert cli.main(["sample", "--date", DAY.isoformat(), "--days", "1", "--records", "3000", "-q",
                     "--accounts", "3", "--regions", "2", "--tgw", "--out", str(out)]) == 0
    vpcs = tgw_vpcs(org_vpcs(3, 2, 1, 0))
    assert len({v.account_id for v in vpcs}) == 3 and len({v.region for v in vpcs}) == 2
    records = tgw_day(vpcs, DAY).records
    report = _run(out, DAY, tmp_path / "out")
    rows = report["insights"]["transit_gateway"]["rows"]
    assert next(r for r in rows if r["kind"] == "once")["bytes"] == tgw_oracle.once_bytes(records)
    want = tgw_oracle.pairs(records)
    assert want["account_pair"] and want["region_pair"]
    for kind in ("account_pair", "region_pair"):
        assert _pairs(rows, kind) == dict(sorted(want[kind].items(), key=lambda kv: -kv[1])[:10]), kind
    # each VPC attached is one of the organisation's, as its VPC flow logs name it
    assert {v.vpc_id for v in vpcs} == {r["id"] for r in report["breakdown"]["vpcs"]}
