"""What an interface is, read from its InterfaceType, Description, RequesterId, attachment and tags.

AWS's own interfaces say what made them in fixed forms (EC2 user guide, "Requester-managed
network interfaces"; each service's docs):

    nat_gateway / natGateway   "Interface for NAT Gateway nat-0a1b…"
    vpc_endpoint               "VPC Endpoint Interface vpce-0a1b…" (older ones: InterfaceType interface)
    load_balancer              "ELB app/<name>/<id>", "ELB net/<name>/<id>" (network_load_balancer),
                               "ELB gwy/<name>/<id>" (gateway_load_balancer), "ELB <name>" (classic)
    lambda                     "AWS Lambda VPC ENI-<function>-<uuid>"
    transit_gateway            "Network Interface for Transit Gateway Attachment tgw-attach-0a1b…"
    (RDS)                      "RDSNetworkInterface", RequesterId "amazon-rds"
    (ECS, awsvpc mode)         "arn:aws:ecs:<region>:<account>:attachment/<uuid>"

The rules run most specific first; an interface none of them matches is "interface eni-…".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flowdigest.inventory.models import Instance, Interface, NameType, NatGateway, VpcEndpoint

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_LAMBDA = re.compile(rf"^AWS Lambda VPC ENI-(?P<name>.+)-{_UUID}$", re.IGNORECASE)
_ELB = re.compile(r"^ELB (?:(?:app|net|gwy)/)?(?P<name>[^/\s]+)(?:/[0-9a-f]+)?$")
_TGW = re.compile(r"(tgw-attach-[0-9a-f]+)")
_NAT = re.compile(r"(nat-[0-9a-f]+)")
_VPCE = re.compile(r"(vpce-[0-9a-f]+)")

# Tags that put many interfaces of one thing into one row of a by-resource table, and what
# such a row is.
GROUP_KINDS: dict[str, str] = {"aws:ecs:serviceName": "ECS service", "aws:autoscaling:groupName": "auto-scaling group",
                               "eks:nodegroup-name": "EKS node group"}
GROUP_TAGS: tuple[str, ...] = tuple(GROUP_KINDS)


@dataclass(frozen=True)
class Label:
    name: str
    type: NameType
    group: str  # the by-resource table's row: one service / ASG / node group, else the name
    grouped_by: str | None = None  # the tag of GROUP_TAGS that made the row (None: one resource)


@dataclass(frozen=True)
class Lookups:
    """The snapshot's other records, by the ids the interfaces point at."""

    instances: Mapping[str, Instance]
    nat_by_interface: Mapping[str, NatGateway]
    endpoint_by_interface: Mapping[str, VpcEndpoint]
    endpoints: Mapping[str, VpcEndpoint]


_Make = Callable[..., Label]  # label()'s make(name, type, tags=None)


def label(eni: Interface, look: Lookups) -> Label:
    kind = (eni.interface_type or "").lower()
    desc = eni.description.strip()
    own_name = eni.tags.get("Name")

    def make(name: str, typ: NameType, tags: Mapping[str, str] | None = None) -> Label:
        tags = tags if tags is not None else eni.tags
        tag = next((t for t in GROUP_TAGS if tags.get(t)), None)
        return Label(name, typ, f"{typ}:{tags[tag]}" if tag else f"{typ}:{name}", tag)

    if kind == "transit_gateway" or desc.startswith("Network Interface for Transit Gateway Attachment"):
        m = _TGW.search(desc)
        return make(own_name or (m.group(1) if m else f"Transit Gateway attachment {eni.id}"), "transit_gateway")
    nat = look.nat_by_interface.get(eni.id)
    if nat or kind in ("nat_gateway", "natgateway") or desc.startswith("Interface for NAT Gateway"):
        if nat:
            return make(nat.tags.get("Name") or nat.id, "nat_gateway", nat.tags)
        m = _NAT.search(desc)
        return make(own_name or (m.group(1) if m else f"NAT gateway {eni.id}"), "nat_gateway")
    vpce = look.endpoint_by_interface.get(eni.id)
    if vpce is None and (m := _VPCE.search(desc)) and desc.startswith("VPC Endpoint Interface"):
        vpce = look.endpoints.get(m.group(1))
    if vpce or kind in ("vpc_endpoint", "gateway_load_balancer_endpoint") or desc.startswith("VPC Endpoint Interface"):
        return _endpoint(eni, vpce, desc, make)
    if kind in ("load_balancer", "network_load_balancer", "gateway_load_balancer") or desc.startswith("ELB "):
        m = _ELB.match(desc)
        return make(m.group("name") if m else own_name or f"load balancer {eni.id}", "load_balancer")
    m = _LAMBDA.match(desc)
    if kind == "lambda" or m:
        return make(m.group("name") if m else own_name or f"Lambda {eni.id}", "lambda")
    if desc == "RDSNetworkInterface" or eni.requester_id == "amazon-rds":
        return make(own_name or f"RDS {eni.id}", "rds")
    if desc.startswith("arn:aws") and ":ecs:" in desc:
        service = eni.tags.get("aws:ecs:serviceName")
        return make(own_name or service or f"ECS task {eni.id}", "ecs_task")
    if eni.instance_id and eni.instance_id.startswith("i-"):
        inst = look.instances.get(eni.instance_id)
        tags = inst.tags if inst else {}
        return make(tags.get("Name") or eni.instance_id, "instance", tags)
    return make(own_name or f"interface {eni.id}", "interface")


def _endpoint(eni: Interface, vpce: VpcEndpoint | None, desc: str, make: _Make) -> Label:
    if vpce is not None:
        if vpce.tags.get("Name"):
            return make(vpce.tags["Name"], "vpc_endpoint", vpce.tags)
        return make(f"{vpce.id} ({vpce.service})" if vpce.service else vpce.id, "vpc_endpoint", vpce.tags)
    m = _VPCE.search(desc)
    return make(eni.tags.get("Name") or (m.group(1) if m else f"VPC endpoint {eni.id}"), "vpc_endpoint")
