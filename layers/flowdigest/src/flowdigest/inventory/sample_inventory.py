"""The sample VPC's inventory, written as the six `aws ec2 describe-…` outputs the CLI prints.

`write_inventory(network, flow_logs, out)` takes the generator's Network (flowdigest.sample)
and the sample days it wrote, and learns each interface's addresses, instance and subnet
from the records themselves (an interface's egress records carry its own addresses), so the
inventory matches the days by construction. Instances are named after what they serve (the
port their ingress records are addressed to), app and API instances tagged with an
auto-scaling group. Public addresses come from 203.0.113.0/24 (TEST-NET-3), which no
sample record uses.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# What a private instance serves -> its name stem; the sample's roles use these ports.
_SERVES = {5432: "orders-db", 6379: "session-cache", 9092: "events-kafka", 9200: "catalog-search",
           8443: "checkout-api", 8125: "statsd", 8080: "web-app"}
_SCALED = ("web-app", "checkout-api")  # names that are an auto-scaling group's instances
_PUBLIC_NAMES = ("public-web-1", "bastion", "public-web-2", "legacy-ftp")  # Network's public order
# Prefix lists of the S3 and DynamoDB gateway endpoints (us-east-1's ids; the sample's region).
_PREFIX_LISTS = {"s3": "pl-63a5400a", "dynamodb": "pl-02cd2c6b"}
_COLUMNS = ["interface_id", "instance_id", "subnet_id", "flow_direction", "srcaddr", "dstport", "action"]


@dataclass
class _Seen:
    """What one interface's records say about it."""

    instance_id: str | None = None
    subnet_id: str | None = None
    addresses: Counter[str] = field(default_factory=Counter)  # egress source addresses
    served: Counter[int] = field(default_factory=Counter)  # accepted ingress, non-ephemeral ports


def _read(flow_logs: Path) -> dict[str, _Seen]:
    files = sorted(flow_logs.rglob("*.parquet")) if flow_logs.is_dir() else [flow_logs]
    t = pa.concat_tables([pq.read_table(f, columns=_COLUMNS) for f in files])
    t = t.filter(pc.is_valid(t["interface_id"]))
    seen: dict[str, _Seen] = {}
    for r in t.group_by("interface_id").aggregate([("instance_id", "max"), ("subnet_id", "max")]).to_pylist():
        seen[r["interface_id"]] = _Seen(r["instance_id_max"], r["subnet_id_max"])
    egress = t.filter(pc.and_(pc.equal(t["flow_direction"], "egress"), pc.is_valid(t["srcaddr"])))
    for r in egress.group_by(["interface_id", "srcaddr"]).aggregate([("srcaddr", "count")]).to_pylist():
        seen[r["interface_id"]].addresses[r["srcaddr"]] = r["srcaddr_count"]
    port = t["dstport"]
    served = t.filter(pc.and_(pc.and_(pc.equal(t["flow_direction"], "ingress"), pc.equal(t["action"], "ACCEPT")),
                              pc.and_(pc.greater(port, 0), pc.less(port, 32768))))
    for r in served.group_by(["interface_id", "dstport"]).aggregate([("dstport", "count")]).to_pylist():
        seen[r["interface_id"]].served[r["dstport"]] = r["dstport_count"]
    return seen


def _id(prefix: str, *parts: str) -> str:
    """A stable AWS-style id (17 hex digits) derived from the network, so reruns agree."""
    return f"{prefix}-0{hashlib.sha256('/'.join(parts).encode()).hexdigest()[:16]}"


def _tags(**kv: str) -> list[dict[str, str]]:
    return [{"Key": k.replace("__", ":"), "Value": v} for k, v in kv.items()]


