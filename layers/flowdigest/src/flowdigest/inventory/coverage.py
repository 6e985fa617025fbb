"""How much of the day the names cover, and which interfaces of the inventory stayed silent.

For the data-health insight: the share of the day's bytes attributed to a named resource,
and the interfaces (in the VPCs the day's records come from) that wrote no record. A NAT
gateway interface among them means the NAT figures are incomplete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flowdigest.inventory.names import NameIndex, normal

# types that name a resource of the inventory (aws_service is a tag on a public address)
_UNNAMED = ("unknown", "aws_service")


@dataclass(frozen=True)
class Coverage:
    total_bytes: int
    named_bytes: int | None  # None: no inventory, so nothing could be named
    named_share: float | None  # named_bytes / total_bytes; None when either is unknown or there is no byte
    silent_interfaces: list[str] = field(default_factory=list)  # ids, in the inventory, no record today
    silent_nat_interfaces: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # for data health


def coverage(index: NameIndex, bytes_by_key: Mapping[str, int], logged_interfaces: Iterable[str],
             service_tags: Mapping[str, str] | None = None) -> Coverage:
    """`bytes_by_key`: the day's bytes per address (or per interface id); `logged_interfaces`:
    the interface ids that wrote at least one record (NODATA ones count: they were logged)."""
    total = sum(int(b) for b in bytes_by_key.values())
    snap = index.snapshot
    if not snap.available:
        return Coverage(total, None, None, lines=[snap.reason or "names unavailable"])
    tags = {normal(a): s for a, s in (service_tags or {}).items() if s and s != "-"}
    named = sum(int(b) for k, b in bytes_by_key.items()
                if index.entry(k, tags.get(normal(k)))["type"] not in _UNNAMED)
    share = named / total if total else None
    logged = set(logged_interfaces)
    # only the VPCs the day's records come from: other VPCs may have no flow log at all
    vpcs = {index.by_interface[e].interface.vpc_id for e in logged if e in index.by_interface}
    silent = sorted(e for e, r in index.by_interface.items()
                    if e not in logged and r.interface.vpc_id in vpcs and r.interface.status != "available")
    silent_nat = [e for e in silent if index.by_interface[e].label.type == "nat_gateway"]
    lines = []
    if share is not None:
        lines.append(f"names: {share:.0%} of the day's bytes are attributed to a named resource")
    if silent:
        shown = ", ".join(f"{index.by_interface[e].label.name} ({e})" for e in silent[:5])
        more = f" and {len(silent) - 5} more" if len(silent) > 5 else ""
        lines.append(f"{len(silent)} interface(s) in the inventory wrote no flow-log record today: {shown}{more}")
    for e in silent_nat:
        lines.append(f"NAT gateway {index.by_interface[e].label.name} ({e}) wrote no flow-log record: "
                     "NAT figures are incomplete")
    return Coverage(total, named, share, silent, silent_nat, lines)
