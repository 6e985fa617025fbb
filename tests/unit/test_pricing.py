"""Prices by region, overrides and the money arithmetic (GB = 2^30 bytes, month = 730 hours)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from flowdigest import cli, price_table, pricing
from flowdigest.aws.errors import SettingsError
from flowdigest.aws.settings import RenderSettings
from flowdigest.pricing import Prices, PricesError

ISSUE_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2")


def test_every_region_has_every_key_and_each_known_figure_its_evidence() -> None:
    assert set(ISSUE_REGIONS) <= set(price_table.REGIONS)
    for region, figures in price_table.REGIONS.items():
        assert set(figures) == set(pricing.PRICE_KEYS), region
        for key, value in figures.items():
            evidence = price_table.evidence_for(region, key)
            if value is None:
                assert evidence is None
            else:
                assert value >= 0 and evidence is not None and evidence.startswith("https://"), (region, key)


def test_every_key_names_its_aws_pricing_page() -> None:
    assert set(price_table.SOURCES) == set(pricing.PRICE_KEYS)
    assert all(url.startswith("https://aws.amazon.com/") for url in price_table.SOURCES.values())
    assert Prices().sources == price_table.SOURCES


def test_defaults_are_todays_keys_and_us_east_1s_table() -> None:
    p = Prices()
    assert (p.nat_per_gb, p.cross_az_per_gb, p.internet_egress_per_gb, p.athena_per_tb) == (0.045, 0.01, 0.09, 5.0)
    assert p.region == "us-east-1"
    assert {k: getattr(p, k) for k in pricing.PRICE_KEYS} == price_table.REGIONS["us-east-1"]
    assert Prices.for_region("us-east-1") == p


def test_a_complete_region_resolves_with_its_own_figures() -> None:
    p = Prices.for_region("us-west-2")
    assert p.region == "us-west-2" and p.nat_per_gb == price_table.REGIONS["us-west-2"]["nat_per_gb"]
    assert p.flow_logs_s3_per_gb is None  # unknown stays unknown, never 0


def test_unknown_region_lists_the_known_ones() -> None:
    with pytest.raises(PricesError) as e:
        Prices.for_region("mars-north-1")
    assert "mars-north-1" in str(e.value) and all(r in str(e.value) for r in ISSUE_REGIONS)


def test_region_missing_a_required_price_says_which_and_how_to_give_it() -> None:
    missing = [k for k in pricing.REQUIRED if price_table.REGIONS["eu-central-1"][k] is None]
    assert missing  # the stored pages had no Frankfurt NAT figure
    with pytest.raises(PricesError) as e:
        Prices.for_region("eu-central-1")
    assert all(k in str(e.value) for k in missing) and "--prices" in str(e.value)


def test_a_prices_file_completes_a_region_and_is_named_as_the_source(tmp_path: Path) -> None:
    f = tmp_path / "frankfurt.toml"
    f.write_text('region = "eu-central-1"\nnat_per_gb = 0.052\ninternet_egress_per_gb = 0.09\nnat_per_hour = 0.052\n')
    p = pricing.resolve(None, f)
    assert p.region == "eu-central-1" and p.nat_per_gb == 0.052 and p.nat_per_hour == 0.052
    assert p.cross_az_per_gb == price_table.REGIONS["eu-central-1"]["cross_az_per_gb"]
    assert p.sources["nat_per_gb"] == f"override: {f}"
    assert p.sources["athena_per_tb"] == price_table.SOURCES["athena_per_tb"]


def test_the_region_argument_wins_over_the_files(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"region": "eu-west-1", "athena_per_tb": 6}))
    p = pricing.resolve("us-east-1", f)
    assert p.region == "us-east-1" and p.athena_per_tb == 6.0 and p.nat_per_gb == 0.045


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("p.toml", "nat_per_gb = ", "not valid TOML"),
    ("p.json", "{", "not valid JSON"),
    ("p.json", "[1, 2]", "expected a table of prices"),
    ("p.yaml", "nat_per_gb: 1", "ends in .toml or .json"),
    ("p.toml", "nat_per_gig = 0.05", "unknown key 'nat_per_gig'"),
    ("p.toml", 'nat_per_gb = "cheap"', "nat_per_gb = 'cheap' is not a price"),
    ("p.toml", "nat_per_gb = -1", "nat_per_gb = -1 is not a price"),
    ("p.json", '{"nat_per_gb": true}', "nat_per_gb = True is not a price"),
    ("p.json", '{"nat_per_gb": null}', "nat_per_gb = None is not a price"),
    ("p.toml", "region = 5", "region = 5 is not a region name"),
])
def test_bad_prices_file_is_one_line_naming_file_and_key(tmp_path: Path, name: str, text: str,
                                                          expected: str) -> None:
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(PricesError) as e:
        pricing.resolve(None, f)
    message = str(e.value)
    assert "\n" not in message and message.startswith(str(f)) and expected in message


def test_missing_prices_file(tmp_path: Path) -> None:
    with pytest.raises(PricesError, match="cannot read the prices file"):
        pricing.resolve(None, tmp_path / "absent.toml")


def test_money_arithmetic_is_exact() -> None:
    assert pricing.usd_per_month(24.0) == 730.0
    assert Fraction(pricing.usd_per_month(1.0)) == Fraction(1.0 * 730 / 24)
    assert pricing.per_gb_cost(2**30, 0.045) == 0.045
    assert pricing.per_gb_cost(5 * 2**30, 2.0) == 10.0
    assert pricing.per_gb_cost(10**9, 1.0) == 10**9 / 2**30  # a GB is 2^30 bytes, not 10^9
    assert Prices().nat_cost(3 * 2**30) == pricing.per_gb_cost(3 * 2**30, 0.045)


def test_interface_endpoint_break_even() -> None:
    p = Prices()  # endpoint $0.01/h per AZ and $0.01/GB; NAT $0.045/GB
    v = pricing.endpoint_break_even_gb_per_month(p, azs=2)
    assert v == pytest.approx(0.01 * 2 * 730 / (0.045 - 0.01))
    assert v is not None
    # at the break-even volume the two monthly costs are equal; above it the endpoint is cheaper
    assert v * p.nat_per_gb == pytest.approx(0.01 * 2 * 730 + v * 0.01)
    assert (v + 1) * p.nat_per_gb > 0.01 * 2 * 730 + (v + 1) * 0.01
    assert pricing.endpoint_break_even_gb_per_month(p.model_copy(update={"endpoint_per_hour_per_az": None}), 2) is None
    assert pricing.endpoint_break_even_gb_per_month(p.model_copy(update={"endpoint_per_gb": 0.05}), 2) is None
    with pytest.raises(ValueError):
        pricing.endpoint_break_even_gb_per_month(p, azs=0)


def test_settings_take_a_region_and_a_json_override() -> None:
    env = {"FLOWDIGEST_STORE_DIR": "/tmp/x", "FLOWDIGEST_PRICES_REGION": "eu-west-1",
           "FLOWDIGEST_PRICES_OVERRIDE": '{"nat_per_gb": 0.048, "internet_egress_per_gb": 0.09}',
           "FLOWDIGEST_PRICE_ATHENA_PER_TB": "5.5"}
    p = RenderSettings.from_env(env).prices
    assert (p.region, p.nat_per_gb, p.athena_per_tb) == ("eu-west-1", 0.048, 5.5)
    assert p.sources["nat_per_gb"] == "FLOWDIGEST_PRICES_OVERRIDE"
    assert RenderSettings.from_env({"FLOWDIGEST_STORE_DIR": "/tmp/x"}).prices == Prices()


@pytest.mark.parametrize(("extra", "expected"), [
    ({"FLOWDIGEST_PRICES_REGION": "eu-central-1"}, "nat_per_gb"),
    ({"FLOWDIGEST_PRICES_OVERRIDE": "{nat"}, "not a JSON object of prices"),
    ({"FLOWDIGEST_PRICES_OVERRIDE": '{"nat": 1}'}, "unknown key 'nat'"),
])
def test_bad_price_settings_fail_the_cold_start_in_one_line(extra: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as e:
        RenderSettings.from_env({"FLOWDIGEST_STORE_DIR": "/tmp/x", **extra})
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_cli_bad_prices_file_is_one_line_and_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("nat_per_gb = 'x'\n")
    code = cli.main(["run", "--source", str(tmp_path), "--date", "2026-11-20", "--prices", str(bad), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_INPUT
    assert err == f"flowdigest: error: {bad}: nat_per_gb = 'x' is not a price (a number ≥ 0, USD)"


def test_cli_unknown_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "--source", str(tmp_path), "--date", "2026-11-20", "--price-region", "xx-1", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == cli.EXIT_INPUT and len(err) == 1 and "unknown region 'xx-1'" in err[0]


def test_docs_table_is_the_code_table() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "prices.md").read_text()
    regions = list(price_table.REGIONS)
    assert f"| key | {' | '.join(regions)} |" in doc
    for key in price_table.SOURCES:
        cells = ["unknown" if (v := price_table.REGIONS[r][key]) is None else f"{v:g}" for r in regions]
        assert f"| `{key}` | {' | '.join(cells)} |" in doc, key
        assert price_table.SOURCES[key].split("#")[0] in doc
