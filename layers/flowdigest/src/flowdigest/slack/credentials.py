"""Where the bot token and channel come from: environment variables or a Secrets Manager secret.

Both may also route accounts and VPCs to channels of their own (`routes`, issue 15): each
routed channel gets that account's or VPC's part of the day, the main channel the whole digest.

The token is a secret: it is only ever handed to slack-sdk, never formatted into a log
line, a repr or an exception message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from flowdigest.slack.errors import SlackConfigError

DEFAULT_API_URL = "https://slack.com/api/"
ENV_TOKEN = "SLACK_BOT_TOKEN"
ENV_CHANNEL = "SLACK_CHANNEL_ID"
ENV_API_URL = "SLACK_API_URL"
ENV_ROUTES = "SLACK_ROUTES"
SECRET_KEYS = ("bot_token", "channel_id")  # plus the optional "api_url" and "routes"
SECRET_SHAPE = '{"bot_token": "xoxb-…", "channel_id": "C…"}'
ROUTES_SHAPE = '{"123456789012": "C0123ACCT", "vpc-0abc1234def567890": "C0456VPC"}'

# Channel IDs: C public, G private (legacy), D direct message, Z some Enterprise Grid channels.
# files.completeUploadExternal takes IDs only, so a name like "#ops" is refused up front.
_CHANNEL_ID = re.compile(r"^[CGDZ][A-Z0-9]{6,}$")
# What a route may name: an AWS account id (12 digits) or a VPC id (8 or 17 hex digits).
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_VPC_ID = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")


def mask_token(token: str) -> str:
    """What may be shown of a token: its kind prefix, never any of its secret part."""
    kind = token.split("-", 1)[0] if token.startswith("xox") and "-" in token else ""
    return f"{kind}-…(redacted)" if kind else "(redacted)"


@contextlib.contextmanager
def _botocore_bodies_unlogged() -> Iterator[None]:
    """botocore logs every response body at DEBUG, GetSecretValue's SecretString included
    (e.g. with AWS_LAMBDA_LOG_LEVEL=DEBUG); keep that one call's body out of the logs."""
    body_logger = logging.getLogger("botocore.parsers")
    level = body_logger.level
    body_logger.setLevel(max(level, logging.INFO))
    try:
        yield
    finally:
        body_logger.setLevel(level)


def _normalise_api_url(url: str | None, source: str) -> str | None:
    if not url:
        return None
    url = url.strip()
    if not re.match(r"^https?://[^\s/]+", url):
        raise SlackConfigError(
            f"{source} is not an http(s) URL",
            hint="set it to the Web API base, e.g. https://slack.com/api/ (or https://slack-gov.com/api/)",
        )
    return url if url.endswith("/") else url + "/"


def _shown(value: str) -> str:
    """A value fit for an error line: never one that looks like a token pasted in the wrong place."""
    return "the value" if value.startswith("xox") else repr(value)


def parse_routes(value: Any, source: str, main_channel: str) -> tuple[tuple[str, str], ...]:
    """The `routes` object (account id or VPC id -> channel ID), checked; sorted by key.

    A bad key or channel raises a SlackConfigError naming it (never a token-like value).
    Routing to the main channel is refused: it gets the whole digest already, and its
    once-per-day ledger record is the whole digest's.
    """
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise SlackConfigError(f"{source} is not a JSON object", hint=f"shape it like {ROUTES_SHAPE}")
    routes = []
    for raw_key, raw_channel in value.items():
        key = str(raw_key).strip()
        if not (_ACCOUNT_ID.match(key) or _VPC_ID.match(key)):
            raise SlackConfigError(
                f"{source}: the key {_shown(key)} is neither an AWS account id (12 digits) nor a VPC id (vpc-…)",
                hint=f"route account ids or VPC ids, shaped like {ROUTES_SHAPE}",
            )
        channel = raw_channel.strip() if isinstance(raw_channel, str) else ""
        if not _CHANNEL_ID.match(channel):
            shown = _shown(channel) if isinstance(raw_channel, str) else f"a JSON {type(raw_channel).__name__}"
            raise SlackConfigError(
                f"{source}: {key}'s channel {shown} is not a Slack channel ID",
                hint="use the channel's ID, not its name: in Slack, channel name → About → Channel ID (C0123…)",
            )
        if channel == main_channel:
            raise SlackConfigError(
                f"{source}: {key} is routed to the main channel {channel}",
                hint="the main channel gets the whole digest already: route it to another channel, or drop the route",
            )
        routes.append((key, channel))
    return tuple(sorted(routes))


