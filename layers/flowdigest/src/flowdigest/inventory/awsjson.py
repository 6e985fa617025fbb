"""AWS's describe records (the API's and the CLI's JSON are the same shape) -> the snapshot.

`read_dir` reads the CLI's own output, unchanged: any `*.json` in a folder, each recognised
by its top-level key. `build` turns already-parsed outputs (the collector's pages) into a
snapshot. A record that does not have AWS's shape raises InventoryError naming the file and
the record (e.g. "NetworkInterfaces[3].PrivateIpAddresses: expected a list, got 'x'").
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from flowdigest.inventory.models import (
    KINDS,
    Instance,
    Interface,
    NatAddress,
    NatGateway,
    Route,
    RouteTable,
    Snapshot,
    Subnet,
    Tags,
    VpcEndpoint,
)
from flowdigest.sources.errors import FlowLogError, show

_T = TypeVar("_T", Interface, Instance, Subnet, RouteTable, VpcEndpoint, NatGateway)


class InventoryError(FlowLogError):
    """An inventory file the run cannot use; str() is one line naming the file and the problem."""


class ShapeError(ValueError):
    """A record that is not AWS's shape; the message says where inside the file."""


# What each describe output is called on the command line, for messages and the docs.
COMMANDS: dict[str, str] = {
    "NetworkInterfaces": "aws ec2 describe-network-interfaces",
    "Reservations": "aws ec2 describe-instances",
    "Subnets": "aws ec2 describe-subnets",
    "RouteTables": "aws ec2 describe-route-tables",
    "VpcEndpoints": "aws ec2 describe-vpc-endpoints",
    "NatGateways": "aws ec2 describe-nat-gateways",
}


