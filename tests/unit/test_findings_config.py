"""The finding record, its ranking and summary, and the thresholds/suppressions file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from flowdigest.findings import config as fconfig
from flowdigest.findings.config import ConfigError, FindingsConfig, Suppression, apply_suppressions
from flowdigest.findings.model import KINDS, Finding, Resource, findings_summary, rank

TODAY = dt.date(2026, 11, 20)


def finding(kind: str = "internet_egress", severity: str = "medium", usd_day: float | None = 1.0,
            rid: str = "eni-1", **extra: Any) -> Finding:
    return Finding.model_validate({
        "kind": kind, "severity": severity, "title": f"{kind} {rid}",
        "resource": {"type": "interface", "id": rid, "subnet_id": "subnet-a", "vpc_id": "vpc-1"},
        "bytes": 2**30, "usd_per_day": usd_day, "fix": "change it", **extra})


def test_month_is_day_times_730_over_24() -> None:
    assert finding(usd_day=2.4).usd_per_month == 2.4 * 730 / 24
    assert finding(usd_day=None).usd_per_month is None
    with pytest.raises(ValidationError, match="730 / 24"):
        finding(usd_day=1.0, usd_per_month=31.0)


def test_schema_is_the_issues() -> None:
    f = finding().model_dump()
    assert list(f) == ["kind", "severity", "title", "resource", "bytes", "usd_per_day", "usd_per_month", "fix",
                       "evidence"]
    assert list(f["resource"]) == ["type", "id", "name", "subnet_id", "vpc_id", "az_id", "account_id", "region"]
    with pytest.raises(ValidationError):
        finding(kind="nat_gateway_cost")
    with pytest.raises(ValidationError):
        finding(severity="critical")


def test_rank_money_first_then_severity_then_unpriced() -> None:
    low_big = finding(severity="low", usd_day=10.0, rid="a")
    high_tie = finding(severity="high", usd_day=1.0, rid="b")
    info_tie = finding(severity="info", usd_day=1.0, rid="c")
    medium_tie = finding(severity="medium", usd_day=1.0, rid="d")
    exposed = finding(kind="exposed_port", severity="high", usd_day=None, rid="e")
    scan = finding(kind="port_scan", severity="low", usd_day=None, rid="f")
    ranked = rank([scan, info_tie, exposed, medium_tie, high_tie, low_big])
    assert ranked == [low_big, high_tie, medium_tie, info_tie, exposed, scan]


def test_summary_counts_every_severity_and_leaves_out_info_cost() -> None:
    items = [finding(severity="high", usd_day=2.4), finding(severity="low", usd_day=0.5, rid="eni-2"),
             finding(severity="high", usd_day=None, kind="exposed_port"),
             finding(kind="flow_log_cost", severity="info", usd_day=24.0),
             finding(kind="aws_service_via_nat", severity="info", usd_day=0.1)]  # below break-even
    s = findings_summary(items)
    assert s == {"avoidable_usd_per_month": 2.4 * 730 / 24 + 0.5 * 730 / 24,
                 "by_severity": {"high": 2, "medium": 0, "low": 1, "info": 2}}
    assert findings_summary([]) == {"avoidable_usd_per_month": 0, "by_severity": dict.fromkeys(
        ("high", "medium", "low", "info"), 0)}


def test_defaults_keep_a_healthy_day_quiet() -> None:
    t = FindingsConfig().thresholds
    assert t.port_scan_min_distinct == 10 and t.new_destination_min_bytes == 2**30 and t.min_usd_per_month > 0
    assert {22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 2375, 2379, 11211} <= set(t.admin_ports)
    assert FindingsConfig().suppress == ()


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "flowdigest.toml"
    p.write_text(text)
    return p


def test_file_overrides_thresholds_and_lists_suppressions(tmp_path: Path) -> None:
    cfg = fconfig.load(write(tmp_path, """
[thresholds]
min_usd_per_month = 7.5
new_destination_min_gib = 0.5
admin_ports = [22, 8443]

