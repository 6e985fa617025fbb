"""Errors the state machine acts on by name (a Lambda error's type is its class name)."""

from __future__ import annotations


class TransientError(Exception):
    """Worth retrying as is: throttling, a busy Athena, Slack rate limits, a held lease.

    Every task's Retry in statemachine/flowdigest.asl.json lists "TransientError"; raise
    exactly this class (the name is what Step Functions matches), chaining the cause.
    """


class InvalidEvent(ValueError):
    """The event does not match the step's model; str() says which fields and why."""


class SettingsError(ValueError):
    """The function's environment is incomplete or wrong; raised at cold start."""
