"""The AWS-mode settings the handlers read at cold start (shared by the functional and integration tests)."""

AWS_ENV = {"FLOWDIGEST_ENGINE": "athena", "FLOWDIGEST_SOURCE": "s3://flowlogs/prefix/", "AWS_REGION": "us-east-1",
           "FLOWDIGEST_DATABASE": "flowdigest", "FLOWDIGEST_WORKGROUP": "wg", "FLOWDIGEST_REPORTS_BUCKET": "reports",
           "FLOWDIGEST_SOURCE_ACCOUNT": "123456789012", "FLOWDIGEST_LEDGER_TABLE": "ledger",
           "SLACK_SECRET_NAME": "flowdigest/slack"}
