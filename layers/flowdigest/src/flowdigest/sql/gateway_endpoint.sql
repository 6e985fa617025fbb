-- Bytes sent to S3 and DynamoDB, by the path they took. The rules (README, "How the
-- gateway-endpoint path is decided"):
--  * NAT gateway interfaces are the ones whose records carry a packet address that differs
--    from the record's address (pkt_srcaddr <> srcaddr or pkt_dstaddr <> dstaddr: the
--    rollup's src_translated / dst_translated).
--  * On a NAT gateway interface only the public leg counts (record addresses equal the
--    packet addresses): the private leg is the same bytes again. Bytes both to and from
--    the service count there, as the NAT gateway processes (and bills) both.
--  * On other interfaces, egress records to the service are classified by traffic_path:
--    7 gateway endpoint, 8 internet gateway, 2 gateway endpoint or internet gateway
--    (older instances report both as 2), 3-6 other; 1 (through a resource in the VPC)
--    is the NAT gateway, counted here only when no NAT gateway interface is logged (else
--    the NAT interface's own records count those bytes); NULL is unknown.
WITH ok AS (
    SELECT * FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'flows' AND log_status = 'OK' AND "action" = 'ACCEPT'
),
nat_interfaces AS (
    SELECT DISTINCT interface_id FROM ok
    WHERE dst_translated OR src_translated
),
nat_logged AS (
    SELECT COUNT(*) AS n FROM nat_interfaces
),
classified AS (
    SELECT
        CASE WHEN ok.pkt_dst_aws_service IN ('S3', 'DYNAMODB')
             THEN ok.pkt_dst_aws_service ELSE ok.pkt_src_aws_service END AS service,
        CASE
            WHEN n.interface_id IS NOT NULL THEN 'nat'
            WHEN ok.traffic_path = 7 THEN 'gateway_endpoint'
            WHEN ok.traffic_path = 8 THEN 'internet_gateway'
            WHEN ok.traffic_path = 2 THEN 'gateway_endpoint_or_internet_gateway'
            WHEN ok.traffic_path = 1 AND l.n = 0 THEN 'nat'
            WHEN ok.traffic_path = 1 THEN 'counted_on_nat_interface'
            WHEN ok.traffic_path BETWEEN 3 AND 6 THEN 'other'
            ELSE 'unknown'
        END AS path,
        CASE WHEN ok.pkt_dst_aws_service IN ('S3', 'DYNAMODB')
             THEN 'to_service' ELSE 'from_service' END AS direction,
        ok.bytes,
        ok.flows
    FROM ok
    CROSS JOIN nat_logged AS l
    LEFT JOIN nat_interfaces AS n ON ok.interface_id = n.interface_id
    WHERE
        (
            n.interface_id IS NOT NULL
            AND NOT COALESCE(ok.src_translated OR ok.dst_translated, false)
            AND (ok.pkt_dst_aws_service IN ('S3', 'DYNAMODB') OR ok.pkt_src_aws_service IN ('S3', 'DYNAMODB'))
        )
        OR (
            n.interface_id IS NULL
            AND ok.pkt_dst_aws_service IN ('S3', 'DYNAMODB')
            AND (ok.flow_direction IS NULL OR ok.flow_direction = 'egress')
        )
)
SELECT service, path, direction, SUM(bytes) AS bytes, SUM(flows) AS flows
FROM classified
WHERE path <> 'counted_on_nat_interface'
GROUP BY service, path, direction
ORDER BY service, path, direction
