"""The network inventory snapshot: what the EC2 Describe calls say about the account's VPCs.

Only the fields the labels, the address map and the route/endpoint helpers use are kept,
in snake_case; `awsjson.py` maps AWS's (and the CLI's) PascalCase records onto them. The
snapshot is JSON-serialisable (`model_dump_json`) so it can be stored beside the day's
report and read back with `Snapshot.model_validate_json`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The top-level key of each `aws ec2 describe-…` output the snapshot is built from.
KINDS: tuple[str, ...] = ("NetworkInterfaces", "Reservations", "Subnets", "RouteTables", "VpcEndpoints",
                          "NatGateways")

NameType = Literal["instance", "lambda", "nat_gateway", "load_balancer", "vpc_endpoint", "rds", "ecs_task",
                   "transit_gateway", "interface", "aws_service", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Tags = dict[str, str]


class Interface(_Model):
    id: str  # eni-…
    interface_type: str | None = None  # InterfaceType: interface, lambda, nat_gateway, …
    description: str = ""
    requester_id: str | None = None
    requester_managed: bool = False
    status: str | None = None
    vpc_id: str | None = None
    subnet_id: str | None = None
    availability_zone: str | None = None
    az_id: str | None = None  # AvailabilityZoneId, where the API gives it (newer outputs)
    private_ips: list[str] = Field(default_factory=list)  # primary first, then secondary ones
    ipv6_addresses: list[str] = Field(default_factory=list)
    public_ips: list[str] = Field(default_factory=list)  # associated public / Elastic IPs
    instance_id: str | None = None  # Attachment.InstanceId
    instance_owner_id: str | None = None  # Attachment.InstanceOwnerId ("amazon-elb", an account, …)
    tags: Tags = Field(default_factory=dict)


class Instance(_Model):
    id: str  # i-…
    state: str | None = None
    vpc_id: str | None = None
    subnet_id: str | None = None
    tags: Tags = Field(default_factory=dict)


class Subnet(_Model):
    id: str
    vpc_id: str | None = None
    cidr: str | None = None
    availability_zone: str | None = None
    az_id: str | None = None  # AvailabilityZoneId, the same physical AZ in every account
    tags: Tags = Field(default_factory=dict)


class Route(_Model):
    destination: str | None = None  # DestinationCidrBlock / DestinationIpv6CidrBlock
    prefix_list_id: str | None = None  # DestinationPrefixListId (pl-…): gateway endpoints' routes
    gateway_id: str | None = None  # igw-…, vpce-… (gateway endpoint), "local"
    nat_gateway_id: str | None = None
    transit_gateway_id: str | None = None
    target: str | None = None  # any other target id (instance, peering, interface, …)
    state: str | None = None


class RouteTable(_Model):
    id: str
    vpc_id: str | None = None
    main: bool = False  # the VPC's main table: used by subnets with no explicit association
    subnet_ids: list[str] = Field(default_factory=list)  # explicit associations
    routes: list[Route] = Field(default_factory=list)
    tags: Tags = Field(default_factory=dict)


class VpcEndpoint(_Model):
    id: str  # vpce-…
    endpoint_type: str | None = None  # Interface, Gateway, GatewayLoadBalancer, …
    service_name: str | None = None  # com.amazonaws.us-east-1.s3
    vpc_id: str | None = None
    state: str | None = None
    route_table_ids: list[str] = Field(default_factory=list)
    subnet_ids: list[str] = Field(default_factory=list)
    interface_ids: list[str] = Field(default_factory=list)
    tags: Tags = Field(default_factory=dict)

    @property
    def service(self) -> str | None:
        """The service's short name: "s3" for com.amazonaws.us-east-1.s3, the full name otherwise."""
        name = self.service_name
        if name and name.startswith("com.amazonaws.") and name.count(".") >= 3:
            return name.split(".", 3)[3]
        return name


class NatAddress(_Model):
    interface_id: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None


class NatGateway(_Model):
    id: str  # nat-…
    vpc_id: str | None = None
    subnet_id: str | None = None
    state: str | None = None
    connectivity: str | None = None  # public / private
    addresses: list[NatAddress] = Field(default_factory=list)
    tags: Tags = Field(default_factory=dict)


class Snapshot(_Model):
    """One account/region's inventory at one moment, or why there is none."""

    available: bool = True
    reason: str | None = None  # when not available: "names unavailable: …"
    source: str = ""  # a folder, or "aws"
    collected_at: str | None = None  # ISO time, when known
    kinds: list[str] = Field(default_factory=list)  # the describe outputs it was built from
    gaps: list[str] = Field(default_factory=list)  # one line per optional output it lacks and why
    interfaces: list[Interface] = Field(default_factory=list)
    instances: list[Instance] = Field(default_factory=list)
    subnets: list[Subnet] = Field(default_factory=list)
    route_tables: list[RouteTable] = Field(default_factory=list)
    vpc_endpoints: list[VpcEndpoint] = Field(default_factory=list)
    nat_gateways: list[NatGateway] = Field(default_factory=list)

    def has(self, kind: str) -> bool:
        """Whether the snapshot holds the given describe output (an empty one counts)."""
        return kind in self.kinds

    @classmethod
    def unavailable(cls, reason: str, source: str = "") -> Snapshot:
        return cls(available=False, reason=reason, source=source)
