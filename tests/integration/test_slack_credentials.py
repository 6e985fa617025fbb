"""Slack settings from the environment (local) and from Secrets Manager (AWS, via moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from flowdigest.slack.credentials import SlackSettings, load_settings, mask_token
from flowdigest.slack.errors import SlackConfigError

TOKEN = "xoxb-1234-5678-CREDtestSECRET"
CHANNEL = "C0FLOWDIGEST"
SECRET = "flowdigest/slack"


@pytest.fixture
def secrets(fake_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("SLACK_API_URL", raising=False)
    parameters.clear_caches()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")
    parameters.clear_caches()


def test_no_token_means_no_settings():
    assert SlackSettings.from_env({}) is None
    assert SlackSettings.from_env({"SLACK_BOT_TOKEN": "  ", "SLACK_CHANNEL_ID": CHANNEL}) is None


def test_settings_from_the_environment():
    settings = SlackSettings.from_env(
        {"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL_ID": CHANNEL, "SLACK_API_URL": "https://slack-gov.com/api"}
    )
    assert settings is not None
    assert (settings.token, settings.channel) == (TOKEN, CHANNEL)
    assert settings.base_url == "https://slack-gov.com/api/"  # slack-sdk wants the trailing slash
    assert SlackSettings(TOKEN, CHANNEL).base_url == "https://slack.com/api/"


def test_the_token_is_masked_in_repr_and_str():
    settings = SlackSettings(TOKEN, CHANNEL)
    for shown in (repr(settings), str(settings), f"{settings}", f"{settings!r}", repr([settings])):
        assert TOKEN not in shown and "CREDtestSECRET" not in shown and "xoxb-…(redacted)" in shown
    assert mask_token("not-a-slack-token") == "(redacted)"


def test_a_token_without_a_channel_names_the_missing_variable():
    with pytest.raises(SlackConfigError) as caught:
        SlackSettings.from_env({"SLACK_BOT_TOKEN": TOKEN})
    assert "SLACK_CHANNEL_ID" in str(caught.value) and TOKEN not in str(caught.value)
    assert caught.value.exit_code == 78


@pytest.mark.parametrize("channel", ["#ops", "ops", "c0lowercase"])
def test_a_channel_name_is_refused_with_where_to_find_the_id(channel):
    with pytest.raises(SlackConfigError) as caught:
        SlackSettings(TOKEN, channel)
    assert "Channel ID" in caught.value.hint


def test_a_token_pasted_as_the_channel_is_not_echoed():
    with pytest.raises(SlackConfigError) as caught:
        SlackSettings(TOKEN, TOKEN)
    assert TOKEN not in str(caught.value)


def test_a_bad_api_url_is_refused():
    with pytest.raises(SlackConfigError):
        SlackSettings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL_ID": CHANNEL, "SLACK_API_URL": "slack.com"})


def test_settings_from_the_secret(secrets):
    secrets.create_secret(Name=SECRET, SecretString=json.dumps({"bot_token": TOKEN, "channel_id": CHANNEL}))
    settings = SlackSettings.from_secret(SECRET)
    assert (settings.token, settings.channel, settings.api_url) == (TOKEN, CHANNEL, None)


def test_the_secret_is_cached_between_invocations(secrets):
    secrets.create_secret(Name=SECRET, SecretString=json.dumps({"bot_token": TOKEN, "channel_id": CHANNEL}))
    assert SlackSettings.from_secret(SECRET).channel == CHANNEL
    secrets.put_secret_value(SecretId=SECRET, SecretString=json.dumps({"bot_token": TOKEN, "channel_id": "C0CHANGED"}))
    assert SlackSettings.from_secret(SECRET).channel == CHANNEL  # served from the cache
    assert SlackSettings.from_secret(SECRET, force_fetch=True).channel == "C0CHANGED"


def test_the_secret_may_name_the_api_url_and_the_environment_overrides_it(secrets):
    data = {"bot_token": TOKEN, "channel_id": CHANNEL, "api_url": "https://slack-gov.com/api/"}
    secrets.create_secret(Name=SECRET, SecretString=json.dumps(data))
    assert SlackSettings.from_secret(SECRET).api_url == "https://slack-gov.com/api/"
    overridden = SlackSettings.from_secret(SECRET, environ={"SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert overridden.api_url == "http://127.0.0.1:9/api/"


def test_a_secret_missing_a_key_names_the_key_and_not_the_values(secrets):
    secrets.create_secret(Name=SECRET, SecretString=json.dumps({"bot_token": TOKEN}))
    with pytest.raises(SlackConfigError) as caught:
        SlackSettings.from_secret(SECRET)
    assert "channel_id" in str(caught.value) and TOKEN not in str(caught.value)


def test_a_bare_token_secret_is_refused_without_echoing_it(secrets):
    secrets.create_secret(Name=SECRET, SecretString=TOKEN)
    with pytest.raises(SlackConfigError) as caught:
        SlackSettings.from_secret(SECRET)
    assert "not a JSON object" in str(caught.value) and TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_missing_secret_says_what_to_check(secrets):
    with pytest.raises(SlackConfigError) as caught:
        SlackSettings.from_secret("no/such/secret")
    assert "ResourceNotFoundException" in str(caught.value) and "GetSecretValue" in caught.value.hint


def test_load_settings_prefers_the_secret_when_named(secrets):
    secrets.create_secret(Name=SECRET, SecretString=json.dumps({"bot_token": TOKEN, "channel_id": CHANNEL}))
    from_secret = load_settings(
        {"SLACK_SECRET_NAME": SECRET, "SLACK_BOT_TOKEN": "xoxb-other", "SLACK_CHANNEL_ID": "C0X1234"}
    )
    assert from_secret is not None and from_secret.token == TOKEN
    assert load_settings({}) is None


def test_the_secret_may_route_accounts_and_vpcs_to_channels(secrets):
    routes = {"123456789012": "C0TEAMA01", "vpc-0abc1234def567890": "C0TEAMB01"}
    data = {"bot_token": TOKEN, "channel_id": CHANNEL, "routes": routes}
    secrets.create_secret(Name=SECRET, SecretString=json.dumps(data))
    settings = load_settings({"SLACK_SECRET_NAME": SECRET})
    assert settings is not None and dict(settings.routes) == routes
    assert settings.routed_channels() == {"C0TEAMA01": ("123456789012",), "C0TEAMB01": ("vpc-0abc1234def567890",)}


def test_a_bad_route_in_the_secret_names_the_secret_and_the_route(secrets):
    data = {"bot_token": TOKEN, "channel_id": CHANNEL, "routes": {"123456789012": "team-a"}}
    secrets.create_secret(Name=SECRET, SecretString=json.dumps(data))
    with pytest.raises(SlackConfigError) as caught:
        SlackSettings.from_secret(SECRET)
    text = str(caught.value)
    assert f"secret '{SECRET}' routes: 123456789012's channel 'team-a' is not a Slack channel ID" in text
    assert TOKEN not in text
