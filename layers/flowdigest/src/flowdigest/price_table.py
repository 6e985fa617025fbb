"""List prices by region (USD), each with the AWS page that publishes it and the stored text that stated it.

A figure is None where no stored document stated it for that region: flowdigest does not guess a
price. `--prices FILE` (or FLOWDIGEST_PRICES_OVERRIDE in AWS) supplies the missing ones.
docs/prices.md shows this table; tests/unit/test_pricing.py checks every region has every key.
"""

from __future__ import annotations

# The AWS pricing page for each key: the authority, and where to check or refresh a figure.
SOURCES: dict[str, str] = {
    "nat_per_gb": "https://aws.amazon.com/vpc/pricing/",
    "nat_per_hour": "https://aws.amazon.com/vpc/pricing/",
    "cross_az_per_gb": "https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer_within_the_same_AWS_Region",
    "internet_egress_per_gb": "https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer",
    "endpoint_per_hour_per_az": "https://aws.amazon.com/privatelink/pricing/",
    "endpoint_per_gb": "https://aws.amazon.com/privatelink/pricing/",
    "athena_per_tb": "https://aws.amazon.com/athena/pricing/",
    "flow_logs_s3_per_gb": "https://aws.amazon.com/cloudwatch/pricing/",
    "flow_logs_parquet_per_gb": "https://aws.amazon.com/cloudwatch/pricing/",
}

# The stored text that stated each figure (AWS's own page where the store had it, else a page quoting it).
_AWS_PRIVATELINK = "https://aws.amazon.com/privatelink/pricing/"  # "First 1 PB $0.01" per GB, any region
_AWS_ATHENA = "https://aws.amazon.com/jp/athena/pricing/"  # "$5 per TB scanned", one figure, no region named
_CROSS_AZ = "https://basavytix.com/blog/aws-cross-az-data-transfer-cost"  # "$0.01 per GB in each direction"
EVIDENCE: dict[str, str] = {
    "us-east-1 nat": "https://basavytix.com/blog/aws-nat-gateway-pricing",  # "These are the us-east-1 rates"
    "us-east-1 internet_egress_per_gb": "https://cloudpipelines.pages.dev/guides/aws-nat-gateway-pricing-2026/",
    "us-east-1 endpoint_per_hour_per_az": "https://c3x.dev/resources/aws/aws_vpc_endpoint",
    # aws-samples/sample-cfm-tips-mcp, services/cloudwatch_service_vended_log.py: "vended to S3 ... $0.25/GB"
    "us-east-1 flow_logs_s3_per_gb": "https://github.com/aws-samples/sample-cfm-tips-mcp",
    "us-west-2 nat": "https://cloudpipelines.pages.dev/guides/aws-nat-gateway-pricing-2026/",  # "~$0.045" Oregon
    # a stored table of prices with sources: "$0.01/h per endpoint-AZ (usage type USW2-VpcEndpoint-Hours)"
    "us-west-2 endpoint_per_hour_per_az": "https://aws.amazon.com/privatelink/pricing/",
    # AWS's own Price List offer, as excerpted verbatim in a stored capture: EU-NatGateway-Hours/-Bytes $0.048
    "eu-west-1 nat": "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/20260925174521/eu-west-1/index.json",
    # a stored Go test fixture of Price List rows ("the first real eu-west-1 tier ($0.09, 0-10240 GB)");
    # the store did not name its repository, so this points at AWS's page for the same figure
    "eu-west-1 internet_egress_per_gb": "https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer",
    "us-west-2 internet_egress_per_gb":
        "https://awscostguide.notion.site/Regions-AZ-and-data-transfer-costs-47d9c039e623473dbe989bd9babbfe2a",
    "ap-northeast-1 nat": "https://dev.classmethod.jp/articles/reduce-unnecessary-costs-for-nat-gateway",  # 2020
    "ap-northeast-1 flow_logs_s3_per_gb": "https://zenn.dev/team_delta/articles/0b581e29f87e7b",
    "ap-northeast-1 flow_logs_parquet_per_gb": "https://zenn.dev/team_delta/articles/0b581e29f87e7b",
    "ap-southeast-2 internet_egress_per_gb": "https://chengqing.dev/en/2020/01/23/aws-data-transfer/",  # 2020
}


def _region(nat: float | None, egress: float | None, endpoint_hour: float | None = None,
            vended_s3: float | None = None, parquet: float | None = None) -> dict[str, float | None]:
    # cross-AZ, the endpoint's first-tier per GB and Athena were stated without a region qualifier.
    return {
        "nat_per_gb": nat, "nat_per_hour": nat,  # every stored statement gave both as the same figure
        "cross_az_per_gb": 0.01, "internet_egress_per_gb": egress,
        "endpoint_per_hour_per_az": endpoint_hour, "endpoint_per_gb": 0.01, "athena_per_tb": 5.0,
        "flow_logs_s3_per_gb": vended_s3, "flow_logs_parquet_per_gb": parquet,
    }


# None = not found in the stored documents for that region (see docs/prices.md for what is missing).
REGIONS: dict[str, dict[str, float | None]] = {
    "us-east-1": _region(nat=0.045, egress=0.09, endpoint_hour=0.01, vended_s3=0.25),  # Parquet: not found
    "us-west-2": _region(nat=0.045, egress=0.09, endpoint_hour=0.01),  # vended logs: not found
    "eu-west-1": _region(nat=0.048, egress=0.09),  # endpoint hour, vended logs: not found
    "eu-central-1": _region(nat=None, egress=None),  # only a range "$0.048-$0.052" for Europe was stored
    "ap-northeast-1": _region(nat=0.062, egress=None, vended_s3=0.38, parquet=0.056),
    "ap-southeast-2": _region(nat=None, egress=0.114),
}


def evidence_for(region: str, key: str) -> str | None:
    """The stored text that stated `region`'s `key`, or None when the figure is missing."""
    if REGIONS[region][key] is None:
        return None
    if key == "cross_az_per_gb":
        return _CROSS_AZ
    if key == "endpoint_per_gb":
        return _AWS_PRIVATELINK
    if key == "athena_per_tb":
        return _AWS_ATHENA
    group = "nat" if key.startswith("nat_") else key
    return EVIDENCE[f"{region} {group}"]
