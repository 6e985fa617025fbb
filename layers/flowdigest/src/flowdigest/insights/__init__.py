"""The report's insights, in report order."""

from __future__ import annotations

from flowdigest.insights import (
    data_health,
    gateway_endpoint,
    headline,
    nat_gateway,
    new_talkers,
    ports_protocols,
    rejected,
    top_talkers,
    traffic_by_hour,
)
from flowdigest.insights.base import Context, Insight

INSIGHTS: dict[str, Insight] = {
    m.INSIGHT.id: m.INSIGHT
    for m in (headline, top_talkers, rejected, gateway_endpoint, nat_gateway, traffic_by_hour,
              ports_protocols, new_talkers, data_health)
}

__all__ = ["INSIGHTS", "Context", "Insight"]
