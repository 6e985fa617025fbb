"""The sample-day generator writes what AWS delivers, and its profile switches work."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from flowdigest import cli, fields, s3layout, sample
from flowdigest.sample import DayProfile, generate_day, generate_days, network

DAY = dt.date(2024, 5, 14)
DAY_START = int(dt.datetime(2024, 5, 14, tzinfo=dt.UTC).timestamp())
SEED = 7
MISSING = (3, 17)
NAME = re.compile(
    r"^(?P<acct>\d{12})_vpcflowlogs_(?P<region>[a-z0-9-]+)_(?P<fl>fl-[0-9a-f]{17})_"
    r"(?P<date>\d{8})T(?P<hh>\d{2})(?P<mm>\d{2})Z_[0-9a-f]{8}\.log\.parquet$"
)
HOUR_DIR = re.compile(
    r"^AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/"
    r"year=2024/month=05/day=14/hour=(\d{2})$"
)
AWS_RANGES = {
    "S3": sample.S3_CIDRS, "DYNAMODB": sample.DYNAMODB_CIDRS, "EC2": sample.EC2_CIDRS,
    "AMAZON": sample.AMAZON_CIDRS, "CLOUDFRONT": sample.CLOUDFRONT_CIDRS,
}


def _read(paths: list[Path]) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in paths])


def _rows(t: pa.Table, **eq: object) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = t.to_pylist()
    return [r for r in rows if all(r[k] == v for k, v in eq.items())]


def _private(a: object) -> bool:
    return isinstance(a, str) and ipaddress.ip_address(a).is_private


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], pa.Table]:
    root = tmp_path_factory.mktemp("day")
    paths = generate_day(root, DAY, records=6000, seed=SEED, profile=DayProfile(missing_hours=MISSING))
    return root, paths, _read(paths)


def _switch_day(tmp_path: Path, **switches: object) -> pa.Table:
    profile = DayProfile(files_per_hour=1, **switches)  # type: ignore[arg-type]
    return _read(generate_day(tmp_path, DAY, records=2500, seed=SEED, profile=profile))


def test_keys_and_file_names(day: tuple[Path, list[Path], pa.Table]) -> None:
    root, paths, _ = day
    assert set(paths) == {p for p in root.rglob("*") if p.is_file()}
    hours: dict[int, int] = {}
    for p in paths:
        m = HOUR_DIR.match(p.parent.relative_to(root).as_posix())
        assert m, p
        n = NAME.match(p.name)
        assert n, p.name
        assert (n["acct"], n["region"], n["fl"], n["date"]) == (
            "123456789012", "us-east-1", network(SEED).flow_log_id, "20240514")
        assert n["hh"] == m[1] and 0 <= int(n["mm"]) < 60
        hours[int(m[1])] = hours.get(int(m[1]), 0) + 1
    assert set(hours) == set(range(24)) - set(MISSING)
    assert all(n >= 2 for n in hours.values())


def test_schema_and_gzip(day: tuple[Path, list[Path], pa.Table]) -> None:
    _, paths, _ = day
    columns = [n.replace("-", "_") for n in fields.V5_FORMAT]
    for p in paths[:: max(1, len(paths) // 8)]:
        f = pq.ParquetFile(p)
        assert f.schema_arrow.equals(fields.schema(columns)), p
        md = f.metadata
        codecs = {md.row_group(g).column(c).compression for g in range(md.num_row_groups)
                  for c in range(md.num_columns)}
        assert codecs == {"GZIP"}


def test_times_fall_in_the_day_and_hour(day: tuple[Path, list[Path], pa.Table]) -> None:
    _, paths, _ = day
    for p in paths:
        hour = int(p.parent.name.split("=")[1])
        t = pq.read_table(p, columns=["start", "end"])
        start, end = t["start"].to_numpy(), t["end"].to_numpy()
        hour_start = DAY_START + hour * 3600
        assert start.min() >= max(DAY_START, hour_start - 600)
        assert end.max() < hour_start + 3600
        assert ((end - start) >= 0).all() and ((end - start) < 600).all()


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    prof = DayProfile(files_per_hour=1)
    a = generate_day(tmp_path / "a", DAY, records=1500, seed=3, profile=prof)
    b = generate_day(tmp_path / "b", DAY, records=1500, seed=3, profile=prof)
    c = generate_day(tmp_path / "c", DAY, records=1500, seed=4, profile=prof)
    assert [p.name for p in a] == [p.name for p in b]
    assert _read(a).equals(_read(b))
    assert [p.name for p in a] != [p.name for p in c]


def test_default_day_has_every_kind_of_traffic(day: tuple[Path, list[Path], pa.Table]) -> None:
    _, _, t = day
    net = network(SEED)
    rows = t.to_pylist()
    paths = {r["traffic_path"] for r in rows if r["flow_direction"] == "egress"}
    assert paths == {1, 2, 7, 8}
    rejected = [r for r in rows if r["action"] == "REJECT"]
    assert rejected and {r["dstport"] for r in rejected} & {22, 23, 3389, 445, 5900, 8080}
    assert any(r["interface_id"] == net.nat_eni for r in rows)
    s3_out = [r for r in rows if r["flow_direction"] == "egress" and r["pkt_dst_aws_service"] == "S3"
              and r["interface_id"] in net.private_instance_enis]
    assert {r["traffic_path"] for r in s3_out} == {1, 2, 7}  # via NAT, ambiguous, endpoint
    assert {r["type"] for r in rows} == {"IPv4", "IPv6", None}
    assert {r["log_status"] for r in rows} == {"OK", "NODATA", "SKIPDATA"}
    per_hour = pc.value_counts(pc.divide(pc.subtract(t["start"], DAY_START), 3600)).to_pylist()
    counts = {d["values"]: d["counts"] for d in per_hour}
    assert counts[15] > 2 * counts[4]  # diurnal: business hours busier than the night
    assert max(r["bytes"] or 0 for r in rows) > 100 * sorted(r["bytes"] or 0 for r in rows)[len(rows) // 2]


def test_nat_gateway_legs(day: tuple[Path, list[Path], pa.Table]) -> None:
    _, _, t = day
    net = network(SEED)
    nat = [r for r in _rows(t, interface_id=net.nat_eni, log_status="OK", action="ACCEPT")]
    assert nat and all(r["instance_id"] is None for r in nat)
    for r in nat:
        if r["flow_direction"] == "egress":
            assert r["srcaddr"] == net.nat_ip
            if _private(r["dstaddr"]):  # private leg, response to the instance
                assert r["traffic_path"] == 1 and not _private(r["pkt_srcaddr"])
                assert r["pkt_dstaddr"] == r["dstaddr"]
            else:  # public leg out
                assert r["traffic_path"] == 8
                assert (r["pkt_srcaddr"], r["pkt_dstaddr"]) == (r["srcaddr"], r["dstaddr"])
        else:
            assert r["dstaddr"] == net.nat_ip and r["traffic_path"] is None
            if _private(r["srcaddr"]):  # private leg in: packet bound for the public host
                assert not _private(r["pkt_dstaddr"]) and r["pkt_srcaddr"] == r["srcaddr"]
            else:  # public leg response
                assert (r["pkt_srcaddr"], r["pkt_dstaddr"]) == (r["srcaddr"], r["dstaddr"])
    # what instances send through the NAT gateway is what its private leg receives
    sent = sum(r["bytes"] for r in t.to_pylist() if r["flow_direction"] == "egress"
               and r["traffic_path"] == 1 and not _private(r["dstaddr"]))
    received = sum(r["bytes"] for r in nat if r["flow_direction"] == "ingress" and _private(r["srcaddr"]))
    assert sent == received > 0


def test_eks_node_pods(day: tuple[Path, list[Path], pa.Table]) -> None:
    """AWS's second cause of pkt-*addr != *addr: pods on an EKS node, whose records name the node."""
    _, _, t = day
    net = network(SEED)
    node = _rows(t, interface_id=net.eks_node_eni, log_status="OK")
    assert node and all(r["instance_id"] for r in node)
    node_addr = next(r["srcaddr"] for r in node if r["flow_direction"] == "egress")
    out = [r for r in node if r["flow_direction"] == "egress" and r["pkt_srcaddr"] != r["srcaddr"]]
    back = [r for r in node if r["flow_direction"] == "ingress" and r["pkt_dstaddr"] != r["dstaddr"]]
    assert out and back
    assert {r["srcaddr"] for r in out} == {node_addr} == {r["dstaddr"] for r in back}
    pods = {r["pkt_srcaddr"] for r in out}
    cidr = next(ipaddress.ip_network(c) for c, _, _ in net.subnets.values() if ipaddress.ip_address(node_addr)
                in ipaddress.ip_network(c))
    assert all(ipaddress.ip_address(p) in cidr for p in pods) and node_addr not in pods
    # the servers the pods call see the pod's address in the record too
    seen = {r["srcaddr"] for r in t.to_pylist() if r["interface_id"] != net.eks_node_eni
            and r["srcaddr"] in pods and r["pkt_srcaddr"] == r["srcaddr"]}
    assert seen == pods


