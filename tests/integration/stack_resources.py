"""The stack's stateful resources the functions use, created in moto (in-process or server)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3
from slack_api_server import TEST_CHANNEL, TEST_TOKEN


@dataclass(frozen=True)
class StackResources:
    bucket: str
    secret_arn: str
    ledger_table: str


def create_stack_resources(region: str) -> StackResources:
    """The reports bucket, the Slack secret (the test server's token) and the ledger table."""
    bucket, table = "flowdigest-reports", "flowdigest-ledger"
    boto3.client("s3", region_name=region).create_bucket(Bucket=bucket)
    secret = boto3.client("secretsmanager", region_name=region).create_secret(
        Name="flowdigest/slack", SecretString=json.dumps({"bot_token": TEST_TOKEN, "channel_id": TEST_CHANNEL}))
    boto3.client("dynamodb", region_name=region).create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    return StackResources(bucket=bucket, secret_arn=secret["ARN"], ledger_table=table)
