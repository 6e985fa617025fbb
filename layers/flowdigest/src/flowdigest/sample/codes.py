"""The codes the generator uses inside its arrays, and the public AWS ranges it draws from."""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

Arr = npt.NDArray[Any]

# Codes used inside the generator; turned into AWS's strings when a file is written.
INGRESS, EGRESS = 0, 1
ACCEPT, REJECT = 0, 1
OK, NODATA, SKIPDATA = 0, 1, 2
SERVICES: tuple[str, ...] = ("S3", "DYNAMODB", "EC2", "AMAZON", "CLOUDFRONT")
S3, DYNAMODB, EC2, AMAZON, CLOUDFRONT = range(5)

# traffic-path codes (AWS: egress records only; 7 and 8 on Nitro instances only).
PATH_IN_VPC, PATH_IGW_OR_GWE, PATH_GATEWAY_ENDPOINT, PATH_IGW = 1, 2, 7, 8

# Public ranges AWS publishes in ip-ranges.json (us-east-1) that the sample draws from.
S3_CIDRS = ("52.216.0.0/15", "3.5.0.0/19")
DYNAMODB_CIDRS = ("3.218.180.0/22",)
EC2_CIDRS = ("3.80.0.0/12", "54.144.0.0/12", "44.192.0.0/11")
AMAZON_CIDRS = ("52.46.128.0/19", "52.119.160.0/20")
CLOUDFRONT_CIDRS = ("13.32.0.0/15", "18.160.0.0/15")

SCAN_PORTS = (22, 23, 3389, 445, 5900, 8080, 1433, 3306, 6379, 80, 25, 8443)
