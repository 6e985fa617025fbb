"""Slack delivery: limits and escaping, credentials, the idempotency ledger, posting, alerts.

Importing this package (and `limits`, `errors`, `credentials`, `ledger`) needs neither
slack-sdk nor boto3; `poster`, `alert` and `local.post_outbox` use slack-sdk.

    from flowdigest.slack.poster import post_report          # post a stored report
    from flowdigest.slack.alert import post_failure_alert    # say a run failed
    from flowdigest.slack.local import post_outbox           # the CLI's step
"""

from flowdigest.slack.credentials import SlackSettings, load_settings
from flowdigest.slack.errors import (
    DeliveryInProgressError,
    ReportFileError,
    SlackConfigError,
    SlackDeliveryError,
    SlackPermanentError,
    SlackTransientError,
)
from flowdigest.slack.ledger import DynamoDBLedger, FileLedger, Ledger, default_local_ledger_dir
from flowdigest.slack.limits import escape, fit_blocks, fit_message, split_text, truncate

__all__ = [
    "DeliveryInProgressError",
    "DynamoDBLedger",
    "FileLedger",
    "Ledger",
    "ReportFileError",
    "SlackConfigError",
    "SlackDeliveryError",
    "SlackPermanentError",
    "SlackSettings",
    "SlackTransientError",
    "default_local_ledger_dir",
    "escape",
    "fit_blocks",
    "fit_message",
    "load_settings",
    "split_text",
    "truncate",
]
