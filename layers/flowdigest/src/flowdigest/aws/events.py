"""The events each function accepts (what statemachine/flowdigest.asl.json sends, and
events/*.json for `sam local invoke`), validated with pydantic.

A bad event fails with InvalidEvent naming every wrong field, not a KeyError later on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from flowdigest import dates
from flowdigest.aws.errors import InvalidEvent
from flowdigest.models import DayPlan, InsightResult, InventoryOutput
from flowdigest.scope import Scope, ScopeError, parse_ids


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrepareEvent(_Event):
    step: Literal["prepare"]
    report_date: dt.date | None = None  # a backfill names the day
    scheduled_time: dt.datetime | None = None  # EventBridge Scheduler's <aws.scheduler.scheduled-time>
    # Optional filters of an organisation's bucket (the state machine's input): an id, ids
    # separated by commas, or a list of ids (flowdigest.scope).
    account: str | list[str] | None = None
    region: str | list[str] | None = None
    vpc: str | list[str] | None = None

    @field_validator("account", "region", "vpc")
    @classmethod
    def _ids(cls, value: str | list[str] | None, info: ValidationInfo) -> list[str] | None:
        try:
            return list(parse_ids(str(info.field_name), value)) or None
        except ScopeError as e:
            raise ValueError(str(e)) from None

    def filters(self) -> Scope:
        return Scope.parse(self.account, self.region, self.vpc)

    @field_validator("report_date")
    @classmethod
    def _possible(cls, day: dt.date | None) -> dt.date | None:
        return None if day is None else dates.check(day)

    def resolve_date(self, now: dt.datetime | None = None) -> dt.date:
        """The day to report on: the one asked for, else the UTC day before the scheduled
        time (or now), so a delayed or retried start still reports the intended day."""
        if self.report_date is not None:
            return self.report_date
        return dates.yesterday(self.scheduled_time or now)


class StepError(_Event):
    """What a state's Catch puts at its ResultPath."""

    Error: str
    Cause: str | None = None


class InsightEvent(_Event):
    step: Literal["insight"]
    plan: DayPlan
    insight: str
    # the Inventory step's output (its NAT gateways are the queries'), its caught error, or none
    inventory: InventoryOutput | StepError | None = None


class InventoryEvent(_Event):
    step: Literal["inventory"]
    plan: DayPlan


class QueryEvent(_Event):
    request: PrepareEvent | InsightEvent | InventoryEvent = Field(discriminator="step")


class RenderEvent(_Event):
    plan: DayPlan
    results: list[InsightResult]
    inventory: InventoryOutput | StepError | None = None  # the Inventory step's output, or its caught error


class PostEvent(_Event):
    report_date: dt.date
    message_key: str = Field(min_length=1)
    force: bool = False  # post again even if the ledger says the day was posted
    owner: str | None = None  # the execution ARN: retries of one execution resume its lease
    update: bool = False  # a day posted with other content is edited in place


class Alert(_Event):
    step: str
    report_date: dt.date | None = None
    error: str = "Error"
    cause: str | None = None
    execution: str | None = None


class AlertEvent(_Event):
    alert: Alert


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], event: Any) -> M:
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(_describe(model, exc)) from None


def parse_query(event: Any) -> PrepareEvent | InsightEvent | InventoryEvent:
    return parse(QueryEvent, {"request": event}).request


def parse_slack(event: Any) -> PostEvent | AlertEvent:
    if isinstance(event, dict) and "alert" in event:
        return parse(AlertEvent, event)
    return parse(PostEvent, event)


def _describe(model: type[BaseModel], exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"] if p != "request") or "event"
        parts.append(f"{loc}: {err['msg']}")
    more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    name = "query step" if model is QueryEvent else model.__name__
    return f"invalid {name} event: " + "; ".join(parts) + more