def test_nodata_rows_are_null_but_timed(day: tuple[Path, list[Path], pa.Table]) -> None:
    _, _, t = day
    rows = [r for r in t.to_pylist() if r["log_status"] != "OK"]
    assert rows
    nulls = ("srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action",
             "pkt_srcaddr", "pkt_dstaddr", "tcp_flags", "flow_direction", "traffic_path", "type")
    for r in rows:
        assert all(r[c] is None for c in nulls), r
        assert r["interface_id"] and r["start"] and r["end"] >= r["start"]


def test_traffic_path_on_egress_only_and_services_match_addresses(
        day: tuple[Path, list[Path], pa.Table]) -> None:
    _, _, t = day
    for r in t.to_pylist():
        if r["flow_direction"] == "ingress":
            assert r["traffic_path"] is None
        elif r["flow_direction"] == "egress":
            assert r["traffic_path"] in (1, 2, 7, 8)
        for side in ("src", "dst"):
            svc, addr = r[f"pkt_{side}_aws_service"], r[f"pkt_{side}addr"]
            if svc is None:
                continue
            ip = ipaddress.ip_address(addr)
            assert any(ip in ipaddress.ip_network(c) for c in AWS_RANGES[svc]), (svc, addr)
    private_dst = pc.starts_with(t["pkt_dstaddr"], "10.")
    assert pc.all(pc.is_null(pc.filter(t["pkt_dst_aws_service"], private_dst))).as_py()


