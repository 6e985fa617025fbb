"""Names in the digest (issue 13): the report over a generated day with the inventory the
generator writes for it, checked against the describe outputs and the raw records directly
(not through flowdigest's NameIndex or SQL)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from conftest import REPORT_DAY, load_report, run_report
from oracle import ok, read_day

from flowdigest import naming, report
from flowdigest.cli import main
from flowdigest.inventory import Snapshot, read_dir
from flowdigest.models import DayPlan, InsightResult, Report
from flowdigest.pricing import Prices

SEED = 7  # conftest's sample_root
KEY = re.compile(r"^(eni-[0-9a-f]+|\d+\.\d+\.\d+\.\d+|[0-9a-f:]+:[0-9a-f:]*)$")


@pytest.fixture(scope="module")
def inventory_dir(sample_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flowdigest import sample
    from flowdigest.inventory.sample_inventory import write_inventory

    folder = tmp_path_factory.mktemp("inventory")
    write_inventory(sample.network(SEED), sample_root, folder)
    return folder


@pytest.fixture(scope="module")
def named(sample_root: Path, inventory_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("named")
    return run_report(sample_root, REPORT_DAY, out, charts=False, inventory=read_dir(inventory_dir))


def describe_outputs(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """From the CLI-shaped files alone: address -> Name, interface -> Name."""
    data: dict[str, Any] = {}
    for f in folder.glob("*.json"):
        data |= json.loads(f.read_text())
    tags = {i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])}
            for r in data["Reservations"] for i in r["Instances"]}
    by_address, by_eni = {}, {}
    for eni in data["NetworkInterfaces"]:
        inst = (eni.get("Attachment") or {}).get("InstanceId")
        if inst not in tags or "Name" not in tags[inst]:
            continue
        by_eni[eni["NetworkInterfaceId"]] = tags[inst]["Name"]
        for a in eni["PrivateIpAddresses"]:
            by_address[a["PrivateIpAddress"]] = tags[inst]["Name"]
    return by_address, by_eni


def test_lines_say_names_and_rows_keep_addresses(named: Path, inventory_dir: Path) -> None:
    rep = load_report(named)
    by_address, _ = describe_outputs(inventory_dir)
    top = rep["insights"]["top_talkers"]["rows"][0]
    assert top["srcaddr"] in by_address and top["dstaddr"] in by_address  # raw ids stay in the rows
    summary = rep["insights"]["top_talkers"]["summary"]
    src, dst = top["srcaddr"], top["dstaddr"]
    assert f"{by_address[src]} ({src}) → {by_address[dst]} ({dst})" in summary
    rows, details = rep["insights"]["top_talkers"]["rows"], rep["insights"]["top_talkers"]["details"]
    for r, line in zip(rows, details, strict=False):  # every detail line names the instances at both ends
        for a in (r["srcaddr"], r["dstaddr"]):
            assert (f"{by_address[a]} ({a})" if a in by_address else a) in line
    senders = [r for r in rep["insights"]["nat_gateway"]["rows"] if r["kind"] == "sender"]
    assert senders and all(f"internal {by_address[s['address']]} ({s['address']})" in d
                           for s, d in zip(senders, rep["insights"]["nat_gateway"]["details"], strict=False))


def test_the_names_map_covers_every_address_and_interface_in_the_rows(named: Path, inventory_dir: Path) -> None:
    rep = load_report(named)
    by_address, by_eni = describe_outputs(inventory_dir)
    in_rows = set(_keys([e["rows"] for e in rep["insights"].values()]))
    in_findings = set(_keys(rep["findings"]))
    keys = in_rows | in_findings | set(_keys(rep["top_talkers_by_resource"]))
    assert in_rows and in_findings
    assert set(rep["names"]) == keys
    for k, entry in rep["names"].items():
        known = by_address.get(k) or by_eni.get(k)
        if known:
            assert entry["name"] == known and entry["type"] == "instance", k
        elif entry["type"] == "unknown":
            assert entry["name"] is None  # never a guessed name
    stored = Snapshot.model_validate_json((named / "inventory.json").read_text())
    assert stored == read_dir(inventory_dir).model_copy(update={"source": stored.source})


def _keys(value: Any) -> list[str]:
    """Every address / interface id in a JSON value, at any depth."""
    if isinstance(value, dict):
        return [k for v in value.values() for k in _keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return [value] if isinstance(value, str) and KEY.match(value) and not value.isdigit() else []


def test_coverage_and_top_talkers_by_resource_match_the_raw_records(named: Path, sample_root: Path,
                                                                      inventory_dir: Path) -> None:
    rep = load_report(named)
    _, by_eni = describe_outputs(inventory_dir)
    known = {e["NetworkInterfaceId"] for f in inventory_dir.glob("*.json")
             for e in json.loads(f.read_text()).get("NetworkInterfaces", [])}
    records = [r for r in ok(read_day(sample_root, REPORT_DAY)) if r["interface_id"]]
    total = sum(r["bytes"] for r in records)
    share = sum(r["bytes"] for r in records if r["interface_id"] in known) / total
    health = rep["insights"]["data_health"]
    assert f"names: {share:.0%} of the day's bytes" in " ".join(health["details"])
    assert f"{share * 100:.0f} % of bytes on named resources" in health["summary"]
    assert by_eni  # the inventory names instances at all


def independent_groups(folder: Path) -> dict[str, tuple[str, str, str | None]]:
    """interface -> (type, name, grouping tag) from the describe outputs alone, by the issue's
    rules for what the sample inventory holds: a NAT gateway by its Name tag, a load balancer by
    the name in "ELB app/<name>/…", an instance by its auto-scaling group, else its Name tag."""
    data: dict[str, Any] = {}
    for f in folder.glob("*.json"):
        data |= json.loads(f.read_text())
    tags = {i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])}
            for r in data["Reservations"] for i in r["Instances"]}
    nats = {a["NetworkInterfaceId"]: {t["Key"]: t["Value"] for t in n.get("Tags", [])}.get("Name", n["NatGatewayId"])
            for n in data["NatGateways"] for a in n["NatGatewayAddresses"]}
    out: dict[str, tuple[str, str, str | None]] = {}
    for eni in data["NetworkInterfaces"]:
        i, inst = eni["NetworkInterfaceId"], (eni.get("Attachment") or {}).get("InstanceId")
        if i in nats:
            out[i] = ("nat_gateway", nats[i], None)
        elif eni["Description"].startswith("ELB app/"):
            out[i] = ("load_balancer", eni["Description"].split("/")[1], None)
        elif inst and "aws:autoscaling:groupName" in tags[inst]:
            out[i] = ("instance", tags[inst]["aws:autoscaling:groupName"], "aws:autoscaling:groupName")
        elif inst:
            out[i] = ("instance", tags[inst].get("Name", inst), None)
        else:
            raise AssertionError(f"{i}: a kind of interface this test's rules do not cover")
    return out


def test_top_talkers_by_resource_are_the_raw_bytes_per_interface_grouped(named: Path, sample_root: Path,
                                                                         inventory_dir: Path) -> None:
    rep = load_report(named)
    groups = independent_groups(inventory_dir)
    per_eni: dict[str, int] = defaultdict(int)  # every interface with a record, NODATA ones at 0 bytes
    for r in read_day(sample_root, REPORT_DAY):
        if r["interface_id"]:
            per_eni[r["interface_id"]] += r["bytes"] if r["log_status"] == "OK" else 0
    rows: dict[tuple[str, str, str | None], list[tuple[int, str]]] = defaultdict(list)
    for eni, b in per_eni.items():
        rows[groups.get(eni, ("unknown", eni, None))].append((b, eni))
    ranked = sorted(rows.items(), key=lambda kv: (-sum(b for b, _ in kv[1]), kv[0][0], kv[0][1]))[:10]
    expected = [{"name": name, "type": typ, "grouped_by": tag, "interfaces": len(m),
                 "interface_ids": [e for _, e in sorted(m, key=lambda x: (-x[0], x[1]))], "bytes": sum(b for b, _ in m)}
                for (typ, name, tag), m in ranked]
    assert rep["top_talkers_by_resource"] == expected
    scaled = [r for r in expected if r["interfaces"] > 1]
    assert scaled  # an auto-scaling group's instances are one row
    from flowdigest.units import human_bytes

    details = rep["insights"]["top_talkers"]["details"]
    for i, r in enumerate(expected, 1):  # the message shows the same rows, in order
        kind = "auto-scaling group" if r["grouped_by"] else r["type"].replace("_", " ")
        count = f", {r['interfaces']} interfaces" if r["interfaces"] > 1 else ""
        assert f"by resource {i}. {r['name']} ({kind}{count}): {human_bytes(r['bytes'])}" in details
    assert f"busiest resource {expected[0]['name']}" in rep["insights"]["top_talkers"]["summary"]


def test_charts_and_message_lines_carry_names(named: Path, sample_root: Path, inventory_dir: Path) -> None:
    pytest.importorskip("plotly")
    from flowdigest.store import LocalStore

    rep = Report.model_validate_json((named / "report.json").read_text())
    by_address, _ = describe_outputs(inventory_dir)
    plan = DayPlan(report_date=REPORT_DAY, columns=rep.fields, files=rep.source.files, source_bytes=0,
                   hours_present=rep.data_health.hours_present, insights=list(rep.insights))
    figs = dict(report.figures(rep, plan, rep.prices, inventory=_day_names(rep, inventory_dir)))
    top = rep.insights["top_talkers"].rows[0]
    labels = list(figs["top_talkers"].data[0].y)
    assert f"{by_address[top['srcaddr']]} -> {by_address[top['dstaddr']]}" in labels
    # beside the pairs, the rows by resource: a group of interfaces is one bar, largest at the top
    lead = rep.top_talkers_by_resource[0]
    assert list(figs["top_talkers"].data[1].y)[-1].startswith(lead.name)
    grouped = next(r for r in rep.top_talkers_by_resource if r.interfaces > 1)
    assert f"{grouped.name} ({grouped.interfaces} interfaces)" in list(figs["top_talkers"].data[1].y)
    senders = [by_address[r["address"]] for r in rep.insights["nat_gateway"].rows if r["kind"] == "sender"][:3]
    assert ", ".join(dict.fromkeys(senders)) in figs["nat_gateway"].layout.title.text
    rejected = [by_address[r["value"]] for r in rep.insights["rejected"].rows
                if r["kind"] == "source" and r["value"] in by_address]
    assert rejected and rejected[0] in figs["rejected"].layout.title.text
    message = json.loads((named / "message.json").read_text())
    sender = next(r["address"] for r in rep.insights["nat_gateway"].rows if r["kind"] == "sender")
    assert f"top sender {by_address[sender]} ({sender})" in json.dumps(message["blocks"], ensure_ascii=False)
    thread = json.dumps(message["thread"], ensure_ascii=False)
    assert f"{by_address[top['srcaddr']]} ({top['srcaddr']}) → {by_address[top['dstaddr']]}" in thread
    assert LocalStore(named.parent).exists(f"{REPORT_DAY}/inventory.json")


def _day_names(rep: Report, folder: Path) -> naming.DayNames:
    """What the render step had: the inventory and the report's rows by resource."""
    inv = naming.survey(REPORT_DAY, read_dir(folder), "x/inventory.json", [])
    return naming.DayNames(inv.model_copy(update={"resources": rep.top_talkers_by_resource}), *_index(folder))


