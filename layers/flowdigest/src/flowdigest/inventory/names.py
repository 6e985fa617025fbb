"""Addresses and interface ids -> the resource they belong to, as report.json's `names` map.

Every private IPv4 (secondary ones too), IPv6 and associated public IP of an interface maps
to it, as do a NAT gateway's own addresses. A public address outside the inventory keeps its
AWS service tag (pkt-*-aws-service); anything else the snapshot does not know stays an
address with type "unknown" and no name: a guess would be worse than the address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from flowdigest.inventory.labels import Label, Lookups, label
from flowdigest.inventory.models import Interface, NameType, Snapshot


def normal(address: str) -> str:
    """One spelling per address (IPv6 has many); a value that is not an address is kept as is."""
    try:
        return ipaddress.ip_address(address.strip()).compressed
    except ValueError:
        return address.strip()


@dataclass(frozen=True)
class Resource:
    """An interface and what it is."""

    interface: Interface
    label: Label


class NameIndex:
    """The snapshot's lookup tables, built once per report."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        look = Lookups(
            instances={i.id: i for i in snapshot.instances},
            nat_by_interface={a.interface_id: n for n in snapshot.nat_gateways for a in n.addresses if a.interface_id},
            endpoint_by_interface={e: v for v in snapshot.vpc_endpoints for e in v.interface_ids},
            endpoints={v.id: v for v in snapshot.vpc_endpoints},
        )
        self.az_ids = {s.id: s.az_id for s in snapshot.subnets}
        self.by_interface: dict[str, Resource] = {
            eni.id: Resource(eni, label(eni, look)) for eni in snapshot.interfaces}
        by_address: dict[str, set[str]] = {}
        for res in self.by_interface.values():
            eni = res.interface
            for addr in (*eni.private_ips, *eni.ipv6_addresses, *eni.public_ips):
                by_address.setdefault(normal(addr), set()).add(eni.id)
        # A NAT gateway's addresses, even when DescribeNetworkInterfaces was not given
        for nat in snapshot.nat_gateways:
            for a in nat.addresses:
                if a.interface_id and a.interface_id not in self.by_interface:
                    nat_eni = Interface(id=a.interface_id, interface_type="nat_gateway", vpc_id=nat.vpc_id,
                                        subnet_id=nat.subnet_id, description=f"Interface for NAT Gateway {nat.id}",
                                        private_ips=[a.private_ip] if a.private_ip else [],
                                        public_ips=[a.public_ip] if a.public_ip else [])
                    self.by_interface[nat_eni.id] = Resource(nat_eni, label(nat_eni, look))
                for ip in (a.private_ip, a.public_ip):
                    if ip and a.interface_id:
                        by_address.setdefault(normal(ip), set()).add(a.interface_id)
        self.by_address = by_address

    def resource(self, key: str) -> Resource | None:
        """The interface an address or interface id belongs to; None when unknown or ambiguous.

        The same private address can live in two VPCs of one snapshot: unless every candidate
        is the same resource, the address is not named (a guess would be worse than none).
        """
        key = key.strip()
        if key.startswith("eni-"):
            return self.by_interface.get(key)
        candidates = [self.by_interface[e] for e in sorted(self.by_address.get(normal(key), ()))]
        if not candidates or len({c.label for c in candidates}) > 1:
            return None
        return candidates[0]

    def entry(self, key: str, service: str | None = None) -> dict[str, str | None]:
        """The `names` map entry of one address or interface id."""
        res = self.resource(key) if self.snapshot.available else None
        if res is None:
            typ: NameType = "aws_service" if service and _is_public(key) else "unknown"
            return _entry(service if typ == "aws_service" else None, typ,
                          interface_id=key.strip() if key.strip().startswith("eni-") else None)
        eni = res.interface
        return _entry(res.label.name, res.label.type, eni.id, eni.instance_id if _is_instance(eni) else None,
                      eni.subnet_id, eni.vpc_id, self.az_ids.get(eni.subnet_id or "") or eni.az_id)

    def names_for(self, keys: Iterable[str], service_tags: Mapping[str, str] | None = None,
                  ) -> dict[str, dict[str, str | None]]:
        """report.json's `names` map for these addresses / interface ids.

        `service_tags`: address -> its pkt-src/dst-aws-service value (S3, DYNAMODB, …), used
        for public addresses the inventory does not hold.
        """
        tags = {normal(a): s for a, s in (service_tags or {}).items() if s and s != "-"}
        return {k: self.entry(k, tags.get(normal(k))) for k in dict.fromkeys(keys) if k and k != "-"}

    def group_for(self, key: str, service: str | None = None) -> Group:
        """The by-resource table's row for an address or interface: ECS service, ASG, node group,
        else the resource's label; an unknown address or interface is its own row."""
        res = self.resource(key) if self.snapshot.available else None
        if res is not None:
            return Group(res.label.type, res.label.group.split(":", 1)[1], res.label.grouped_by)
        if service and _is_public(key):
            return Group("aws_service", service, None)
        return Group("unknown", normal(key), None)


class Group(NamedTuple):
    """One row of a by-resource table: what it is, its name, and the tag that grouped it."""

    type: NameType
    name: str
    grouped_by: str | None  # aws:ecs:serviceName, aws:autoscaling:groupName, …; None: one resource


def _entry(name: str | None, typ: NameType, interface_id: str | None = None, instance_id: str | None = None,
           subnet_id: str | None = None, vpc_id: str | None = None, az_id: str | None = None,
           ) -> dict[str, str | None]:
    return {"name": name, "type": typ, "interface_id": interface_id, "instance_id": instance_id,
            "subnet_id": subnet_id, "vpc_id": vpc_id, "az_id": az_id}


def _is_instance(eni: Interface) -> bool:
    return bool(eni.instance_id and eni.instance_id.startswith("i-"))


def _is_public(key: str) -> bool:
    try:
        return ipaddress.ip_address(key.strip()).is_global
    except ValueError:
        return False
