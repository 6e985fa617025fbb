-- Bytes sent to S3 and DynamoDB, by the path they took. The rules (README, "How the
-- gateway-endpoint path is decided"):
--  * NAT gateway interfaces are the ones with a record that has no instance id (the rollup
--    makes '-' NULL) and a packet address that differs from the record's address
--    (pkt_srcaddr <> srcaddr or pkt_dstaddr <> dstaddr: the rollup's src_translated /
--    dst_translated). An EKS node's pods differ too, but the node's records carry its
--    instance id; without the instance-id field EKS nodes cannot be told apart. With the
--    day's inventory, its NAT gateway interfaces instead (`{{nat_record}}`, queries.py).
--  * On a NAT gateway interface only the public leg counts (record addresses equal the
--    packet addresses): the private leg is the same bytes again. Bytes both to and from
--    the service count there, as the NAT gateway processes (and bills) both.
--  * On other interfaces, egress records to the service are classified by traffic_path:
--    7 gateway endpoint, 8 internet gateway, 2 gateway endpoint or internet gateway
--    (older instances report both as 2), 3-6 other; 1 (through a resource in the VPC)
--    is the NAT gateway, counted here only when no NAT gateway interface is logged (else
--    the NAT interface's own records count those bytes); NULL is unknown.
--
-- The two facts that need other records come from the rollup's small ingress set (a row per
-- interface and own address, daily_rollup.sql), not from windows over the flows set, which a
-- big day's flows set does not fit in memory for: which interfaces are NAT gateways'
-- (on_nat), and whether any record is translated, i.e. whether any NAT gateway interface is
-- logged at all (nat_logged). Athena inlines WITH queries: the ingress set is read twice
-- (its few columns), the flows set once.
WITH interfaces AS (
    -- accepted records; a format without action has none known to be rejected: all count.
    -- A record with no interface_id is never on a NAT gateway interface, but its translated
    -- records still mean a NAT gateway interface is logged
    SELECT interface_id, COALESCE(bool_or({nat_record}), false) AS on_nat
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'ingress' AND COALESCE(log_status, 'OK') = 'OK'
      AND COALESCE("action", 'ACCEPT') = 'ACCEPT'
    GROUP BY interface_id
),
ok AS (
    SELECT
        r.pkt_dst_aws_service, r.pkt_src_aws_service, r.traffic_path, r.flow_direction,
        r.src_translated, r.dst_translated, r.bytes, r.flows,
        r.interface_id IS NOT NULL AND COALESCE(i.on_nat, false) AS on_nat,
        n.nat_logged
    FROM {rollup} AS r
    LEFT JOIN interfaces AS i ON i.interface_id = r.interface_id
    CROSS JOIN (SELECT COALESCE(bool_or(on_nat), false) AS nat_logged FROM interfaces) AS n
    WHERE r.dt = '{date}' AND r.rollup_set = 'flows' AND COALESCE(r.log_status, 'OK') = 'OK'
      AND COALESCE(r."action", 'ACCEPT') = 'ACCEPT'
      AND (r.pkt_dst_aws_service IN ('S3', 'DYNAMODB') OR r.pkt_src_aws_service IN ('S3', 'DYNAMODB'))
),
classified AS (
    SELECT
        CASE WHEN pkt_dst_aws_service IN ('S3', 'DYNAMODB')
             THEN pkt_dst_aws_service ELSE pkt_src_aws_service END AS service,
        CASE
            WHEN on_nat THEN 'nat'
            WHEN traffic_path = 7 THEN 'gateway_endpoint'
            WHEN traffic_path = 8 THEN 'internet_gateway'
            WHEN traffic_path = 2 THEN 'gateway_endpoint_or_internet_gateway'
            WHEN traffic_path = 1 AND NOT nat_logged THEN 'nat'
            WHEN traffic_path = 1 THEN 'counted_on_nat_interface'
            WHEN traffic_path BETWEEN 3 AND 6 THEN 'other'
            ELSE 'unknown'
        END AS path,
        CASE WHEN pkt_dst_aws_service IN ('S3', 'DYNAMODB')
             THEN 'to_service' ELSE 'from_service' END AS direction,
        bytes,
        flows
    FROM ok
    WHERE
        (
            on_nat
            AND NOT COALESCE(src_translated OR dst_translated, false)
            AND (pkt_dst_aws_service IN ('S3', 'DYNAMODB') OR pkt_src_aws_service IN ('S3', 'DYNAMODB'))
        )
        OR (
            NOT on_nat
            AND pkt_dst_aws_service IN ('S3', 'DYNAMODB')
            AND (flow_direction IS NULL OR flow_direction = 'egress')
        )
)
SELECT service, path, direction, SUM(bytes) AS bytes, SUM(flows) AS flows
FROM classified
WHERE path <> 'counted_on_nat_interface'
GROUP BY service, path, direction
ORDER BY service, path, direction
