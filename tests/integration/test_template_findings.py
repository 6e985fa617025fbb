"""template.yaml's findings parameters reach the render function as the settings the findings
read: the stack Region's prices, single prices and a JSON override on top, thresholds and
suppressions. The environment is resolved as CloudFormation would (test_template_text.Stack)
and parsed by the render function's own settings model."""

from __future__ import annotations

import datetime as dt

import pytest
from test_template import props
from test_template_text import PSEUDO, Stack

from flowdigest import price_table
from flowdigest.aws.errors import SettingsError
from flowdigest.aws.settings import RenderSettings
from flowdigest.findings.config import Suppression, Thresholds


def render_settings(**given: str) -> RenderSettings:
    stack = Stack(**given)
    env = stack.resolve(props("RenderFunction")["Environment"]["Variables"])
    assert all(isinstance(v, str) for v in env.values()), env
    return RenderSettings.from_env({**env, "FLOWDIGEST_STORE_DIR": "/tmp/flowdigest-test"})


def test_defaults_are_the_stack_regions_prices_and_the_default_thresholds() -> None:
    settings = render_settings()
    region = PSEUDO["AWS::Region"]
    prices = settings.prices
    assert prices.region == region
    assert {k: getattr(prices, k) for k in price_table.REGIONS[region]} == price_table.REGIONS[region]
    assert settings.findings_config.thresholds == Thresholds() and settings.findings_config.suppress == ()


def test_single_prices_and_the_override_go_over_the_regions() -> None:
    prices = render_settings(NatGatewayPricePerGb="0.05",
                             PricesOverride='{"endpoint_per_gb": 0.02, "athena_per_tb": 6}').prices
    region = price_table.REGIONS[PSEUDO["AWS::Region"]]
    assert (prices.nat_per_gb, prices.endpoint_per_gb, prices.athena_per_tb) == (0.05, 0.02, 6)
    assert prices.cross_az_per_gb == region["cross_az_per_gb"]
    assert prices.sources["nat_per_gb"] == prices.sources["endpoint_per_gb"] == "FLOWDIGEST_PRICES_OVERRIDE"


def test_thresholds_and_suppressions_reach_the_findings_config() -> None:
    config = render_settings(
        FindingsThresholds='{"min_usd_per_month": 20, "admin_ports": [22, 5432]}',
        FindingsSuppressions='[{"kind": "port_scan", "match": "198.51.100.0/24", "reason": "our scanner",'
                             ' "expires": "2027-03-31"}]').findings_config
    assert config.thresholds == Thresholds(min_usd_per_month=20, admin_ports=(22, 5432))
    assert config.suppress == (Suppression(kind="port_scan", match="198.51.100.0/24", reason="our scanner",
                                           expires=dt.date(2027, 3, 31)),)


@pytest.mark.parametrize(("given", "named"), [
    ({"FindingsSuppressions": '[{"kind": "scanner", "match": "x"}]'}, "'scanner' is not a finding kind"),
    ({"FindingsThresholds": '{"min_usd": 1}'}, "min_usd"),
    ({"PricesOverride": '{"nat_per_gb": -1}'}, "nat_per_gb"),
])
def test_a_bad_parameter_fails_the_cold_start_with_one_line(given: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named) as e:
        render_settings(**given)
    assert "\n" not in str(e.value)