[[suppress]]
kind = "port_scan"
match = "198.51.100.0/24"
reason = "our external scanner"
expires = 2027-01-31
"""))
    assert cfg.thresholds.min_usd_per_month == 7.5 and cfg.thresholds.new_destination_min_bytes == 2**29
    assert cfg.thresholds.admin_ports == (22, 8443) and cfg.thresholds.port_scan_min_distinct == 10
    assert cfg.suppress == (Suppression(kind="port_scan", match="198.51.100.0/24", reason="our external scanner",
                                        expires=dt.date(2027, 1, 31)),)


@pytest.mark.parametrize(("text", "expected"), [
    ("[thresholds\n", "not valid TOML"),
    ("[thresholds]\nport_scan_min_distinct = 0\n", "thresholds.port_scan_min_distinct = 0: "),
    ("[thresholds]\nmin_usd_per_month = 'lots'\n", "thresholds.min_usd_per_month = 'lots': "),
    ("[thresholds]\nadmin_ports = [22, 70000]\n", "thresholds.admin_ports"),
    ("[thresholds]\nscan = 3\n", "thresholds.scan = 3: Extra inputs are not permitted"),
    ("[[suppress]]\nkind = 'scanner'\nmatch = '1.2.3.4'\n", "suppress[0].kind = 'scanner': "),
    ("[[suppress]]\nkind = 'port_scan'\n", "suppress[0].match: Field required"),
    ("[[suppress]]\nkind = '*'\nmatch = 'x'\nexpires = 'soon'\n", "suppress[0].expires = 'soon'"),
])
def test_bad_config_is_one_line_naming_file_key_and_value(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        fconfig.load(path)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"{path}: ") and expected in message


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        fconfig.load(tmp_path / "absent.toml")


def test_locate_order(tmp_path: Path) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    (home / ".config/flowdigest").mkdir(parents=True)
    cwd.mkdir()
    assert fconfig.locate(None, {}, cwd, home) is None
    (home / ".config/flowdigest/config.toml").write_text("")
    assert fconfig.locate(None, {}, cwd, home) == home / ".config/flowdigest/config.toml"
    (cwd / "flowdigest.toml").write_text("")
    assert fconfig.locate(None, {}, cwd, home) == cwd / "flowdigest.toml"
    assert fconfig.locate(None, {"FLOWDIGEST_CONFIG": "/e.toml"}, cwd, home) == Path("/e.toml")
    assert fconfig.locate(Path("/x.toml"), {"FLOWDIGEST_CONFIG": "/e.toml"}, cwd, home) == Path("/x.toml")
    assert fconfig.load(None) == FindingsConfig()


def suppressing(*rules: dict[str, Any]) -> FindingsConfig:
    return FindingsConfig.model_validate({"suppress": list(rules)})


def test_suppressions_match_by_kind_and_id_address_or_cidr_and_count_by_reason() -> None:
    scanner = finding(kind="port_scan", severity="low", usd_day=None, rid="198.51.100.7")
    backup = finding(kind="internet_egress", rid="eni-backup", evidence={"destination": "203.0.113.9"})
    other_egress = finding(kind="internet_egress", rid="eni-web", evidence={"destination": "192.0.2.1"})
    by_subnet = finding(kind="gateway_endpoint_bypass", rid="subnet-b")
    cfg = suppressing(
        {"kind": "port_scan", "match": "198.51.100.0/24", "reason": "our scanner"},
        {"kind": "internet_egress", "match": "203.0.113.9/32", "reason": "backup job"},
        {"kind": "*", "match": "subnet-b"},
        {"kind": "cross_az", "match": "eni-web", "reason": "wrong kind, never applies"},
    )
    kept, hidden = apply_suppressions([scanner, backup, other_egress, by_subnet], cfg, TODAY)
    assert kept == [other_egress]
    assert hidden == {"our scanner": 1, "backup job": 1, "* subnet-b": 1}


def test_an_expired_suppression_no_longer_hides() -> None:
    f = finding(rid="eni-1")
    cfg = suppressing({"kind": "*", "match": "eni-1", "reason": "until launch", "expires": "2026-11-19"})
    assert apply_suppressions([f], cfg, TODAY) == ([f], {})
    assert apply_suppressions([f], cfg, dt.date(2026, 11, 19)) == ([], {"until launch": 1})


def test_ipv6_cidr_and_names_match() -> None:
    v6 = finding(kind="new_external_destination", rid="2001:db8::5")
    named = Finding.model_validate({**finding().model_dump(), "resource": Resource(
        type="interface", id="eni-9", name="batch-worker").model_dump()})
    cfg = suppressing({"kind": "*", "match": "2001:db8::/32"}, {"kind": "*", "match": "batch-worker"})
    assert apply_suppressions([v6, named], cfg, TODAY)[0] == []


def test_every_kind_is_suppressible_by_name() -> None:
    for kind in KINDS:
        Suppression(kind=kind, match="x")
