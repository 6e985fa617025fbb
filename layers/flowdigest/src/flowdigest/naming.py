"""Names in the digest: the inventory's labels for the addresses and interfaces the insights show.

An insight line says `shown(ctx, "10.0.1.17")` -> "checkout-api-3 (10.0.1.17)"; without an
inventory (ctx.names is None), or for an address it does not know, the address itself, so a
report without inventory reads as before. report.json keeps the raw ids in its rows and gains
`names` (report_names), for every address and interface id in the rows it is given.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowdigest.inventory import NameIndex, Routes, Snapshot, coverage
from flowdigest.inventory.names import Group
from flowdigest.models import InventoryOutput, NameEntry, ResourceBytes
from flowdigest.store import Store

if TYPE_CHECKING:
    from flowdigest.insights.base import Context

RESOURCE_ROWS = 10  # rows of top talkers by resource
RESOURCE_IDS = 100  # interface ids kept per row (the busiest): the step payloads stay small


def is_key(value: Any) -> bool:
    """An address or an interface id (what the `names` map covers)."""
    if not isinstance(value, str):
        return False
    if value.startswith("eni-"):
        return True
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def name_of(ctx: Context, key: str | None) -> str | None:
    """The label of an address / interface id; None when there is none to show."""
    if key is None or ctx.names is None:
        return None
    return ctx.names.entry(key, ctx.service_tags.get(key))["name"]  # a public address: its AWS service


def shown(ctx: Context, key: str | None) -> str:
    """For a text line: "label (address)", or the address when it has no label."""
    name = name_of(ctx, key)
    if name is None:
        return str(key)
    return name if key and key in name else f"{name} ({key})"


def chart_labels(ctx: Context, keys: Sequence[Sequence[str | None]], arrow: str = " -> ") -> list[str]:
    """One bar label per row of keys (a pair, or one address): the labels alone where that keeps
    the bars apart (a chart merges bars of the same label), else labels with their addresses."""
    full = [arrow.join(shown(ctx, k) for k in row) for row in keys]
    short = [arrow.join(name_of(ctx, k) or str(k) for k in row) for row in keys]
    cut = [s[:40] for s in short]  # charts.style.top_bars shortens labels to 40 characters
    return [s if cut.count(c) == 1 else f for s, c, f in zip(short, cut, full, strict=True)]


def service_tags(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """address -> AWS service tag, from rows that carry both (the NAT gateway's destinations)."""
    return {r["address"]: r["service"] for r in rows if is_key(r.get("address")) and r.get("service")}


def keys_in(value: Any) -> Iterator[str]:
    """Every address / interface id in a value, however deep (a finding's evidence nests them)."""
    if isinstance(value, Mapping):
        for v in value.values():
            yield from keys_in(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from keys_in(v)
    elif is_key(value):
        yield value


def report_names(index: NameIndex | None, row_groups: Iterable[Iterable[Mapping[str, Any]]],
                 ) -> dict[str, NameEntry]:
    """report.json's `names`: an entry for every address / interface id in these rows (insight
    rows, findings, the rows by resource: whatever the report shows), at any depth. Empty
    without an inventory."""
    if index is None:
        return {}
    rows = [r for group in row_groups for r in group]
    keys = sorted(set(keys_in(rows)))
    return {k: NameEntry.model_validate(v) for k, v in index.names_for(keys, service_tags(rows)).items()}


def survey(day: dt.date, snapshot: Snapshot, key: str | None, interface_rows: list[dict[str, Any]],
           has_interfaces: bool = True) -> InventoryOutput:
    """What the snapshot says about the day: coverage lines for data health and the top talkers
    by resource, from the day's bytes per interface (`interface_rows`: interface_id, bytes)."""
    if not snapshot.available:
        reason = snapshot.reason or "names unavailable"
        return InventoryOutput(report_date=day, inventory_key=key, available=False, reason=reason,
                               data_health=[reason])
    index = NameIndex(snapshot)
    by_interface = {r["interface_id"]: int(r["bytes"] or 0) for r in interface_rows if r.get("interface_id")}
    cov = coverage(index, by_interface, by_interface)
    lines = list(cov.lines) if has_interfaces else [
        "names: the flow log's format has no interface-id, so coverage is unknown"]
    nat = nat_rule(index, interface_rows)
    return InventoryOutput(report_date=day, inventory_key=key, available=True,
                           data_health=[*lines, *snapshot.gaps], named_share=cov.named_share,
                           resources=by_resource(index, by_interface),
                           nat_interfaces=None if nat is None else nat[0], nat_addresses=nat[1] if nat else [])


def nat_rule(index: NameIndex, interface_rows: list[dict[str, Any]]) -> tuple[list[str], list[str]] | None:
    """The day's NAT gateway interfaces, by the inventory's InterfaceType (one it calls a NAT
    gateway's is one even without a translated record; an EKS node's, translated, is not),
    and their private addresses. An interface the inventory does not know (deleted before the
    snapshot, another account's) keeps the records' rule (`nat_by_records`). None when the
    snapshot has neither interfaces nor NAT gateways to tell."""
    snap = index.snapshot
    if not (snap.has("NetworkInterfaces") or snap.has("NatGateways")):
        return None
    nat: list[str] = []
    for r in interface_rows:
        eni = r.get("interface_id")
        res = index.resource(eni) if eni else None
        if eni and (res.label.type == "nat_gateway" if res is not None else bool(r.get("nat_by_records"))):
            nat.append(eni)
    addresses = {a for e in nat if (res := index.resource(e)) is not None for a in res.interface.private_ips}
    return sorted(nat), sorted(addresses)


def by_resource(index: NameIndex, by_interface: Mapping[str, int]) -> list[ResourceBytes]:
    """Top talkers by resource: the interfaces' bytes summed per NameIndex.group_for row, the
    largest RESOURCE_ROWS (ties by type, then name)."""
    groups: dict[Group, list[tuple[int, str]]] = {}
    for eni, b in by_interface.items():
        groups.setdefault(index.group_for(eni), []).append((b, eni))
    top = sorted(groups.items(), key=lambda g: (-sum(b for b, _ in g[1]), g[0].type, g[0].name))[:RESOURCE_ROWS]
    return [ResourceBytes(name=g.name, type=g.type, grouped_by=g.grouped_by, interfaces=len(members),
                          interface_ids=[e for _, e in sorted(members, key=lambda m: (-m[0], m[1]))][:RESOURCE_IDS],
                          bytes=sum(b for b, _ in members))
            for g, members in top]


@dataclass(frozen=True)
class DayNames:
    """The render step's view of the day's inventory."""

    output: InventoryOutput
    index: NameIndex | None
    routes: Routes | None

    @classmethod
    def load(cls, output: InventoryOutput | None, store: Store) -> DayNames | None:
        if output is None:
            return None
        if not output.available or output.inventory_key is None:
            return cls(output, None, None)
        snap = Snapshot.model_validate_json(store.read_bytes(output.inventory_key))
        return cls(output, NameIndex(snap), Routes(snap))

    @classmethod
    def failed(cls, day: dt.date, why: str) -> DayNames:
        """The inventory step failed (the state machine caught it): the report goes on without names."""
        reason = f"names unavailable: {why}"
        return cls(InventoryOutput(report_date=day, inventory_key=None, available=False, reason=reason,
                                   data_health=[reason]), None, None)
