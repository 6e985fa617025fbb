"""Seeded, realistic sample days of VPC Flow Logs, written as AWS delivers them to S3 as Parquet.

One VPC (10.0.0.0/16, two AZs, a public and a private subnet in each) with instances in the
private subnets, a few public instances, an internet-facing load balancer and one NAT
gateway. The day holds east-west traffic (heavy-tailed: a few pairs dominate), internet
traffic through the NAT gateway (both of its legs on its ENI), S3/DynamoDB through the NAT
gateway and through a gateway endpoint, IGW traffic from public instances, scanners being
rejected, a diurnal curve, and NODATA/SKIPDATA records. Record semantics follow the AWS VPC
user guide ("Flow log records", "Flow log record examples"); see `generate_day` for the
exact field values per ENI.

Everything is vectorised numpy, one file at a time, so 30M records a day run in bounded
memory. Each file has its own random stream derived from (seed, day, hour, file), so a file's
content depends only on those and the profile.

The modules: `profile` (DayProfile, Network), `network` (the VPC, address pool and talker
populations of a seed), `traffic` (the categories of records and one file's mix), `records`
(a conversation's records on each ENI), `writer` (a file as AWS's Parquet), `days` (a day's
plan and its files); `codes`, `addresses` and `draws` are what they share. The S3 keys come
from flowdigest.s3layout.

    flowdigest sample --out DIR --date 2024-05-14 --days 8 --records 200000
"""

from flowdigest.sample.codes import (
    AMAZON_CIDRS,
    CLOUDFRONT_CIDRS,
    DYNAMODB_CIDRS,
    EC2_CIDRS,
    S3_CIDRS,
    SCAN_PORTS,
    SERVICES,
)
from flowdigest.sample.days import generate_day, generate_days, hour_prefix
from flowdigest.sample.network import network
from flowdigest.sample.profile import DayProfile, Network
from flowdigest.sample.writer import COLUMNS, SCHEMA

__all__ = [
    "AMAZON_CIDRS", "CLOUDFRONT_CIDRS", "COLUMNS", "DYNAMODB_CIDRS", "EC2_CIDRS", "S3_CIDRS", "SCAN_PORTS",
    "SCHEMA", "SERVICES", "DayProfile", "Network", "generate_day", "generate_days", "hour_prefix", "network",
]
