"""The Slack settings' routes: account or VPC id -> channel ID, checked, never echoing a token."""

from __future__ import annotations

import json

import pytest

from flowdigest.slack.credentials import SlackSettings, parse_routes
from flowdigest.slack.errors import SlackConfigError

TOKEN = "xoxb-1234-5678-ROUTEStestSECRET"
MAIN = "C0MAINCHAN"
ACCOUNT, VPC = "123456789012", "vpc-0abc1234def567890"


def env(routes: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL_ID": MAIN, "SLACK_ROUTES": routes}


def test_routes_from_the_environment_are_sorted_and_grouped_by_channel():
    routes = {VPC: "C0TEAMB01", ACCOUNT: "C0TEAMA01", "210987654321": "C0TEAMA01", "vpc-0123abcd": "G0PRIVATE1"}
    settings = SlackSettings.from_env(env(json.dumps(routes)))
    assert settings is not None
    assert settings.routes == tuple(sorted(routes.items()))
    assert settings.routed_channels() == {
        "C0TEAMA01": (ACCOUNT, "210987654321"), "C0TEAMB01": (VPC,), "G0PRIVATE1": ("vpc-0123abcd",)}
    routed = settings.for_channel("C0TEAMB01")
    assert (routed.token, routed.channel, routed.routes) == (TOKEN, "C0TEAMB01", ())


@pytest.mark.parametrize("unset", ["", "  "])
def test_no_routes_means_the_main_channel_only(unset):
    settings = SlackSettings.from_env(env(unset))
    assert settings is not None and settings.routes == () and settings.routed_channels() == {}


@pytest.mark.parametrize(("routes", "named"), [
    ({"12345678901": "C0TEAMA01"}, "the key '12345678901' is neither an AWS account id (12 digits) nor a VPC id"),
    ({"vpc-XYZ": "C0TEAMA01"}, "the key 'vpc-XYZ'"),
    ({"subnet-0abc1234": "C0TEAMA01"}, "the key 'subnet-0abc1234'"),
    ({ACCOUNT: "#team-a"}, f"{ACCOUNT}'s channel '#team-a' is not a Slack channel ID"),
    ({VPC: 42}, f"{VPC}'s channel a JSON int is not a Slack channel ID"),
    ({ACCOUNT: MAIN}, f"{ACCOUNT} is routed to the main channel {MAIN}"),
])
def test_a_bad_route_is_one_line_naming_it(routes, named):
    with pytest.raises(SlackConfigError) as caught:
        SlackSettings.from_env(env(json.dumps(routes)))
    text = str(caught.value)
    assert text.startswith("SLACK_ROUTES: ") and named in text and "\n" not in text
    assert caught.value.exit_code == 78


@pytest.mark.parametrize("routes", ["[1, 2]", '"C0TEAMA01"'])
def test_routes_that_are_not_an_object_are_refused(routes):
    with pytest.raises(SlackConfigError, match="SLACK_ROUTES is not a JSON object"):
        SlackSettings.from_env(env(routes))


def test_routes_that_are_not_json_say_where_without_echoing_them():
    with pytest.raises(SlackConfigError) as caught:
        SlackSettings.from_env(env('{"123456789012": ' + TOKEN + "}"))
    assert "SLACK_ROUTES is not valid JSON" in str(caught.value) and "character 18" in str(caught.value)
    assert "ROUTEStestSECRET" not in str(caught.value)


@pytest.mark.parametrize("routes", [{ACCOUNT: TOKEN}, {TOKEN: "C0TEAMA01"}])
def test_a_token_pasted_into_the_routes_is_not_echoed(routes):
    with pytest.raises(SlackConfigError) as caught:
        parse_routes(routes, "secret 'x' routes", MAIN)
    assert "the value" in str(caught.value) and "ROUTEStestSECRET" not in str(caught.value)


def test_the_repr_shows_the_routes_and_not_the_token():
    settings = SlackSettings(TOKEN, MAIN, routes=((ACCOUNT, "C0TEAMA01"),))
    assert "C0TEAMA01" in repr(settings) and "ROUTEStestSECRET" not in repr(settings)