def _index(folder: Path) -> tuple[Any, Any]:
    from flowdigest.inventory import NameIndex, Routes

    snap = read_dir(folder)
    return NameIndex(snap), Routes(snap)


def test_without_inventory_names_is_empty_and_no_line_mentions_them(sample_report: dict[str, Any]) -> None:
    assert sample_report["names"] == {}
    text = json.dumps(sample_report["insights"])
    assert "by resource" not in text and "named resource" not in text and "names unavailable" not in text


def test_unavailable_names_keep_addresses_with_a_data_health_line() -> None:
    snap = Snapshot.unavailable("names unavailable: ec2:DescribeNetworkInterfaces denied (UnauthorizedOperation)")
    out = naming.survey(REPORT_DAY, snap, "k", [{"interface_id": "eni-1", "bytes": 5}])
    names = naming.DayNames.load(out, store=None)  # type: ignore[arg-type]  # unavailable: nothing is read
    assert names is not None and names.index is None
    plan = DayPlan(report_date=REPORT_DAY, columns=["log_status"], files=1, source_bytes=1, hours_present=[0],
                   insights=["data_health"])
    res = InsightResult(id="data_health", status="ok", rows=[{"hour": 0, "log_status": "OK", "records": 3}])
    built = report.build(plan, [res], Prices(), inventory=names)
    health = built.insights["data_health"]
    assert health.summary is not None and health.summary.endswith("; names unavailable")
    assert snap.reason in health.details and built.names == {}