def write_inventory(network: Any, flow_logs: Path, out: Path, *, gateway_endpoint: bool = True,
                    nat_traffic: bool = True) -> list[Path]:
    """Write the six describe outputs for the sample `network` into `out`; return the files.

    `flow_logs`: a folder of the sample's Parquet files (one day is enough) or one file.
    `gateway_endpoint` / `nat_traffic`: the DayProfile switches of the same names (without
    NAT traffic the VPC has no NAT gateway; the endpoint routes follow the generator's).
    """
    seen = _read(Path(flow_logs))
    net = network
    subnets = dict(net.subnets)  # id -> (cidr, az id, public?)
    az_names = {az: f"{net.region}{'abcdef'[i]}" for i, az in enumerate(sorted({v[1] for v in subnets.values()}))}
    missing = [e for e in (*net.private_instance_enis, *net.public_instance_enis, *net.alb_enis) if e not in seen]
    if missing:
        raise ValueError(f"{len(missing)} sample interface(s) have no record in {flow_logs} (e.g. {missing[0]}): "
                         "give a fuller day")

    public_ips = (f"203.0.113.{i}" for i in range(10, 250))
    nat_id = _id("nat", net.vpc_id, net.nat_eni)
    enis: list[dict[str, Any]] = []
    reservations: list[dict[str, Any]] = []

    def eni_record(eni: str, *, description: str = "", public: bool = False, subnet_id: str | None = None,
                   private_ip: str | None = None, **extra: Any) -> dict[str, Any]:
        s = seen.get(eni, _Seen())
        subnet_id = s.subnet_id or subnet_id
        addrs = [a for a, _ in s.addresses.most_common()]
        # own addresses only: the NAT gateway's egress records also carry the addresses it forwards
        v4 = [a for a in addrs if ipaddress.ip_address(a).version == 4 and _in_subnet(a, subnets, subnet_id)]
        v6 = [a for a in addrs if ipaddress.ip_address(a).version == 6]
        primary = private_ip or (v4[0] if v4 else None)
        assoc = {"PublicIp": next(public_ips), "IpOwnerId": "amazon"} if public else None
        private = [{"Primary": True, "PrivateIpAddress": primary, **({"Association": assoc} if assoc else {})}
                   ] if primary else []
        rec: dict[str, Any] = {
            "NetworkInterfaceId": eni, "Status": "in-use", "VpcId": net.vpc_id, "SubnetId": subnet_id,
            "AvailabilityZone": az_names.get(subnets[subnet_id][1]) if subnet_id in subnets else None,
            "Description": description, "InterfaceType": "interface", "OwnerId": net.account_id,
            "RequesterManaged": False, "PrivateIpAddress": primary, "PrivateIpAddresses": private,
            "Ipv6Addresses": [{"Ipv6Address": a} for a in v6], "TagSet": [],
        }
        if assoc:
            rec["Association"] = assoc
        rec.update(extra)
        return rec

    counts: Counter[str] = Counter()
    for eni in net.private_instance_enis:
        served = seen[eni].served.most_common(1)
        stem = _SERVES.get(served[0][0], "worker") if served else "worker"
        counts[stem] += 1
        tags = {"Name": f"{stem}-{counts[stem]}"}
        if stem in _SCALED:
            tags["aws:autoscaling:groupName"] = stem
        enis.append(_instance_eni(eni_record(eni, description="Primary network interface"), seen[eni], net))
        reservations.append(_reservation(seen[eni], net, tags))
    for k, eni in enumerate(net.public_instance_enis):
        name = _PUBLIC_NAMES[k] if len(net.public_instance_enis) == len(_PUBLIC_NAMES) else f"public-host-{k + 1}"
        enis.append(_instance_eni(eni_record(eni, description="Primary network interface", public=True),
                                  seen[eni], net))
        reservations.append(_reservation(seen[eni], net, {"Name": name}))
    for eni in net.alb_enis:
        enis.append(eni_record(eni, description=f"ELB app/web-alb/{_id('x', net.vpc_id, 'alb')[2:18]}", public=True,
                               RequesterManaged=True, RequesterId="amazon-elb",
                               Attachment={"Status": "attached", "DeviceIndex": 1, "InstanceOwnerId": "amazon-elb"}))

    nat_gateways: list[dict[str, Any]] = []
    nat_subnet = next((sid for sid, (_, az, pub) in subnets.items() if pub and az == net.nat_az), None)
    if nat_traffic:
        rec = eni_record(net.nat_eni, description=f"Interface for NAT Gateway {nat_id}", public=True,
                         InterfaceType="nat_gateway", RequesterManaged=True, RequesterId="amazon-aws",
                         subnet_id=nat_subnet, private_ip=net.nat_ip)
        enis.append(rec)
        nat_gateways.append({
            "NatGatewayId": nat_id, "VpcId": net.vpc_id, "SubnetId": rec["SubnetId"], "State": "available",
            "ConnectivityType": "public", "Tags": _tags(Name="egress-nat"),
            "NatGatewayAddresses": [{"NetworkInterfaceId": net.nat_eni, "PrivateIp": rec["PrivateIpAddress"],
                                     "PublicIp": rec["Association"]["PublicIp"], "IsPrimary": True,
                                     "AllocationId": _id("eipalloc", nat_id), "Status": "succeeded"}],
        })

    tables, endpoints = _routes(net, subnets, nat_id if nat_traffic else None, gateway_endpoint, nat_traffic)
    subnet_recs = [{"SubnetId": sid, "VpcId": net.vpc_id, "CidrBlock": cidr, "AvailabilityZone": az_names[az],
                    "AvailabilityZoneId": az, "State": "available", "MapPublicIpOnLaunch": pub,
                    "Tags": _tags(Name=f"{'public' if pub else 'private'}-{az_names[az][-1]}")}
                   for sid, (cidr, az, pub) in subnets.items()]
    outputs = {"network-interfaces.json": {"NetworkInterfaces": enis},
               "instances.json": {"Reservations": reservations},
               "subnets.json": {"Subnets": subnet_recs},
               "route-tables.json": {"RouteTables": tables},
               "vpc-endpoints.json": {"VpcEndpoints": endpoints},
               "nat-gateways.json": {"NatGateways": nat_gateways}}
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, body in outputs.items():
        path = out / name
        path.write_text(json.dumps(body, indent=4) + "\n")  # the CLI's own layout: 4-space JSON
        paths.append(path)
    return paths