def test_no_rejects(tmp_path: Path) -> None:
    t = _switch_day(tmp_path, rejects=False)
    assert t.num_rows > 0 and "REJECT" not in t["action"].to_pylist()


def test_no_nat_gateway(tmp_path: Path) -> None:
    t = _switch_day(tmp_path, nat_traffic=False)
    net = network(SEED)
    assert net.nat_eni not in t["interface_id"].to_pylist()
    for col in ("srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"):
        assert net.nat_ip not in t[col].to_pylist()
    aws = [r for r in t.to_pylist() if r["flow_direction"] == "egress"
           and r["pkt_dst_aws_service"] in ("S3", "DYNAMODB")]
    assert aws and all(r["traffic_path"] in (2, 7) for r in aws)


def test_no_gateway_endpoint(tmp_path: Path) -> None:
    t = _switch_day(tmp_path, gateway_endpoint=False)
    net = network(SEED)
    aws = [r for r in t.to_pylist() if r["flow_direction"] == "egress"
           and r["pkt_dst_aws_service"] in ("S3", "DYNAMODB") and r["interface_id"] != net.nat_eni]
    assert aws and {r["traffic_path"] for r in aws} == {1}


def test_no_nodata(tmp_path: Path) -> None:
    t = _switch_day(tmp_path, nodata=False)
    assert set(t["log_status"].to_pylist()) == {"OK"}


