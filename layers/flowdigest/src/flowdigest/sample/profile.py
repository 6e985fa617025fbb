"""What a generated day contains (DayProfile) and the VPC it describes (Network)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DayProfile:
    """What a generated day contains; the switches produce the edge-case days tests need."""

    nat_traffic: bool = True  # False: no NAT gateway records at all (and nothing via it)
    rejects: bool = True  # False: no REJECT records
    gateway_endpoint: bool = True  # False: S3/DynamoDB all go through the NAT gateway
    nodata: bool = True  # False: no NODATA/SKIPDATA records
    missing_hours: tuple[int, ...] = ()  # UTC hours with no file delivered
    files_per_hour: int | None = None  # None: 2-6 by volume, as delivery does
    new_talkers: int = 0  # east-west pairs and external addresses only this day has
    # The network layout.
    account_id: str = "123456789012"
    region: str = "us-east-1"
    vpc_cidr: str = "10.0.0.0/16"
    az_ids: tuple[str, str] = ("use1-az1", "use1-az2")
    private_instances: int = 40
    # GZIP level: it does not show in the format; 1 writes ~6x faster than 9 for ~4% more bytes
    compression_level: int = 1


@dataclass(frozen=True)
class Network:
    """The generated VPC, for tests and for readers who want to know what the day holds."""

    account_id: str
    region: str
    vpc_id: str
    flow_log_id: str  # fl-...
    subnets: Mapping[str, tuple[str, str, bool]]  # subnet id -> (CIDR, AZ id, public?)
    nat_eni: str
    nat_ip: str
    nat_az: str
    alb_enis: tuple[str, ...]  # the internet-facing load balancer, one ENI per AZ
    public_instance_enis: tuple[str, ...]
    private_instance_enis: tuple[str, ...]
    non_nitro_enis: tuple[str, ...]  # report traffic_path 2 and use 600 s windows
    endpoint_az: str  # private subnet whose route table has the S3/DynamoDB gateway endpoint
    eks_node_eni: str  # a private instance that is an EKS node: its pods' packet addresses differ
