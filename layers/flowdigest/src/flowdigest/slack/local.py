"""The local command's Slack step: post the outbox when a token is configured, say why not otherwise."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from flowdigest.slack.credentials import ENV_CHANNEL, ENV_TOKEN, SlackSettings
from flowdigest.slack.errors import ReportFileError, SlackConfigError, SlackDeliveryError
from flowdigest.slack.ledger import FileLedger, Ledger, default_local_ledger_dir
from flowdigest.store import LocalStore

MESSAGE_FILE = "message.json"
ENV_TIMEOUT = "FLOWDIGEST_SLACK_TIMEOUT"


def _report_folder(report_dir: str | os.PathLike[str]) -> Path:
    folder = Path(report_dir)
    if folder.is_file():
        raise ReportFileError(
            f"{folder} is a file, not a report folder",
            hint=f"give the folder that holds {MESSAGE_FILE}: flowdigest post {folder.parent}",
        )
    if not (folder / MESSAGE_FILE).is_file():
        raise ReportFileError(f"{folder / MESSAGE_FILE} does not exist", hint="run the digest first; it writes it")
    return folder


def _timeout(env: Mapping[str, str]) -> int:
    """Seconds to wait for each Slack answer: FLOWDIGEST_SLACK_TIMEOUT, default 30."""
    text = env.get(ENV_TIMEOUT, "").strip() or "30"
    if not text.isdigit() or int(text) == 0:
        raise SlackConfigError(f"{ENV_TIMEOUT}={text!r} is not a whole number of seconds", hint="e.g. 30")
    return int(text)


def post_outbox(
    report_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    update: bool = False,
    environ: Mapping[str, str] | None = None,
    ledger: Ledger | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Post `<report_dir>/message.json` and its charts, and to each routed channel (SLACK_ROUTES)
    its part of `<report_dir>/report.json`; returns the exit code.

    With no SLACK_BOT_TOKEN nothing is sent (the outbox stays as written) and it says so.
    Failures print one line naming the fix and return the error's exit code.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    # slack-sdk logs each failed request; the one line below says it better (and only once).
    logging.getLogger("slack_sdk").addHandler(logging.NullHandler())
    try:
        settings = SlackSettings.from_env(environ)
        if settings is None:
            print(
                f"Slack: {ENV_TOKEN} is not set, so nothing was posted; the message is in {report_dir}. "
                f"Set {ENV_TOKEN} and {ENV_CHANNEL} to post it.",
                file=out,
            )
            return 0
        from flowdigest.slack.poster import post_report  # needs slack-sdk: only when posting
        from flowdigest.slack.session import make_client

        store = LocalStore(_report_folder(report_dir))
        client = make_client(settings, timeout=_timeout(os.environ if environ is None else environ))
        result = post_report(
            store, MESSAGE_FILE, settings, ledger or FileLedger(default_local_ledger_dir(environ)),
            force=force, update=update, client=client,
        )
    except SlackDeliveryError as exc:
        print(f"Slack: {exc}", file=err)
        return exc.exit_code
    for each in result.each():  # the main channel, then the routed ones
        print(f"Slack: {each.describe()}", file=out)
    return 0