def test_a_malformed_inventory_file_is_one_line_and_exit_3(sample_root: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "nat.json").write_text('{"NatGateways": [')
    code = main(["run", "--source", str(sample_root), "--date", str(REPORT_DAY), "--out", str(tmp_path / "o"),
                 "--no-charts", "-q", "--inventory", str(tmp_path / "inv")])
    err = capsys.readouterr().err.strip()
    assert code == 3 and len(err.splitlines()) == 1 and "nat.json" in err and "not valid JSON" in err
    assert not (tmp_path / "o").exists()  # stopped before any work


def test_the_demo_writes_and_uses_the_sample_inventory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--out", str(tmp_path), "--records", "20000", "--date", str(REPORT_DAY), "--no-charts", "-q"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "sample-inventory").glob("*.json")) == [
        "instances.json", "nat-gateways.json", "network-interfaces.json", "route-tables.json", "subnets.json",
        "vpc-endpoints.json"]
    rep = load_report(tmp_path / str(REPORT_DAY))
    by_address, _ = describe_outputs(tmp_path / "sample-inventory")
    top = rep["insights"]["top_talkers"]["rows"][0]
    assert f"{by_address[top['srcaddr']]} ({top['srcaddr']})" in capsys.readouterr().out
    assert (tmp_path / str(REPORT_DAY) / "inventory.json").is_file() and rep["names"]
    # every kind of finding, the flow logs' own cost too (shown whatever its amount by the demo)
    from flowdigest.findings.model import KINDS
    assert {f["kind"] for f in rep["findings"]} == set(KINDS)


