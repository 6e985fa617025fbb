"""One Logger, Tracer and Metrics for every handler (names come from POWERTOOLS_* env vars).

The Tracer disables itself outside Lambda (tests, the CLI), and metrics are flushed by
`@metrics.log_metrics` only when a handler added some.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
