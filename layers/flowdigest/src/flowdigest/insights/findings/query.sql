-- The findings' candidates (issue 14): one row per kind and resource, with the bytes and
-- counts the findings are priced and judged from (flowdigest.findings.build). Thresholds,
-- prices, names and suppressions are applied in Python; here only the counting, each as
-- the README's "Findings" section defines it. Every kind is counted once:
--  * NAT gateway interfaces are recognised as in nat_gateway.sql (a record whose packet
--    address differs from its address). Their private leg (the translated records) repeats
--    the public leg's bytes; it is the leg that names the internal address, so the NAT
--    kinds count it, both directions, and never the public leg too.
--  * An interface's own addresses are the source of its egress and the destination of its
--    ingress records (`homes`): that gives a peer address its subnet, VPC and AZ.
--  * Traffic between two logged interfaces is in both their records: cross_az counts the
--    sender's egress record only (a response is its sender's egress: counted once too).
-- The report day's rollup is read by several of the CTEs below (Athena inlines them): the
-- rollup is small, and one query is billed at least 10 MB however often it reads it.
WITH today AS (
    SELECT
        rollup_set, "action", interface_id, srcaddr, dstaddr, dstport, flow_direction, traffic_path,
        COALESCE(src_translated, false) AS src_translated, COALESCE(dst_translated, false) AS dst_translated,
        pkt_src_aws_service, pkt_dst_aws_service, subnet_id, vpc_id, az_id, bytes, flows,
        {is_public:srcaddr} AS src_public,
        {is_public:dstaddr} AS dst_public,
        interface_id IS NOT NULL AND COALESCE(bool_or(
            rollup_set = 'flows' AND "action" = 'ACCEPT' AND (src_translated OR dst_translated))
            OVER (PARTITION BY interface_id), false) AS on_nat
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set IN ('flows', 'rejects', 'ingress') AND COALESCE(log_status, 'OK') = 'OK'
),
accepted AS (
    SELECT * FROM today WHERE rollup_set = 'flows' AND "action" = 'ACCEPT'
),
interfaces AS (
    SELECT interface_id, MIN(subnet_id) AS subnet_id, MIN(vpc_id) AS vpc_id, MIN(az_id) AS az_id
    FROM accepted
    WHERE interface_id IS NOT NULL
    GROUP BY interface_id
),
homes AS (
    SELECT address, MIN(interface_id) AS interface_id, MIN(subnet_id) AS subnet_id, MIN(vpc_id) AS vpc_id,
           MIN(az_id) AS az_id, bool_or(on_nat) AS on_nat
    FROM (
        SELECT CASE flow_direction WHEN 'egress' THEN srcaddr ELSE dstaddr END AS address,
               interface_id, subnet_id, vpc_id, az_id, on_nat
        FROM accepted
        WHERE flow_direction IN ('egress', 'ingress')
    ) AS own
    WHERE address IS NOT NULL
    GROUP BY address
),
nat_legs AS (
    -- the NAT gateway's private leg, out (to the NAT, packet bound elsewhere) and back
    SELECT
        l.internal, l.nat_interface, l.nat_az, l.service, l.bytes, l.flows,
        h.subnet_id, h.vpc_id, h.az_id, COALESCE(h.subnet_id, l.internal) AS sender
    FROM (
        SELECT CASE WHEN dst_translated THEN srcaddr ELSE dstaddr END AS internal,
               interface_id AS nat_interface, az_id AS nat_az,
               CASE WHEN dst_translated THEN pkt_dst_aws_service ELSE pkt_src_aws_service END AS service,
               bytes, flows
        FROM accepted
        WHERE on_nat AND (src_translated OR dst_translated)
    ) AS l
    LEFT JOIN homes AS h ON h.address = l.internal AND NOT h.on_nat
),
cross_az AS (
    SELECT
        CASE WHEN a.az_id < h.az_id THEN a.az_id || '->' || h.az_id ELSE h.az_id || '->' || a.az_id END AS pair,
        a.interface_id AS sender, h.interface_id AS receiver, a.bytes, a.flows
    FROM accepted AS a
    JOIN homes AS h ON h.address = a.dstaddr
    WHERE a.flow_direction = 'egress' AND NOT a.on_nat AND NOT h.on_nat AND a.az_id <> h.az_id
),
internet AS (
    -- to public addresses that are no AWS service, not over a VPN, peering or local gateway
    SELECT *
    FROM accepted
    WHERE dst_public AND pkt_dst_aws_service IS NULL AND (traffic_path IS NULL OR traffic_path NOT BETWEEN 3 AND 6)
),
scans AS (
    -- distinct ports below the ephemeral range (rejected responses arrive above it), distinct
    -- addresses, and whether the source reached a listening port (the ingress set, not on a
    -- NAT gateway) that day
    SELECT
        srcaddr,
        COUNT(DISTINCT CASE WHEN rollup_set = 'rejects' AND dstport < 32768 THEN dstport END) AS ports,
        COUNT(DISTINCT CASE WHEN rollup_set = 'flows' AND "action" = 'REJECT' THEN dstaddr END) AS addresses,
        COALESCE(bool_or(rollup_set = 'ingress' AND NOT on_nat), false) AS accepted,
        SUM(CASE WHEN rollup_set = 'flows' AND "action" = 'REJECT' THEN flows END) AS flows,
        SUM(CASE WHEN rollup_set = 'flows' AND "action" = 'REJECT' THEN bytes END) AS bytes
    FROM today
    WHERE src_public AND (rollup_set <> 'flows' OR "action" = 'REJECT')
    GROUP BY srcaddr
),
seen AS (
    SELECT DISTINCT dstaddr
    FROM {rollup}
    WHERE dt >= '{history_start}' AND dt < '{date}' AND rollup_set = 'flows' AND COALESCE(log_status, 'OK') = 'OK'
),
candidates AS (
    SELECT
        'gateway_endpoint_bypass' AS kind, sender AS resource_id, CAST(NULL AS VARCHAR) AS interface_id,
        MIN(subnet_id) AS subnet_id, MIN(vpc_id) AS vpc_id, MIN(az_id) AS az_id,
        CAST(NULL AS VARCHAR) AS peer_id, CAST(NULL AS VARCHAR) AS peer_az, service, CAST(NULL AS INTEGER) AS port,
        SUM(bytes) AS bytes, SUM(flows) AS flows,
        CAST(NULL AS BIGINT) AS distinct_count, CAST(NULL AS BIGINT) AS distinct_other, CAST(NULL AS BOOLEAN) AS accepted
    FROM nat_legs
    WHERE service IN ('S3', 'DYNAMODB')
    GROUP BY service, sender
    UNION ALL
    SELECT 'nat_cross_az', sender, NULL, MIN(subnet_id), MIN(vpc_id), az_id, nat_interface, nat_az, NULL, NULL,
           SUM(bytes), SUM(flows), NULL, NULL, NULL
    FROM nat_legs
    WHERE az_id <> nat_az
    GROUP BY sender, az_id, nat_interface, nat_az
    UNION ALL
    -- distinct_count: the AZs of the subnets sending it (an interface endpoint is paid per AZ)
    SELECT 'aws_service_via_nat', service, NULL, NULL, MIN(vpc_id), NULL, NULL, NULL, service, NULL,
           SUM(bytes), SUM(flows), COUNT(DISTINCT az_id), NULL, NULL
    FROM nat_legs
    WHERE service NOT IN ('S3', 'DYNAMODB')
    GROUP BY service
    UNION ALL
    SELECT 'cross_az', pair, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, SUM(bytes), SUM(flows), NULL, NULL, NULL
    FROM cross_az
    GROUP BY pair
    UNION ALL
    -- the evidence: the resource pairs behind each AZ pair
    SELECT 'cross_az_pair', pair, sender, NULL, NULL, NULL, receiver, NULL, NULL, NULL,
           SUM(bytes), SUM(flows), NULL, NULL, NULL
    FROM cross_az
    GROUP BY pair, sender, receiver
    UNION ALL
    SELECT 'internet_egress', interface_id, interface_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           SUM(bytes), SUM(flows), COUNT(DISTINCT dstaddr), NULL, NULL
    FROM internet
    WHERE NOT on_nat AND interface_id IS NOT NULL
    GROUP BY interface_id
    UNION ALL
    -- the defaults of flowdigest.findings.config.ADMIN_PORTS (a test keeps them the same)
    SELECT 'exposed_port', interface_id, interface_id, NULL, NULL, NULL, NULL, NULL, NULL, dstport,
           SUM(bytes), SUM(flows), COUNT(DISTINCT srcaddr), NULL, NULL
    FROM today
    -- not on a NAT gateway: its public leg's responses arrive on the ports it translated to
    WHERE rollup_set = 'ingress' AND srcaddr IS NOT NULL AND NOT on_nat
      AND dstport IN (22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 2375, 2379, 11211)
    GROUP BY interface_id, dstport
    UNION ALL
    SELECT 'port_scan', srcaddr, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           bytes, flows, ports, addresses, accepted
    FROM scans
    WHERE ports > 1 OR addresses > 1
    UNION ALL
    -- the bytes once: the senders' records, or the NAT's public leg when that is larger
    -- (the senders are not all logged)
    SELECT 'new_external_destination', i.dstaddr, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           GREATEST(COALESCE(SUM(CASE WHEN NOT i.on_nat THEN i.bytes END), 0),
                    COALESCE(SUM(CASE WHEN i.on_nat THEN i.bytes END), 0)),
           SUM(i.flows), COUNT(DISTINCT CASE WHEN NOT i.on_nat THEN i.interface_id END), NULL, NULL
    FROM internet AS i
    LEFT JOIN seen AS s ON s.dstaddr = i.dstaddr
    WHERE s.dstaddr IS NULL
    GROUP BY i.dstaddr
),
ranked AS (
    SELECT
        c.*,
        row_number() OVER (
            PARTITION BY kind, CASE WHEN kind = 'cross_az_pair' THEN resource_id END
            -- a scanner that reached a listening port first
            ORDER BY CASE WHEN kind = 'port_scan' AND accepted THEN 0 ELSE 1 END, CASE kind
                         WHEN 'port_scan' THEN GREATEST(distinct_count, distinct_other)
                         WHEN 'exposed_port' THEN distinct_count
                         ELSE bytes
                     END DESC, resource_id, peer_id, port
        ) AS place
    FROM candidates AS c
)
SELECT
    r.kind, r.resource_id, r.interface_id,
    COALESCE(r.subnet_id, i.subnet_id) AS subnet_id, COALESCE(r.vpc_id, i.vpc_id) AS vpc_id,
    COALESCE(r.az_id, i.az_id) AS az_id,
    r.peer_id, r.peer_az, r.service, r.port, r.bytes, r.flows, r.distinct_count, r.distinct_other, r.accepted
FROM ranked AS r
LEFT JOIN interfaces AS i ON i.interface_id = r.interface_id
WHERE r.place <= CASE WHEN r.kind = 'cross_az_pair' THEN 3 ELSE {limit} END
ORDER BY r.kind, CASE WHEN r.kind = 'cross_az_pair' THEN r.resource_id END, r.place