@dataclass(frozen=True, repr=False)
class SlackSettings:
    """Where to post: the bot token, the channel ID, the Web API base URL and the routes."""

    token: str
    channel: str
    api_url: str | None = None  # None: Slack's own (https://slack.com/api/)
    routes: tuple[tuple[str, str], ...] = ()  # (account id or VPC id, channel ID), sorted: parse_routes

    def __post_init__(self) -> None:
        if not self.token or any(c.isspace() for c in self.token):
            raise SlackConfigError(
                "the Slack bot token is empty or contains whitespace",
                hint="paste the Bot User OAuth Token (xoxb-…) exactly as Slack shows it",
            )
        odd = next((i for i, c in enumerate(self.token) if not (c.isascii() and c.isprintable())), None)
        if odd is not None:  # HTTP headers cannot carry it; say where, never what the token is
            raise SlackConfigError(
                f"the Slack bot token has a character that is not plain ASCII at position {odd + 1} "
                "(an ellipsis '…' copied from the docs?)",
                hint="paste the whole Bot User OAuth Token from the app's OAuth & Permissions page",
            )
        if not _CHANNEL_ID.match(self.channel):
            raise SlackConfigError(
                f"{_shown(self.channel)} is not a Slack channel ID",
                hint="use the channel's ID, not its name: in Slack, channel name → About → Channel ID (C0123…)",
            )

    @property
    def base_url(self) -> str:
        return self.api_url or DEFAULT_API_URL

    @property
    def masked_token(self) -> str:
        return mask_token(self.token)

    def routed_channels(self) -> dict[str, tuple[str, ...]]:
        """Routed channel -> the account and VPC ids it gets, in channel order."""
        channels: dict[str, list[str]] = {}
        for key, channel in self.routes:
            channels.setdefault(channel, []).append(key)
        return {channel: tuple(keys) for channel, keys in sorted(channels.items())}

    def for_channel(self, channel: str) -> SlackSettings:
        """The same token and endpoint, posting to `channel` (a routed one), with no routes of its own."""
        return replace(self, channel=channel, routes=())

    def __repr__(self) -> str:
        return (f"SlackSettings(token={self.masked_token!r}, channel={self.channel!r}, api_url={self.api_url!r}, "
                f"routes={dict(self.routes)!r})")

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SlackSettings | None:
        """From SLACK_BOT_TOKEN, SLACK_CHANNEL_ID, SLACK_API_URL and SLACK_ROUTES (a JSON object);
        None when no token is set."""
        env = os.environ if environ is None else environ
        token = env.get(ENV_TOKEN, "").strip()
        if not token:
            return None
        channel = env.get(ENV_CHANNEL, "").strip()
        if not channel:
            raise SlackConfigError(
                f"{ENV_TOKEN} is set but {ENV_CHANNEL} is not",
                hint=f"set {ENV_CHANNEL} to the channel's ID (C0123…), or unset {ENV_TOKEN} to only write the outbox",
            )
        routes = parse_routes(_routes_json(env.get(ENV_ROUTES, "")), ENV_ROUTES, channel)
        return cls(token=token, channel=channel, api_url=_normalise_api_url(env.get(ENV_API_URL), ENV_API_URL),
                   routes=routes)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str, api_url: str | None = None) -> SlackSettings:
        """From the secret's JSON object; `api_url` (e.g. SLACK_API_URL) wins over the secret's."""
        missing = [k for k in SECRET_KEYS if not isinstance(data.get(k), str) or not data[k].strip()]
        if missing:
            raise SlackConfigError(
                f"{source} lacks {', '.join(missing)}",
                hint=f"store JSON shaped like {SECRET_SHAPE}",
            )
        url = api_url or data.get("api_url")
        channel = data["channel_id"].strip()
        return cls(
            token=data["bot_token"].strip(),
            channel=channel,
            api_url=_normalise_api_url(url if isinstance(url, str) else None, f"{source} api_url"),
            routes=parse_routes(data.get("routes"), f"{source} routes", channel),
        )

    @classmethod
    def from_secret(
        cls,
        secret_name: str,
        *,
        max_age: int | None = None,
        force_fetch: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> SlackSettings:
        """From a Secrets Manager secret, through Powertools parameters (cached for `max_age` s,
        5 minutes by default or POWERTOOLS_PARAMETERS_MAX_AGE), so warm invocations do not
        call Secrets Manager again; `force_fetch` skips the cache (e.g. after a token rotation).
        SLACK_API_URL, when set, overrides the secret's api_url.
        """
        from aws_lambda_powertools.utilities import parameters
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        source = f"secret {secret_name!r}"
        try:
            with _botocore_bodies_unlogged():
                raw = parameters.get_secret(secret_name, max_age=max_age, force_fetch=force_fetch)
        except GetParameterError as exc:
            # The cause is botocore's message (error code, operation, ARN): no secret material.
            raise SlackConfigError(
                f"could not read the Slack {source}: {exc}",
                hint="check the secret's name/ARN, and that the function's role may call "
                "secretsmanager:GetSecretValue on it (and kms:Decrypt for a customer-managed key)",
            ) from None
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # Say nothing about the content: it might be a bare token.
            raise SlackConfigError(
                f"the Slack {source} is not a JSON object",
                hint=f"store JSON shaped like {SECRET_SHAPE} (aws secretsmanager put-secret-value ...)",
            ) from None
        env = os.environ if environ is None else environ
        return cls.from_mapping(data, source=source, api_url=env.get(ENV_API_URL) or None)


def _routes_json(text: str) -> Any:
    """SLACK_ROUTES's JSON; None when unset. Its text is never echoed (it sits beside the token)."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SlackConfigError(
            f"{ENV_ROUTES} is not valid JSON ({exc.msg} at character {exc.pos + 1})",
            hint=f"set it to a JSON object like {ROUTES_SHAPE}",
        ) from None


def load_settings(
    environ: Mapping[str, str] | None = None, *, secret_env: str = "SLACK_SECRET_NAME"
) -> SlackSettings | None:
    """The secret named by SLACK_SECRET_NAME when set (AWS), else the SLACK_* variables (local)."""
    env = os.environ if environ is None else environ
    secret_name = env.get(secret_env, "").strip()
    if secret_name:
        return SlackSettings.from_secret(secret_name, environ=env)
    return SlackSettings.from_env(env)
