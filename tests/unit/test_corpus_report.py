"""Whole reports over the real-world corpus files, delivered as AWS's text layout."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Callable
from pathlib import Path

from conftest import run_report

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _text_day(root: Path, files: dict[str, str], day: str, region: str = "eu-central-1") -> None:
    _write_day(root, {stamp: (CORPUS / src).read_bytes() for src, stamp in files.items()}, day, region)


def _write_day(root: Path, texts: dict[str, bytes], day: str, region: str = "eu-central-1") -> None:
    day_dir = root / "AWSLogs/123456789012/vpcflowlogs" / region / day.replace("-", "/")
    day_dir.mkdir(parents=True)
    for stamp, text in texts.items():
        key = f"123456789012_vpcflowlogs_{region}_fl-0123456789abcdef0_{stamp}.log.gz"
        (day_dir / key).write_bytes(gzip.compress(text))


def _report(root: Path, day: str, out: Path) -> dict:
    return json.loads((run_report(root, dt.date.fromisoformat(day), out, charts=False) / "report.json").read_text())


def test_grafana_s3_through_the_nat_gateway_is_classified_as_nat(tmp_path: Path) -> None:
    _text_day(tmp_path / "logs", {"grafana-vpc-flow-logs-analyzer__aws-test_flow_logs.log": "20250804T1535Z_0a1b2c3d"},
              "2025-08-04")
    report = _report(tmp_path / "logs", "2025-08-04", tmp_path / "out")
    rows = report["insights"]["gateway_endpoint"]["rows"]
    # 10.63.37.34 -> 3.5.246.198 (S3), 40672 bytes, logged on the NAT gateway's interface: the interface is
    # recognised as a NAT's because another of its records has pkt-dstaddr 3.75.6.195 != dstaddr 10.63.37.34
    assert rows == [{"service": "S3", "path": "nat", "direction": "to_service", "bytes": 40672, "flows": 1}]
    nat = {r["kind"]: r for r in report["insights"]["nat_gateway"]["rows"]}
    assert nat["total"]["bytes"] == 40672 + 4065  # the public legs: to S3, and in from 85.214.204.244
    assert report["totals"]["nodata_records"] == 1 and report["totals"]["skipdata_records"] == 1


def test_default_format_skips_what_it_cannot_know(tmp_path: Path) -> None:
    # v2 default fields only: no pkt-* or flow-direction, so the AWS-service insights are skipped
    _text_day(tmp_path / "logs", {"elastic-integrations__test-extra-samples.log": "20161031T1135Z_0a1b2c3d"},
              "2016-10-31")
    report = _report(tmp_path / "logs", "2016-10-31", tmp_path / "out")
    ge = report["insights"]["gateway_endpoint"]
    assert ge["status"] == "skipped"
    assert "pkt-dst-aws-service" in ge["reason"] and "${pkt-dst-aws-service}" in ge["reason"]
    assert report["insights"]["nat_gateway"]["status"] == "skipped"
    assert report["insights"]["top_talkers"]["status"] == "ok"
    assert report["insights"]["data_health"]["status"] == "ok"


# -- formats without log-status or action: the totals still count every data record ------

GRAFANA = CORPUS / "grafana-vpc-flow-logs-analyzer__aws-test_flow_logs.log"


def _without(field: str, keep: Callable[[dict[str, str]], bool] = lambda r: True) -> tuple[bytes, list[dict[str, str]]]:
    """The grafana sample with one field taken out of its format (header and records)."""
    header, *lines = GRAFANA.read_text().splitlines()
    names = header.split()
    records = [r for r in (dict(zip(names, line.split(), strict=True)) for line in lines) if keep(r)]
    kept = [n for n in names if n != field]
    text = "\n".join([" ".join(kept), *(" ".join(r[n] for n in kept) for r in records)]) + "\n"
    return text.encode(), records


def _counted(records: list[dict[str, str]]) -> dict[str, int]:
    data = [r for r in records if r["log-status"] == "OK"]
    return {"flows": len(data), "bytes": sum(int(r["bytes"]) for r in data),
            "packets": sum(int(r["packets"]) for r in data)}


def test_format_without_log_status_counts_every_record(tmp_path: Path) -> None:
    # AWS writes NODATA / SKIPDATA only in log-status: without it, every record is a data record
    text, records = _without("log-status", keep=lambda r: r["log-status"] == "OK")
    _write_day(tmp_path / "logs", {"20250804T1535Z_0a1b2c3d": text}, "2025-08-04")
    report = _report(tmp_path / "logs", "2025-08-04", tmp_path / "out")
    assert "log_status" not in report["fields"]
    expected = _counted(records)
    assert expected["flows"] == len(records) > 0
    assert {k: report["totals"][k] for k in expected} == expected
    assert report["totals"]["nodata_records"] == 0 == report["totals"]["skipdata_records"]
    assert report["totals"]["accepted_flows"] == sum(r["action"] == "ACCEPT" for r in records)
    top = report["insights"]["top_talkers"]
    assert top["status"] == "ok" and len(top["rows"]) > 0 and not top["summary"].startswith("No ")
    hours = report["insights"]["traffic_by_hour"]["rows"]
    assert sum(h["ingress_bytes"] + h["egress_bytes"] + h["unknown_bytes"] for h in hours) == expected["bytes"]
    assert report["insights"]["headline"]["status"] == "ok"  # it needs action, bytes and packets only
    assert report["insights"]["data_health"]["status"] == "skipped"


def test_format_without_action_has_unknown_accepts_and_rejects(tmp_path: Path) -> None:
    text, records = _without("action")
    _write_day(tmp_path / "logs", {"20250804T1535Z_0a1b2c3d": text}, "2025-08-04")
    out = tmp_path / "out"
    report = _report(tmp_path / "logs", "2025-08-04", out)
    expected = _counted(records)
    assert {k: report["totals"][k] for k in expected} == expected
    assert report["totals"]["nodata_records"] == 1 == report["totals"]["skipdata_records"]
    assert report["totals"]["accepted_flows"] is None and report["totals"]["rejected_flows"] is None
    message = json.loads((out / "2025-08-04" / "message.json").read_text())
    fields = [f["text"] for b in message["blocks"] if "fields" in b for f in b["fields"]]
    assert "*Accepted / rejected flows*\nnot in this flow log's format" in fields


def test_transit_gateway_sample_totals_are_its_ok_records(tmp_path: Path) -> None:
    # 36 fields, no action: the totals are the OK records' sums; accepted / rejected unknown
    from test_corpus import TGW

    name = "elastic-integrations__test-tgw-samples.log"
    records = [dict(zip(TGW, line.split(), strict=True)) for line in (CORPUS / name).read_text().splitlines()]
    _write_day(tmp_path / "logs", {"20250819T0835Z_0a1b2c3d": (CORPUS / name).read_bytes()}, "2025-08-19")
    out = run_report(tmp_path / "logs", dt.date(2025, 8, 19), tmp_path / "out", charts=False,
                  log_format=" ".join(f"${{{f}}}" for f in TGW))
    totals = json.loads((out / "report.json").read_text())["totals"]
    assert totals == {**_counted(records), "accepted_flows": None, "rejected_flows": None,
                      "nodata_records": sum(r["log-status"] == "NODATA" for r in records),
                      "skipdata_records": sum(r["log-status"] == "SKIPDATA" for r in records)}
    assert totals["flows"] > 0


def test_grafana_nat_sender_counts_what_it_sent_not_the_replies(tmp_path: Path) -> None:
    # the test_flow_logs sample (a NAT gateway's interface): a sender's bytes are its private leg
    # out (pkt-dstaddr differs from dstaddr), never the replies (pkt-srcaddr differs), which repeat
    # the public leg's inbound bytes; so no sender can exceed what the NAT gateway processed here
    _text_day(tmp_path / "logs", {GRAFANA.name: "20250804T1535Z_0a1b2c3d"}, "2025-08-04")
    report = _report(tmp_path / "logs", "2025-08-04", tmp_path / "out")
    header, *lines = GRAFANA.read_text().splitlines()
    records = [dict(zip(header.split(), line.split(), strict=True)) for line in lines]
    sent: dict[str, int] = {}
    for r in records:
        if r["log-status"] == "OK" and r["action"] == "ACCEPT" and r["pkt-dstaddr"] not in ("-", r["dstaddr"]):
            sent[r["srcaddr"]] = sent.get(r["srcaddr"], 0) + int(r["bytes"])
    rows = report["insights"]["nat_gateway"]["rows"]
    senders = {r["address"]: r["bytes"] for r in rows if r["kind"] == "sender"}
    assert senders == sent and senders
    total = next(r["bytes"] for r in rows if r["kind"] == "total")
    assert max(senders.values()) <= total