def test_an_unlogged_nat_interface_says_the_nat_figures_are_incomplete(sample_root: Path, inventory_dir: Path,
                                                                       tmp_path: Path) -> None:
    folder = tmp_path / "inventory"
    folder.mkdir()
    for f in inventory_dir.glob("*.json"):
        (folder / f.name).write_text(f.read_text())
    enis = json.loads((folder / "network-interfaces.json").read_text())
    silent = json.loads(json.dumps(enis["NetworkInterfaces"][0]))  # the same VPC, no record today
    silent.pop("Attachment", None)
    silent |= {"NetworkInterfaceId": "eni-0feedfacefeedface", "InterfaceType": "nat_gateway", "TagSet": [],
               "Description": "Interface for NAT Gateway nat-0feedfacefeedface", "RequesterManaged": True,
               "PrivateIpAddress": "10.0.250.250",
               "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "10.0.250.250"}]}
    enis["NetworkInterfaces"].append(silent)
    (folder / "network-interfaces.json").write_text(json.dumps(enis))
    rep = load_report(run_report(sample_root, REPORT_DAY, tmp_path / "out", charts=False, inventory=read_dir(folder)))
    details = rep["insights"]["data_health"]["details"]
    assert ("NAT gateway nat-0feedfacefeedface (eni-0feedfacefeedface) wrote no flow-log record: "
            "NAT figures are incomplete") in details
    assert any(d.startswith("1 interface(s) in the inventory wrote no flow-log record today") for d in details)


def test_chart_labels_keep_bars_of_one_name_apart() -> None:
    import datetime as dt

    from flowdigest.insights.base import Context
    from flowdigest.inventory import NameIndex
    from flowdigest.inventory.models import Interface

    snap = Snapshot(kinds=["NetworkInterfaces"], interfaces=[
        Interface(id="eni-1", private_ips=["10.0.0.1"], tags={"Name": "api"}),
        Interface(id="eni-2", private_ips=["10.0.0.2"], tags={"Name": "api"}),
        Interface(id="eni-3", private_ips=["10.0.0.3"], tags={"Name": "db"})])
    ctx = Context(report_date=dt.date(2026, 11, 20), prices=Prices(), names=NameIndex(snap))
    assert naming.chart_labels(ctx, [("10.0.0.1", "10.0.0.3"), ("10.0.0.2", "10.0.0.3"), ("10.0.0.3", "9.9.9.9")]) == [
        "api (10.0.0.1) -> db (10.0.0.3)", "api (10.0.0.2) -> db (10.0.0.3)", "db -> 9.9.9.9"]
    assert naming.shown(ctx, "eni-3") == "db (eni-3)" and naming.shown(ctx, "10.9.9.9") == "10.9.9.9"
    no_names = Context(report_date=dt.date(2026, 11, 20), prices=Prices())
    assert naming.chart_labels(no_names, [("10.0.0.1", "10.0.0.3")]) == ["10.0.0.1 -> 10.0.0.3"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def raw_mentions(texts: list[str], names: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, text) for every address / interface id the names map names that a text shows
    bare: not as "name (key)" and not inside its own name ("interface eni-…")."""
    out = []
    for k, entry in names.items():
        name = entry["name"]
        if not name:
            continue
        bare = re.compile(rf"(?<![0-9A-Za-z.:-]){re.escape(k)}(?![0-9A-Za-z:]|\.\d)")
        for text in texts:
            rest = text.replace(f"{name} ({k})", "").replace(name, "") if k in text else ""
            if bare.search(rest):
                out.append((k, text))
    return out


def test_no_address_the_names_map_knows_is_shown_bare(named: Path, inventory_dir: Path) -> None:
    pytest.importorskip("plotly")
    rep = Report.model_validate_json((named / "report.json").read_text())
    names = {k: e.model_dump() for k, e in rep.names.items()}
    assert sum(1 for e in names.values() if e["name"]) > 20
    message = json.loads((named / "message.json").read_text())
    assert raw_mentions(_strings(message), names) == []
    lines = [s for e in rep.insights.values() for s in (e.summary or "", *e.details, e.chart_alt or "")]
    assert raw_mentions([*lines, *(s for f in rep.findings for s in (f.title, f.fix))], names) == []
    plan = DayPlan(report_date=REPORT_DAY, columns=rep.fields, files=rep.source.files, source_bytes=0,
                   hours_present=rep.data_health.hours_present, insights=list(rep.insights))
    figs = dict(report.figures(rep, plan, rep.prices, inventory=_day_names(rep, inventory_dir)))
    assert {"top_talkers", "nat_gateway", "rejected", "findings"} <= set(figs)
    assert raw_mentions([s for f in figs.values() for s in _strings(f.to_plotly_json())], names) == []