def test_days_have_history_and_new_talkers(tmp_path: Path) -> None:
    profile = DayProfile(files_per_hour=1)
    paths = generate_days(tmp_path, DAY, days=3, records=1500, seed=SEED, profile=profile)
    by_day: dict[str, list[Path]] = {}
    for p in paths:
        by_day.setdefault(p.parent.parent.name, []).append(p)
    assert sorted(by_day) == ["day=12", "day=13", "day=14"]
    tables = {d: _read(ps) for d, ps in by_day.items()}
    assert len({t.num_rows for t in tables.values()}) == 3  # volumes vary day to day

    def talkers(t: pa.Table) -> tuple[set[tuple[str, str]], set[str]]:
        ok = t.filter(pc.equal(t["action"], "ACCEPT")).to_pylist()
        pairs = {(r["srcaddr"], r["dstaddr"]) for r in ok if _private(r["srcaddr"]) and _private(r["dstaddr"])}
        ext = {r["pkt_dstaddr"] for r in ok if not _private(r["pkt_dstaddr"])}
        return pairs, ext

    old_pairs: set[tuple[str, str]] = set()
    old_ext: set[str] = set()
    for d in ("day=12", "day=13"):
        pairs, ext = talkers(tables[d])
        old_pairs |= pairs
        old_ext |= ext
    new_pairs, new_ext = talkers(tables["day=14"])
    assert len(new_pairs - old_pairs) >= 5
    assert len(new_ext - old_ext) >= 5


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["sample", "--help"])
    assert e.value.code == 0 and "--records" in capsys.readouterr().out
    assert cli.main(["sample", "--out", str(tmp_path), "--date", "2024-05-14", "--days", "2", "--records", "500",
                     "--files-per-hour", "1", "--missing-hours", "0,1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["2024-05-13", "2024-05-14"]
    assert "in 22 files" in lines[1]


@pytest.mark.parametrize("flags", [["--missing-hours", "24"], ["--missing-hours", "3,x"], ["--records", "0"],
                                   ["--files-per-hour", "-1"], ["--date", "2024-02-30"]])
def test_cli_bad_flags_are_one_line(tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    argv = {"--out": str(tmp_path), "--date": "2024-05-14"}
    argv.update(dict(zip(flags[::2], flags[1::2], strict=True)))
    with pytest.raises(SystemExit) as e:
        cli.main(["sample", *(x for kv in argv.items() for x in kv)])
    errors = [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]
    assert e.value.code == 2 and len(errors) == 1 and flags[0] in errors[0]
    assert not any(tmp_path.iterdir())


def test_s3_layout_keys() -> None:
    day = dt.date(2024, 5, 4)
    assert s3layout.hive_hour_prefix("123456789012", "eu-west-1", day, 7) == (
        "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/"
        "year=2024/month=05/day=04/hour=07/")
    assert s3layout.plain_day_prefix("123456789012", "eu-west-1", day) == \
        "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/05/04/"
    assert Path(s3layout.hive_day_prefix("1", "r", day)).match(s3layout.hive_day_glob(day))
    assert sample.hour_prefix(Path("/r"), day, 7, "1", "r") == Path("/r") / s3layout.hive_hour_prefix("1", "r", day, 7)


@pytest.mark.parametrize("records", [1, 40, 700, 2500])
def test_small_days_hold_about_the_records_asked_for(tmp_path: Path, records: int) -> None:
    paths = generate_days(tmp_path, DAY, days=2, records=records, seed=SEED)
    files = [p for p in paths if p.parent.parent.name == "day=14"]
    last = _read(files)
    assert abs(last.num_rows - records) <= max(0.1 * records, 50)
    # idle ENIs still report on every file, however small the day
    assert len(files) >= 24 and pc.sum(pc.not_equal(last["log_status"], "OK")).as_py() >= len(files)


def test_tiny_day_without_nodata_writes_no_empty_files(tmp_path: Path) -> None:
    paths = generate_day(tmp_path, DAY, records=3, seed=SEED, profile=DayProfile(nodata=False))
    assert 0 < len(paths) < 24 and all(pq.read_metadata(p).num_rows for p in paths)


def test_python_m_sample_is_the_cli_command() -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "flowdigest.sample", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: flowdigest sample")
    assert "--no-gateway-endpoint" in result.stdout and "--missing-hours" in result.stdout
