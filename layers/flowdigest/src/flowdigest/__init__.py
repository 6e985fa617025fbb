"""flowdigest: a daily digest of AWS VPC Flow Logs, posted to Slack with charts."""

__version__ = "0.1.0"
