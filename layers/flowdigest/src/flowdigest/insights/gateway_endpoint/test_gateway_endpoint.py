"""gateway_endpoint's query, from raw records through the rollup: S3 / DynamoDB bytes by path."""

from __future__ import annotations

from flowdigest.insights.testing import run


def _egress(service: str, path: int | None, nbytes: int, direction: str | None = "egress") -> dict:
    return {"interface_id": "eni-app", "srcaddr": "10.0.1.5", "dstaddr": "52.216.1.1",
            "pkt_srcaddr": "10.0.1.5", "pkt_dstaddr": "52.216.1.1", "pkt_dst_aws_service": service,
            "traffic_path": path, "flow_direction": direction, "bytes": nbytes, "packets": 1, "action": "ACCEPT"}


def test_bytes_by_service_and_path() -> None:
    rows = run("gateway_endpoint", record_rows=[
        _egress("S3", 7, 1000),
        _egress("S3", 7, 24),
        _egress("S3", 8, 300),
        _egress("DYNAMODB", None, 200),
        _egress("S3", 7, 5000, direction="ingress"),  # ingress on the instance: not counted
        _egress("EC2", 8, 70),  # neither service
    ])
    assert rows == [
        {"service": "DYNAMODB", "path": "unknown", "direction": "to_service", "bytes": 200, "flows": 1},
        {"service": "S3", "path": "gateway_endpoint", "direction": "to_service", "bytes": 1024, "flows": 2},
        {"service": "S3", "path": "internet_gateway", "direction": "to_service", "bytes": 300, "flows": 1},
    ]
