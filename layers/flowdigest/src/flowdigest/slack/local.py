"""The local command's Slack step: post the outbox when a token is configured, say why not otherwise."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from flowdigest.models import SlackMessage
from flowdigest.slack.credentials import ENV_CHANNEL, ENV_TOKEN, SlackSettings
from flowdigest.slack.errors import ReportFileError, SlackDeliveryError
from flowdigest.slack.ledger import FileLedger, Ledger, default_local_ledger_dir

MESSAGE_FILE = "message.json"


def load_message(report_dir: str | os.PathLike[str]) -> SlackMessage:
    path = Path(report_dir) / MESSAGE_FILE
    try:
        return SlackMessage.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise ReportFileError(f"{path} does not exist", hint="run the digest first; it writes the outbox") from None
    except ValidationError as exc:
        raise ReportFileError(
            f"{path} is not a valid message ({exc.error_count()} problem(s))",
            hint="re-run the digest to regenerate the outbox",
        ) from None


def post_outbox(
    report_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    environ: Mapping[str, str] | None = None,
    ledger: Ledger | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Post `<report_dir>/message.json` and its charts; returns the exit code.

    With no SLACK_BOT_TOKEN nothing is sent (the outbox stays as written) and it says so.
    Failures print one line naming the fix and return the error's exit code.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        settings = SlackSettings.from_env(environ)
        if settings is None:
            print(
                f"Slack: {ENV_TOKEN} is not set, so nothing was posted; the message is in {report_dir}. "
                f"Set {ENV_TOKEN} and {ENV_CHANNEL} to post it.",
                file=out,
            )
            return 0
        from flowdigest.slack.poster import deliver  # needs slack-sdk: only when posting

        message = load_message(report_dir)
        result = deliver(
            message, report_dir, settings, ledger or FileLedger(default_local_ledger_dir(environ)), force=force
        )
    except SlackDeliveryError as exc:
        print(f"Slack: {exc}", file=err)
        return exc.exit_code
    print(f"Slack: {result.describe()}", file=out)
    return 0
