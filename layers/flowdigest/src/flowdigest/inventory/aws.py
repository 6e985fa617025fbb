"""The inventory from the EC2 API: six read-only Describe calls, every page.

`collect(ec2)` never raises for missing permission or throttling: the report goes on with
"names unavailable: …" (no interfaces) or with a gap line (an optional output missing).
The client should retry throttling with backoff first: `client()` makes one that does
(botocore's adaptive retry mode).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flowdigest.inventory.awsjson import COMMANDS, ShapeError, build
from flowdigest.inventory.models import KINDS, Snapshot
from flowdigest.sources.errors import one_line

# kind -> (paginated operation, the IAM action the policy must allow)
CALLS: dict[str, tuple[str, str]] = {
    "NetworkInterfaces": ("describe_network_interfaces", "ec2:DescribeNetworkInterfaces"),
    "Reservations": ("describe_instances", "ec2:DescribeInstances"),
    "Subnets": ("describe_subnets", "ec2:DescribeSubnets"),
    "RouteTables": ("describe_route_tables", "ec2:DescribeRouteTables"),
    "VpcEndpoints": ("describe_vpc_endpoints", "ec2:DescribeVpcEndpoints"),
    "NatGateways": ("describe_nat_gateways", "ec2:DescribeNatGateways"),
}
IAM_ACTIONS: tuple[str, ...] = tuple(a for _, a in CALLS.values())
# Each call's largest page (its MaxResults limit): an unpaginated DescribeNetworkInterfaces
# fails in a large account, and fewer calls mean less throttling.
PAGE_SIZE = {"describe_route_tables": 100}
_DEFAULT_PAGE = 1000

_DENIED = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "AuthFailure"}
_THROTTLED = {"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException"}


def client(region: str | None = None, max_attempts: int = 8) -> Any:
    """An EC2 client that backs off on throttling (adaptive mode also paces its own calls)."""
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"mode": "adaptive", "total_max_attempts": max_attempts}, connect_timeout=5, read_timeout=30)
    return boto3.client("ec2", region_name=region, config=cfg)


def collect(ec2: Any) -> Snapshot:
    """The account/region's snapshot; a failed call degrades it instead of raising."""
    from botocore.exceptions import BotoCoreError, ClientError

    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    outputs: dict[str, list[Any]] = {}
    gaps: list[str] = []
    for kind in KINDS:
        op, action = CALLS[kind]
        try:
            pages = ec2.get_paginator(op).paginate(PaginationConfig={"PageSize": PAGE_SIZE.get(op, _DEFAULT_PAGE)})
            outputs[kind] = [r for page in pages for r in page.get(kind, [])]
        except ClientError as e:
            why = _why(e, action)
        except BotoCoreError as e:  # endpoint unreachable, credentials missing, …
            why = f"{action} failed: {one_line(str(e), 200)}"
        else:
            continue
        if kind == "NetworkInterfaces":  # without interfaces no address has a name
            return Snapshot.unavailable(f"names unavailable: {why}", source="aws")
        gaps.append(f"no {kind} ({COMMANDS[kind]}): {why}")
    try:
        return build(outputs, source="aws", gaps=gaps, collected_at=started)
    except ShapeError as e:  # the API answered in a shape this code does not know
        return Snapshot.unavailable(f"names unavailable: unexpected {e}", source="aws")


def _why(e: Any, action: str) -> str:
    code = str(e.response.get("Error", {}).get("Code", ""))
    if code in _DENIED:
        return f"{action} denied ({code}): the role needs it"
    if code in _THROTTLED:
        return f"{action} throttled ({code}) after retries"
    msg = one_line(str(e.response.get("Error", {}).get("Message", "")), 200)
    return f"{action} failed ({code or 'error'}): {msg}"
