-- The findings' candidates (issue 14): one row per kind and resource, with the bytes and
-- counts the findings are priced and judged from (flowdigest.findings.build). Thresholds,
-- prices, names and suppressions are applied in Python; here only the counting, each as
-- the README's "Findings" section defines it. Every kind is counted once:
--  * NAT gateway interfaces are recognised as in nat_gateway's query.sql (a record with no
--    instance id whose packet address differs from its address: an EKS node's has one).
--    Their private leg (the translated records) repeats the public leg's bytes; it is the
--    leg that names the internal address, so the NAT kinds count it, both directions, and
--    never the public leg too.
--  * An interface's own addresses are the source of its egress and the destination of its
--    ingress records (`homes`): that gives a peer address its subnet, VPC and AZ.
--  * Traffic between two logged interfaces is in both their records: cross_az counts the
--    sender's egress record only (a response is its sender's egress: counted once too).
-- Athena inlines WITH queries, so each reference to one reading {rollup} scans it again: the
-- kinds that read the same rows share one GROUP BY with GROUPING SETS (seven scans in all:
-- two for the NAT legs and two for cross-AZ, which join a row to its peer's home, one for the
-- internet kinds and one for their history, one for the ports and scanners).
WITH today AS (
    SELECT
        rollup_set, "action", interface_id, srcaddr, dstaddr, dstport, flow_direction, traffic_path,
        COALESCE(src_translated, false) AS src_translated, COALESCE(dst_translated, false) AS dst_translated,
        pkt_src_aws_service, pkt_dst_aws_service, subnet_id, vpc_id, az_id, bytes, flows,
        {is_public:srcaddr} AS src_public,
        {is_public:dstaddr} AS dst_public,
        interface_id IS NOT NULL AND COALESCE(bool_or(
            rollup_set = 'flows' AND "action" = 'ACCEPT' AND {nat_record})
            OVER (PARTITION BY interface_id), false) AS on_nat,
        -- the interface's subnet, VPC and AZ on each of its rows (the ingress set has none)
        CASE WHEN interface_id IS NOT NULL THEN MIN(CASE WHEN rollup_set = 'flows' AND "action" = 'ACCEPT'
            THEN subnet_id END) OVER (PARTITION BY interface_id) END AS if_subnet,
        CASE WHEN interface_id IS NOT NULL THEN MIN(CASE WHEN rollup_set = 'flows' AND "action" = 'ACCEPT'
            THEN vpc_id END) OVER (PARTITION BY interface_id) END AS if_vpc,
        CASE WHEN interface_id IS NOT NULL THEN MIN(CASE WHEN rollup_set = 'flows' AND "action" = 'ACCEPT'
            THEN az_id END) OVER (PARTITION BY interface_id) END AS if_az
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set IN ('flows', 'rejects', 'ingress') AND COALESCE(log_status, 'OK') = 'OK'
),
accepted AS (
    SELECT * FROM today WHERE rollup_set = 'flows' AND "action" = 'ACCEPT'
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
nat_kinds AS (
    -- (service, sender): gateway_endpoint_bypass; (sender, AZs, NAT): nat_cross_az; (service):
    -- aws_service_via_nat, with the AZs of the subnets sending it (an endpoint is paid per AZ)
    SELECT
        CASE WHEN GROUPING(nat_interface) = 0 THEN 'nat_cross_az'
             WHEN GROUPING(sender) = 0 THEN 'gateway_endpoint_bypass'
             ELSE 'aws_service_via_nat' END AS kind,
        service, sender, az_id, nat_interface, nat_az, MIN(subnet_id) AS subnet_id, MIN(vpc_id) AS vpc_id,
        MIN(az_id) AS sender_az,
        SUM(CASE WHEN service IN ('S3', 'DYNAMODB') THEN bytes END) AS endpoint_bytes,
        SUM(CASE WHEN service IN ('S3', 'DYNAMODB') THEN flows END) AS endpoint_flows,
        SUM(CASE WHEN az_id <> nat_az THEN bytes END) AS cross_bytes,
        SUM(CASE WHEN az_id <> nat_az THEN flows END) AS cross_flows,
        SUM(CASE WHEN service NOT IN ('S3', 'DYNAMODB') THEN bytes END) AS other_bytes,
        SUM(CASE WHEN service NOT IN ('S3', 'DYNAMODB') THEN flows END) AS other_flows,
        COUNT(DISTINCT CASE WHEN service NOT IN ('S3', 'DYNAMODB') THEN az_id END) AS other_azs
    FROM nat_legs
    GROUP BY GROUPING SETS ((service, sender), (sender, az_id, nat_interface, nat_az), (service))
),
cross_az AS (
    SELECT
        CASE WHEN a.az_id < h.az_id THEN a.az_id || '->' || h.az_id ELSE h.az_id || '->' || a.az_id END AS pair,
        a.interface_id AS sender, h.interface_id AS receiver, a.bytes, a.flows
    FROM accepted AS a
    JOIN homes AS h ON h.address = a.dstaddr
    WHERE a.flow_direction = 'egress' AND NOT a.on_nat AND NOT h.on_nat AND a.az_id <> h.az_id
),
cross_kinds AS (
    -- (pair): cross_az; (pair, sender, receiver): its evidence, the resource pairs behind it
    SELECT CASE WHEN GROUPING(sender) = 0 THEN 'cross_az_pair' ELSE 'cross_az' END AS kind,
           pair, sender, receiver, SUM(bytes) AS bytes, SUM(flows) AS flows
    FROM cross_az
    GROUP BY GROUPING SETS ((pair), (pair, sender, receiver))
),
seen AS (
    SELECT DISTINCT dstaddr
    FROM {rollup}
    WHERE dt >= '{history_start}' AND dt < '{date}' AND rollup_set = 'flows' AND COALESCE(log_status, 'OK') = 'OK'
),
internet_kinds AS (
    -- to public addresses that are no AWS service, not over a VPN, peering or local gateway:
    -- (interface): internet_egress, from the senders (not again from the NAT gateway);
    -- (destination): new_external_destination when the history never saw it, its bytes once:
    -- the senders' records, or the NAT's public leg when that is larger (not all senders logged)
    SELECT
        CASE WHEN GROUPING(i.interface_id) = 0 THEN 'internet_egress' ELSE 'new_external_destination' END AS kind,
        i.interface_id, i.dstaddr, MIN(i.if_subnet) AS subnet_id, MIN(i.if_vpc) AS vpc_id, MIN(i.if_az) AS az_id,
        SUM(CASE WHEN NOT i.on_nat THEN i.bytes END) AS sent_bytes,
        SUM(CASE WHEN NOT i.on_nat THEN i.flows END) AS sent_flows,
        COUNT(DISTINCT CASE WHEN NOT i.on_nat THEN i.dstaddr END) AS destinations,
        GREATEST(COALESCE(SUM(CASE WHEN NOT i.on_nat THEN i.bytes END), 0),
                 COALESCE(SUM(CASE WHEN i.on_nat THEN i.bytes END), 0)) AS once_bytes,
        SUM(i.flows) AS all_flows,
        COUNT(DISTINCT CASE WHEN NOT i.on_nat THEN i.interface_id END) AS senders,
        COALESCE(bool_or(s.dstaddr IS NULL), false) AS is_new
    FROM accepted AS i
    LEFT JOIN seen AS s ON s.dstaddr = i.dstaddr
    WHERE i.dst_public AND i.pkt_dst_aws_service IS NULL
      AND (i.traffic_path IS NULL OR i.traffic_path NOT BETWEEN 3 AND 6)
    GROUP BY GROUPING SETS ((i.interface_id), (i.dstaddr))
),
port_kinds AS (
    -- (interface, port): exposed_port, accepted public ingress to the defaults of
    -- flowdigest.findings.config.ADMIN_PORTS (a test keeps them the same), not on a NAT gateway
    -- (its public leg's responses arrive on the ports it translated to);
    -- (source): port_scan, distinct ports below the ephemeral range (rejected responses arrive
    -- above it), distinct addresses, and whether it reached a listening port (not on a NAT)
    SELECT
        CASE WHEN GROUPING(srcaddr) = 0 THEN 'port_scan' ELSE 'exposed_port' END AS kind,
        interface_id, dstport, srcaddr, MIN(if_subnet) AS subnet_id, MIN(if_vpc) AS vpc_id, MIN(if_az) AS az_id,
        SUM(CASE WHEN exposed THEN bytes END) AS exposed_bytes,
        SUM(CASE WHEN exposed THEN flows END) AS exposed_flows,
        COUNT(DISTINCT CASE WHEN exposed THEN srcaddr END) AS sources,
        COUNT(DISTINCT CASE WHEN scan AND rollup_set = 'rejects' AND dstport < 32768 THEN dstport END) AS ports,
        COUNT(DISTINCT CASE WHEN scan AND rollup_set = 'flows' THEN dstaddr END) AS addresses,
        COALESCE(bool_or(scan AND rollup_set = 'ingress' AND NOT on_nat), false) AS reached,
        SUM(CASE WHEN scan AND rollup_set = 'flows' THEN flows END) AS scan_flows,
        SUM(CASE WHEN scan AND rollup_set = 'flows' THEN bytes END) AS scan_bytes
    FROM (
        SELECT
            today.*,
            rollup_set = 'ingress' AND srcaddr IS NOT NULL AND NOT on_nat
                AND dstport IN (22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 2375, 2379, 11211) AS exposed,
            src_public AND (rollup_set <> 'flows' OR "action" = 'REJECT') AS scan
        FROM today
    ) AS t
    GROUP BY GROUPING SETS ((interface_id, dstport), (srcaddr))
),
candidates AS (
    SELECT
        kind, CASE kind WHEN 'aws_service_via_nat' THEN service ELSE sender END AS resource_id,
        CAST(NULL AS VARCHAR) AS interface_id,
        CASE WHEN kind <> 'aws_service_via_nat' THEN subnet_id END AS subnet_id, vpc_id,
        CASE kind WHEN 'nat_cross_az' THEN az_id WHEN 'gateway_endpoint_bypass' THEN sender_az END AS az_id,
        nat_interface AS peer_id, nat_az AS peer_az,
        CASE WHEN kind <> 'nat_cross_az' THEN service END AS service, CAST(NULL AS INTEGER) AS port,
        CASE kind WHEN 'gateway_endpoint_bypass' THEN endpoint_bytes WHEN 'nat_cross_az' THEN cross_bytes
                  ELSE other_bytes END AS bytes,
        CASE kind WHEN 'gateway_endpoint_bypass' THEN endpoint_flows WHEN 'nat_cross_az' THEN cross_flows
                  ELSE other_flows END AS flows,
        CASE WHEN kind = 'aws_service_via_nat' THEN other_azs END AS distinct_count,
        CAST(NULL AS BIGINT) AS distinct_other, CAST(NULL AS BOOLEAN) AS accepted
    FROM nat_kinds
    WHERE CASE kind WHEN 'gateway_endpoint_bypass' THEN endpoint_bytes WHEN 'nat_cross_az' THEN cross_bytes
                    ELSE other_bytes END IS NOT NULL
    UNION ALL
    SELECT kind, pair, CASE WHEN kind = 'cross_az_pair' THEN sender END, NULL, NULL, NULL,
           CASE WHEN kind = 'cross_az_pair' THEN receiver END, NULL, NULL, NULL, bytes, flows, NULL, NULL, NULL
    FROM cross_kinds
    UNION ALL
    SELECT kind, COALESCE(interface_id, dstaddr),
           CASE WHEN kind = 'internet_egress' THEN interface_id END,
           CASE WHEN kind = 'internet_egress' THEN subnet_id END,
           CASE WHEN kind = 'internet_egress' THEN vpc_id END,
           CASE WHEN kind = 'internet_egress' THEN az_id END, NULL, NULL, NULL, NULL,
           CASE WHEN kind = 'internet_egress' THEN sent_bytes ELSE once_bytes END,
           CASE WHEN kind = 'internet_egress' THEN sent_flows ELSE all_flows END,
           CASE WHEN kind = 'internet_egress' THEN destinations ELSE senders END, NULL, NULL
    FROM internet_kinds
    WHERE (kind = 'internet_egress' AND interface_id IS NOT NULL AND sent_bytes IS NOT NULL)
       OR (kind = 'new_external_destination' AND is_new)
    UNION ALL
    SELECT kind, COALESCE(interface_id, srcaddr),
           CASE WHEN kind = 'exposed_port' THEN interface_id END,
           CASE WHEN kind = 'exposed_port' THEN subnet_id END,
           CASE WHEN kind = 'exposed_port' THEN vpc_id END,
           CASE WHEN kind = 'exposed_port' THEN az_id END, NULL, NULL, NULL,
           CASE WHEN kind = 'exposed_port' THEN dstport END,
           CASE WHEN kind = 'exposed_port' THEN exposed_bytes ELSE scan_bytes END,
           CASE WHEN kind = 'exposed_port' THEN exposed_flows ELSE scan_flows END,
           CASE WHEN kind = 'exposed_port' THEN sources ELSE ports END,
           CASE WHEN kind = 'port_scan' THEN addresses END,
           CASE WHEN kind = 'port_scan' THEN reached END
    FROM port_kinds
    WHERE (kind = 'exposed_port' AND exposed_flows IS NOT NULL)
       OR (kind = 'port_scan' AND srcaddr IS NOT NULL AND (ports > 1 OR addresses > 1))
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
    r.kind, r.resource_id, r.interface_id, r.subnet_id, r.vpc_id, r.az_id,
    r.peer_id, r.peer_az, r.service, r.port, r.bytes, r.flows, r.distinct_count, r.distinct_other, r.accepted
FROM ranked AS r
WHERE r.place <= CASE WHEN r.kind = 'cross_az_pair' THEN 3 ELSE {limit} END
ORDER BY r.kind, CASE WHEN r.kind = 'cross_az_pair' THEN r.resource_id END, r.place
