"""Why a Slack delivery failed, and what to do about it, in one line.

The class says whether waiting helps (Step Functions retries `SlackTransientError` and
nothing else); `exit_code` is what the CLI exits with (sysexits.h values); `hint` names
the fix. Messages never carry the token: they are built from Slack's error codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCOPES_PAGE = "the app's OAuth & Permissions page (api.slack.com/apps → your app)"


class SlackDeliveryError(Exception):
    """Base class: the digest was not (fully) posted."""

    exit_code = 1
    retryable = False

    def __init__(self, message: str, *, hint: str, code: str | None = None, method: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code  # Slack's error code, e.g. "not_in_channel"
        self.method = method  # the Web API method that failed, e.g. "chat.postMessage"

    def __str__(self) -> str:
        return f"{self.message}. Fix: {self.hint}"


class SlackConfigError(SlackDeliveryError):
    """Settings are missing or malformed (token, channel, secret)."""

    exit_code = 78  # EX_CONFIG


class ReportFileError(SlackDeliveryError):
    """A file the message refers to is missing, empty or too large."""

    exit_code = 66  # EX_NOINPUT


class SlackPermanentError(SlackDeliveryError):
    """Slack refused in a way retrying cannot heal (auth, scope, channel membership...)."""

    exit_code = 77  # EX_NOPERM


class SlackTransientError(SlackDeliveryError):
    """Rate limits or network trouble that outlasted the client's own retries; try again later."""

    exit_code = 75  # EX_TEMPFAIL
    retryable = True


class DeliveryInProgressError(SlackTransientError):
    """Another run holds the lease on this day's delivery."""


# Slack error code -> the fix. Placeholders: {channel}, {bot}, {needed}, {api_url}.
_PERMANENT: dict[str, str] = {
    "not_authed": "no token was sent: set SLACK_BOT_TOKEN (locally) or the secret's bot_token (in AWS)",
    "invalid_auth": (
        "the bot token is not valid for this workspace: copy the Bot User OAuth Token (xoxb-…) from "
        f"{SCOPES_PAGE} into SLACK_BOT_TOKEN or the secret's bot_token"
    ),
    "token_revoked": "the token was revoked: reinstall the app to the workspace and store the new xoxb- token",
    "token_expired": (
        "the token expired (token rotation is on): turn rotation off for this app, or store a fresh token"
    ),
    "account_inactive": (
        "the bot user or the app was deactivated: reinstall the app to the workspace and store the new token"
    ),
    "not_allowed_token_type": "use the app's bot token (xoxb-…), not a user or app-level token",
    "no_permission": "the workspace does not let this app do that: ask a workspace admin",
    "ekm_access_denied": "the workspace's Enterprise Key Management blocks posting: ask a workspace admin",
    "team_access_not_granted": "the app is not granted to this workspace of the org: ask an org admin",
    "missing_scope": (
        "add the {needed} scope under Bot Token Scopes on " + SCOPES_PAGE + ", reinstall the app, "
        "and store the new token (flowdigest needs chat:write, files:write, and channels:history, "
        "or groups:history for a private channel, to find what an interrupted run posted)"
    ),
    "channel_not_found": (
        "check the channel ID {channel} (in Slack: channel name → About → Channel ID, e.g. C0123456789); "
        "for a private channel, invite the bot first: /invite @{bot}"
    ),
    "not_in_channel": "invite the bot to the channel: in {channel} type /invite @{bot}",
    "is_archived": "the channel {channel} is archived: unarchive it or point SLACK_CHANNEL_ID elsewhere",
    "restricted_action": "a workspace setting stops the bot posting in {channel}: ask a workspace admin",
    "restricted_action_read_only_channel": "{channel} is read-only for the bot: pick another channel",
    "restricted_action_thread_only_channel": "{channel} only allows thread replies: pick another channel",
    "restricted_action_non_threadable_channel": "{channel} does not allow threads: pick another channel",
    "file_uploads_disabled": "the workspace disabled file uploads: ask a workspace admin to allow them",
    "file_uploads_except_images_disabled": "the workspace only allows images: charts are PNGs, check the files",
    "file_upload_size_restricted": "the workspace limits upload size below the chart's size: ask an admin",
    "file_type_not_allowed": "the workspace blocks this file type: ask a workspace admin",
    "invalid_blocks": "the message broke a Block Kit rule: a flowdigest bug, please report it with message.json",
    "invalid_blocks_format": "the message's blocks are malformed: a flowdigest bug, please report it",
    "msg_too_long": "the message is too long: a flowdigest bug (limits.py should have split it), please report it",
    "msg_blocks_too_long": "the blocks are too long: a flowdigest bug (limits.py should have split it)",
    "too_many_attachments": "too many attachments: a flowdigest bug, please report it",
    "alt_txt_too_large": "a chart's alt text is over 1,000 characters: a flowdigest bug, please report it",
    "invalid_arguments": "Slack rejected the request's arguments: check SLACK_CHANNEL_ID is a channel ID",
    "invalid_thread_ts": "the summary message this thread belongs to is gone: run again with --force to post afresh",
    "thread_not_found": "the summary message this thread belongs to is gone: run again with --force to post afresh",
    "message_not_found": "the summary message this thread belongs to is gone: run again with --force to post afresh",
}

# Codes that mean "Slack is having a moment": worth retrying later.
_TRANSIENT = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "timeout",
    "upload_incomplete",
}

_TRANSIENT_HINT = "Slack is unavailable or rate-limiting; the next run or Step Functions retry resumes where it stopped"


def from_slack_error(
    code: str,
    *,
    method: str,
    channel: str,
    bot: str | None = None,
    response: Mapping[str, Any] | None = None,
    api_url: str | None = None,
) -> SlackDeliveryError:
    """The exception for Slack's `{"ok": false, "error": code}` on `method`."""
    response = response or {}
    needed = response.get("needed") or (
        "files:write" if method.startswith("files.")
        else "channels:history` (`groups:history` for a private channel)" if method.startswith("conversations.")
        else "chat:write"
    )
    fields = {
        "channel": channel,
        "bot": bot or "<your app's bot>",
        "needed": f"`{needed}`",
        "api_url": api_url or "",
    }
    message = f"Slack refused {method}: {code}"
    if code in _PERMANENT:
        return SlackPermanentError(message, hint=_PERMANENT[code].format(**fields), code=code, method=method)
    if code in _TRANSIENT:
        return SlackTransientError(message, hint=_TRANSIENT_HINT, code=code, method=method)
    # Unknown codes are not retried blindly: a person should read Slack's description of them.
    return SlackPermanentError(
        message,
        hint=f"see the errors table at https://docs.slack.dev/reference/methods/{method}",
        code=code,
        method=method,
    )