class _Rec:
    """One JSON object with typed getters whose errors say where the bad value is."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ShapeError(f"{where}: expected an object, got {_kind(data)}")
        self.data, self.where = data, where

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise ShapeError(f"{self.where}: no {key}")
            return None
        if not isinstance(value, str):
            raise ShapeError(f"{self.where}.{key}: expected a string, got {_kind(value)}")
        return value

    def ident(self, key: str) -> str:
        value = self.text(key, required=True)
        if not value:
            raise ShapeError(f"{self.where}.{key}: empty")
        return str(value)

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise ShapeError(f"{self.where}.{key}: expected true or false, got {_kind(value)}")
        return value

    def obj(self, key: str) -> _Rec | None:
        value = self.data.get(key)
        return None if value is None else _Rec(value, f"{self.where}.{key}")

    def items(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ShapeError(f"{self.where}.{key}: expected a list, got {_kind(value)}")
        return value

    def recs(self, key: str) -> list[_Rec]:
        return [_Rec(v, f"{self.where}.{key}[{i}]") for i, v in enumerate(self.items(key))]

    def texts(self, key: str) -> list[str]:
        out = self.items(key)
        for i, v in enumerate(out):
            if not isinstance(v, str):
                raise ShapeError(f"{self.where}.{key}[{i}]: expected a string, got {_kind(v)}")
        return out

    def tags(self, key: str = "Tags") -> Tags:
        out: Tags = {}
        for t in self.recs(key):
            k = t.text("Key", required=True)
            out[str(k)] = t.text("Value") or ""
        return out


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return show(value)
    return {dict: "an object", list: "a list", bool: "true/false", type(None): "null"}.get(
        type(value), f"{type(value).__name__} {value!r}"[:60])


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def interface(r: _Rec, instance_id: str | None = None) -> Interface:
    attach = r.obj("Attachment")
    pairs = r.recs("PrivateIpAddresses")
    # primary first: PrivateIpAddress, then the list's primary entry, then the secondary ones
    private = _unique([r.text("PrivateIpAddress"),
                       *[p.text("PrivateIpAddress") for p in pairs if p.flag("Primary")],
                       *[p.text("PrivateIpAddress") for p in pairs]])
    public = [r.obj("Association"), *[p.obj("Association") for p in pairs]]
    return Interface(
        id=r.ident("NetworkInterfaceId"),
        interface_type=r.text("InterfaceType"),
        description=r.text("Description") or "",
        requester_id=r.text("RequesterId"),
        requester_managed=r.flag("RequesterManaged"),
        status=r.text("Status"),
        vpc_id=r.text("VpcId"),
        subnet_id=r.text("SubnetId"),
        availability_zone=r.text("AvailabilityZone"),
        az_id=r.text("AvailabilityZoneId"),
        private_ips=private,
        ipv6_addresses=_unique(a.text("Ipv6Address") for a in r.recs("Ipv6Addresses")),
        public_ips=_unique(a.text("PublicIp") for a in public if a is not None),
        instance_id=(attach.text("InstanceId") if attach else None) or instance_id,
        instance_owner_id=attach.text("InstanceOwnerId") if attach else None,
        tags=r.tags("TagSet") if "TagSet" in r.data else r.tags(),
    )


def instances(r: _Rec) -> tuple[list[Instance], list[Interface]]:
    """One reservation: its instances, and their interfaces as DescribeInstances shows them."""
    out: list[Instance] = []
    enis: list[Interface] = []
    for i in r.recs("Instances"):
        inst_id = i.ident("InstanceId")
        state = i.obj("State")
        out.append(Instance(id=inst_id, state=state.text("Name") if state else None, vpc_id=i.text("VpcId"),
                            subnet_id=i.text("SubnetId"), tags=i.tags()))
        enis.extend(interface(n, inst_id) for n in i.recs("NetworkInterfaces"))
    return out, enis


def subnet(r: _Rec) -> Subnet:
    return Subnet(id=r.ident("SubnetId"), vpc_id=r.text("VpcId"), cidr=r.text("CidrBlock"),
                  availability_zone=r.text("AvailabilityZone"), az_id=r.text("AvailabilityZoneId"), tags=r.tags())


_OTHER_TARGETS = ("InstanceId", "NetworkInterfaceId", "VpcPeeringConnectionId", "EgressOnlyInternetGatewayId",
                  "CarrierGatewayId", "LocalGatewayId", "CoreNetworkArn")


def route_table(r: _Rec) -> RouteTable:
    assoc = r.recs("Associations")
    routes = [Route(destination=x.text("DestinationCidrBlock") or x.text("DestinationIpv6CidrBlock"),
                    prefix_list_id=x.text("DestinationPrefixListId"), gateway_id=x.text("GatewayId"),
                    nat_gateway_id=x.text("NatGatewayId"), transit_gateway_id=x.text("TransitGatewayId"),
                    target=next((t for t in (x.text(k) for k in _OTHER_TARGETS) if t), None), state=x.text("State"))
              for x in r.recs("Routes")]
    return RouteTable(id=r.ident("RouteTableId"), vpc_id=r.text("VpcId"), main=any(a.flag("Main") for a in assoc),
                      subnet_ids=_unique(a.text("SubnetId") for a in assoc), routes=routes, tags=r.tags())


def vpc_endpoint(r: _Rec) -> VpcEndpoint:
    return VpcEndpoint(id=r.ident("VpcEndpointId"), endpoint_type=r.text("VpcEndpointType"),
                       service_name=r.text("ServiceName"), vpc_id=r.text("VpcId"), state=r.text("State"),
                       route_table_ids=r.texts("RouteTableIds"), subnet_ids=r.texts("SubnetIds"),
                       interface_ids=r.texts("NetworkInterfaceIds"), tags=r.tags())


def nat_gateway(r: _Rec) -> NatGateway:
    addrs = [NatAddress(interface_id=a.text("NetworkInterfaceId"), private_ip=a.text("PrivateIp"),
                        public_ip=a.text("PublicIp")) for a in r.recs("NatGatewayAddresses")]
    return NatGateway(id=r.ident("NatGatewayId"), vpc_id=r.text("VpcId"), subnet_id=r.text("SubnetId"),
                      state=r.text("State"), connectivity=r.text("ConnectivityType"), addresses=addrs, tags=r.tags())


def build(outputs: Mapping[str, list[Any]], source: str = "", gaps: Iterable[str] = (),
          collected_at: str | None = None) -> Snapshot:
    """A snapshot from describe outputs: kind -> its records, every page concatenated.

    Raises ShapeError for a record that is not AWS's shape (the callers name the file or call).
    """
    def recs(kind: str) -> list[_Rec]:
        return [_Rec(v, f"{kind}[{i}]") for i, v in enumerate(outputs.get(kind) or [])]

    enis = [interface(r) for r in recs("NetworkInterfaces")]
    insts: list[Instance] = []
    for r in recs("Reservations"):
        got, inst_enis = instances(r)
        insts.extend(got)
        enis.extend(inst_enis)  # DescribeNetworkInterfaces' own record wins (first kept)
    return Snapshot(
        source=source, collected_at=collected_at, kinds=[k for k in KINDS if k in outputs],
        gaps=list(gaps) or [f"no {k} ({COMMANDS[k]}): {_WITHOUT[k]}" for k in KINDS if k not in outputs],
        interfaces=_first_by_id(enis), instances=_first_by_id(insts),
        subnets=_first_by_id(subnet(r) for r in recs("Subnets")),
        route_tables=_first_by_id(route_table(r) for r in recs("RouteTables")),
        vpc_endpoints=_first_by_id(vpc_endpoint(r) for r in recs("VpcEndpoints")),
        nat_gateways=_first_by_id(nat_gateway(r) for r in recs("NatGateways")),
    )


# What the names lack without each output (a data-health line, not an error).
_WITHOUT = {
    "NetworkInterfaces": "only instances' and NAT gateways' own addresses are named",
    "Reservations": "instances are named by id, not by their Name tag",
    "Subnets": "no AZ ids",
    "RouteTables": "gateway-endpoint routes unknown",
    "VpcEndpoints": "endpoints are named without their service",
    "NatGateways": "NAT gateways are named by id, not by their Name tag",
}


def _first_by_id(items: Iterable[_T]) -> list[_T]:
    seen: dict[str, _T] = {}
    for item in items:
        seen.setdefault(item.id, item)
    return list(seen.values())


def read_dir(folder: Path) -> Snapshot:
    """The snapshot from the `aws ec2 describe-…` outputs saved as `*.json` in a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InventoryError(folder, "no such folder")
    files = sorted(p for p in folder.glob("*.json") if p.is_file())
    if not files:
        raise InventoryError(folder, "no *.json files (save the aws ec2 describe-… outputs there)")
    outputs: dict[str, list[Any]] = {}
    for path in files:
        data = _load(path)
        found = [k for k in KINDS if k in data]
        if not found:
            keys = ", ".join(sorted(map(str, data))[:5]) or "none"
            raise InventoryError(path, f"not an aws ec2 describe-… output: top-level keys {keys}; "
                                       f"expected one of {', '.join(KINDS)}")
        for kind in found:
            if not isinstance(data[kind], list):
                raise InventoryError(path, f"{kind}: expected a list, got {_kind(data[kind])}")
            try:  # check the records now, so the error names this file
                build({kind: data[kind]})
            except ShapeError as e:
                raise InventoryError(path, str(e)) from None
            outputs.setdefault(kind, []).extend(data[kind])
    return build(outputs, source=str(folder))


def _load(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    if not raw.strip():
        raise InventoryError(path, "empty file (did the aws command fail?)")
    # PowerShell's `>` writes UTF-16 with a byte-order mark; the CLI itself writes UTF-8.
    encoding = "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        data = json.loads(raw.decode(encoding))
    except UnicodeDecodeError as e:
        raise InventoryError(path, f"not text in {encoding}: {e.reason}") from None
    except json.JSONDecodeError as e:
        raise InventoryError(path, f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(data, dict):
        raise InventoryError(path, f"expected a JSON object with a NetworkInterfaces, Reservations, … key, "
                                   f"got {_kind(data)}")
    return data