def _in_subnet(address: str, subnets: dict[str, tuple[str, str, bool]], subnet_id: str | None) -> bool:
    return subnet_id not in subnets or ipaddress.ip_address(address) in ipaddress.ip_network(subnets[subnet_id][0])


def _instance_eni(rec: dict[str, Any], s: _Seen, net: Any) -> dict[str, Any]:
    rec["Attachment"] = {"AttachmentId": _id("eni-attach", rec["NetworkInterfaceId"]), "DeviceIndex": 0,
                         "InstanceId": s.instance_id, "InstanceOwnerId": net.account_id, "Status": "attached",
                         "DeleteOnTermination": True}
    return rec


def _reservation(s: _Seen, net: Any, tags: dict[str, str]) -> dict[str, Any]:
    return {"ReservationId": _id("r", str(s.instance_id)), "OwnerId": net.account_id, "Groups": [],
            "Instances": [{"InstanceId": s.instance_id, "State": {"Code": 16, "Name": "running"},
                           "SubnetId": s.subnet_id, "VpcId": net.vpc_id,
                           "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]}


def _routes(net: Any, subnets: dict[str, tuple[str, str, bool]], nat_id: str | None, gateway_endpoint: bool,
            nat_traffic: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A main table for the public subnets (to the internet gateway), one per private subnet
    (to the NAT gateway), the gateway-endpoint routes where the generator sends S3 that way."""
    igw = _id("igw", net.vpc_id)
    local = {"DestinationCidrBlock": _vpc_cidr(subnets), "GatewayId": "local", "State": "active"}
    public = [sid for sid, v in subnets.items() if v[2]]
    main_id = _id("rtb", net.vpc_id, "main")
    tables = [{"RouteTableId": main_id, "VpcId": net.vpc_id, "Tags": _tags(Name="public"),
               "Associations": [{"Main": True, "RouteTableId": main_id, "RouteTableAssociationId":
                                 _id("rtbassoc", main_id)}]
               + [{"Main": False, "SubnetId": sid, "RouteTableId": main_id,
                   "RouteTableAssociationId": _id("rtbassoc", sid)} for sid in public],
               "Routes": [local, {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw, "State": "active"}]}]
    endpoint_ids = {svc: _id("vpce", net.vpc_id, svc) for svc in _PREFIX_LISTS}
    with_endpoint: list[str] = []
    for sid, (_, az, pub) in subnets.items():
        if pub:
            continue
        tid = _id("rtb", sid)
        routes: list[dict[str, Any]] = [local]
        if nat_id:
            routes.append({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat_id, "State": "active"})
        # the generator: with NAT traffic only the endpoint AZ's subnet has the route, without it both
        if gateway_endpoint and (az == net.endpoint_az or not nat_traffic):
            with_endpoint.append(tid)
            routes += [{"DestinationPrefixListId": pl, "GatewayId": endpoint_ids[svc], "State": "active",
                        "Origin": "CreateRoute"} for svc, pl in _PREFIX_LISTS.items()]
        tables.append({"RouteTableId": tid, "VpcId": net.vpc_id, "Tags": _tags(Name=f"private-{az}"),
                       "Associations": [{"Main": False, "SubnetId": sid, "RouteTableId": tid,
                                         "RouteTableAssociationId": _id("rtbassoc", sid)}],
                       "Routes": routes})
    endpoints = [{"VpcEndpointId": endpoint_ids[svc], "VpcEndpointType": "Gateway", "VpcId": net.vpc_id,
                  "ServiceName": f"com.amazonaws.{net.region}.{svc}", "State": "available",
                  "RouteTableIds": with_endpoint, "SubnetIds": [], "NetworkInterfaceIds": [], "Tags": []}
                 for svc in _PREFIX_LISTS] if with_endpoint else []
    return tables, endpoints


def _vpc_cidr(subnets: dict[str, tuple[str, str, bool]]) -> str:
    """The smallest block holding every subnet (the sample's is its VPC CIDR, 10.0.0.0/16)."""
    nets = [ipaddress.IPv4Network(c) for c, _, _ in subnets.values()]
    block = nets[0]
    while not all(n.subnet_of(block) for n in nets):
        block = block.supernet()
    return str(block)
