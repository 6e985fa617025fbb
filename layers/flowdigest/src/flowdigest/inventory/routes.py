"""Route tables, gateway endpoints and NAT gateways, for the findings.

Each answer is None when the snapshot lacks the describe output it needs (unknown is not
"no": a missing RouteTables file must not read as "no gateway endpoint route").
"""

from __future__ import annotations

from dataclasses import dataclass

from flowdigest.inventory.models import RouteTable, Snapshot, VpcEndpoint


@dataclass(frozen=True)
class NatInfo:
    id: str
    name: str  # Name tag, else the id
    vpc_id: str | None
    subnet_id: str | None
    az_id: str | None
    state: str | None
    interface_ids: tuple[str, ...]
    private_ips: tuple[str, ...]
    public_ips: tuple[str, ...]


class Routes:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.subnets = {s.id: s for s in snapshot.subnets}
        self.endpoints = {e.id: e for e in snapshot.vpc_endpoints}
        self.explicit = {s: t for t in snapshot.route_tables for s in t.subnet_ids}
        self.main = {t.vpc_id: t for t in snapshot.route_tables if t.main and t.vpc_id}

    def route_table_for(self, subnet_id: str, vpc_id: str | None = None) -> RouteTable | None:
        """The subnet's explicit association, else its VPC's main table (vpc_id helps when the
        Subnets output is missing); None when unknown."""
        if subnet_id in self.explicit:
            return self.explicit[subnet_id]
        sub = self.subnets.get(subnet_id)
        vpc = (sub.vpc_id if sub else None) or vpc_id
        return self.main.get(vpc) if vpc else None

    def gateway_endpoint_routes(self, table: RouteTable) -> dict[str, str]:
        """service ("s3", "dynamodb", or the endpoint's full service name) -> vpce id, for the
        table's prefix-list routes to a gateway endpoint."""
        out: dict[str, str] = {}
        for r in table.routes:
            gw = r.gateway_id or ""
            if r.prefix_list_id and gw.startswith("vpce-"):
                ep = self.endpoints.get(gw)
                out[(ep.service if ep else None) or f"unknown ({r.prefix_list_id})"] = gw
        # an endpoint lists its route tables too: trust either side
        for ep in self.endpoints.values():
            if ep.endpoint_type == "Gateway" and table.id in ep.route_table_ids and ep.service:
                out.setdefault(ep.service, ep.id)
        return out

    def has_gateway_endpoint(self, subnet_id: str, service: str, vpc_id: str | None = None) -> bool | None:
        """Whether the subnet's traffic to the service ("s3", "dynamodb") takes a gateway
        endpoint; None when the route tables (or the subnet's table) are unknown."""
        if not self.snapshot.has("RouteTables"):
            return None
        table = self.route_table_for(subnet_id, vpc_id)
        if table is None:
            return None
        return service.lower() in self.gateway_endpoint_routes(table)

    def gateway_endpoints(self, vpc_id: str) -> dict[str, list[VpcEndpoint]] | None:
        """The VPC's gateway endpoints per service; None without the VpcEndpoints output."""
        if not self.snapshot.has("VpcEndpoints"):
            return None
        out: dict[str, list[VpcEndpoint]] = {}
        for ep in self.endpoints.values():
            if ep.vpc_id == vpc_id and ep.endpoint_type == "Gateway":
                out.setdefault(ep.service or "unknown", []).append(ep)
        return out

    def nat_gateways(self) -> list[NatInfo]:
        out = []
        for n in self.snapshot.nat_gateways:
            sub = self.subnets.get(n.subnet_id or "")
            out.append(NatInfo(
                id=n.id, name=n.tags.get("Name") or n.id, vpc_id=n.vpc_id, subnet_id=n.subnet_id,
                az_id=sub.az_id if sub else None, state=n.state,
                interface_ids=tuple(a.interface_id for a in n.addresses if a.interface_id),
                private_ips=tuple(a.private_ip for a in n.addresses if a.private_ip),
                public_ips=tuple(a.public_ip for a in n.addresses if a.public_ip)))
        return out
