"""AWS's S3 key layout for VPC Flow Logs: where a day's and an hour's files go, and their names.

Two layouts, both under `AWSLogs/` (AWS VPC user guide, "Flow log files" in S3):

- Hive-compatible prefixes (Parquet, or text with per-hour partitions):
  AWSLogs/aws-account-id=<acct>/aws-service=vpcflowlogs/aws-region=<r>/year=YYYY/month=MM/day=DD/hour=HH/
- the plain text layout: AWSLogs/<acct>/vpcflowlogs/<r>/YYYY/MM/DD/

Keys here are relative ("AWSLogs/..."), with a trailing slash; callers join them to a bucket
prefix or a local folder.
"""

from __future__ import annotations

import datetime as dt

SERVICE = "vpcflowlogs"


def day_partitions(day: dt.date) -> str:
    """The Hive partition folders of a day: year=YYYY/month=MM/day=DD."""
    return f"year={day:%Y}/month={day:%m}/day={day:%d}"


def hive_day_prefix(account_id: str, region: str, day: dt.date) -> str:
    return (f"AWSLogs/aws-account-id={account_id}/aws-service={SERVICE}/aws-region={region}/"
            f"{day_partitions(day)}/")


def hive_hour_prefix(account_id: str, region: str, day: dt.date, hour: int) -> str:
    return f"{hive_day_prefix(account_id, region, day)}hour={hour:02d}/"


def plain_day_prefix(account_id: str, region: str, day: dt.date) -> str:
    return f"AWSLogs/{account_id}/{SERVICE}/{region}/{day:%Y}/{day:%m}/{day:%d}/"


def hive_day_glob(day: dt.date) -> str:
    """A glob matching the day's Hive folder for any account and region (no trailing slash)."""
    return f"AWSLogs/*/aws-service={SERVICE}/*/{day_partitions(day)}"


def object_name(account_id: str, region: str, flow_log_id: str, at: dt.datetime, tag: int,
                extension: str) -> str:
    """A delivered file's name: <acct>_vpcflowlogs_<region>_<fl-id>_<YYYYMMDDTHHmmZ>_<hash>.<ext>."""
    return f"{account_id}_{SERVICE}_{region}_{flow_log_id}_{at:%Y%m%dT%H%MZ}_{tag:08x}.{extension}"
