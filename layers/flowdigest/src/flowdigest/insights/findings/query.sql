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
--    ingress records (its "home" records): that gives a peer address its subnet, VPC and AZ.
--  * A format without `action` (COALESCE(action, 'ACCEPT')): every record counts as accepted
--    for the cost kinds; the risk kinds are skipped then (findings.build.NEEDS).
--  * Traffic between two logged interfaces is in both their records: cross_az counts the
--    sender's egress record only (a response is its sender's egress: counted once too).
--  * NAT gateway interfaces, each interface's place and each address's home are small facts
--    of the rollup's ingress set (interfaces, homes), joined to the day's rows: windows over
--    the flows set would need it all in memory at once (bench/README.md).
-- Athena inlines WITH queries, so each reference to one reading {rollup} scans it again:
-- the small ingress set's few columns are read three times (`interfaces`, by homes and by
-- today, and homes' own); the day's flows, rejects and ingress rows are read once, and the week before
-- once (its destinations only, for new_external_destination). Every kind comes from one
-- plain GROUP BY: each row is routed to the kinds it counts in (a cross join with the kinds'
-- names: a constant list, so no correlated UNNEST), keyed by that kind's keys.
WITH interfaces AS (
    -- each logged interface: whether it is a NAT gateway's, and its subnet, VPC and AZ
    SELECT
        interface_id,
        COALESCE(bool_or(COALESCE("action", 'ACCEPT') = 'ACCEPT' AND {nat_record}), false) AS on_nat,
        MIN(subnet_id) AS if_subnet, MIN(vpc_id) AS if_vpc, MIN(az_id) AS if_az
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'ingress' AND COALESCE(log_status, 'OK') = 'OK' AND interface_id IS NOT NULL
    GROUP BY interface_id
),
homes AS (
    -- where an address lives: the interfaces whose accepted records have it as their own (an
    -- egress record's source, an ingress record's destination), the least of each place those
    -- records give, and whether any of those interfaces is a NAT gateway's
    SELECT
        h.own_addr AS address,
        MIN(h.interface_id) AS h_interface, MIN(h.subnet_id) AS h_subnet, MIN(h.vpc_id) AS h_vpc,
        MIN(h.az_id) AS h_az, bool_or(COALESCE(i.on_nat, false)) AS h_on_nat
    FROM {rollup} AS h
    LEFT JOIN interfaces AS i ON i.interface_id = h.interface_id
    WHERE h.dt = '{date}' AND h.rollup_set = 'ingress' AND COALESCE(h.log_status, 'OK') = 'OK'
      AND COALESCE(h."action", 'ACCEPT') = 'ACCEPT' AND h.own_addr IS NOT NULL
    GROUP BY h.own_addr
),
today AS (
    -- the ingress set's rows that matter here are its public ingress (srcaddr set)
    SELECT
        r.rollup_set, r."action", r.interface_id, r.srcaddr, r.dstaddr, r.dstport, r.flow_direction, r.traffic_path,
        COALESCE(r.src_translated, false) AS src_translated, COALESCE(r.dst_translated, false) AS dst_translated,
        r.pkt_src_aws_service, r.pkt_dst_aws_service, r.bytes, r.flows,
        {is_public:r.srcaddr} AS src_public,
        {is_public:r.dstaddr} AS dst_public,
        COALESCE(i.on_nat, false) AS on_nat, i.if_subnet, i.if_vpc, i.if_az
    FROM {rollup} AS r
    LEFT JOIN interfaces AS i ON i.interface_id = r.interface_id
    WHERE r.dt = '{date}' AND r.rollup_set IN ('flows', 'rejects', 'ingress') AND COALESCE(r.log_status, 'OK') = 'OK'
      AND (r.rollup_set <> 'ingress' OR r.srcaddr IS NOT NULL)
),
seen AS (
    SELECT DISTINCT dstaddr
    FROM {rollup}
    WHERE dt >= '{history_start}' AND dt < '{date}' AND rollup_set = 'flows' AND COALESCE(log_status, 'OK') = 'OK'
),
traits AS (
    -- what each row is: the kinds it may count in
    SELECT
        t.*,
        t.rollup_set = 'flows' AND COALESCE(t."action", 'ACCEPT') = 'ACCEPT' AND t.on_nat
            AND (t.src_translated OR t.dst_translated) AS nat_leg,
        t.rollup_set = 'flows' AND COALESCE(t."action", 'ACCEPT') = 'ACCEPT' AND NOT t.on_nat AND t.flow_direction = 'egress' AS sent,
        -- to public addresses that are no AWS service, not over a VPN, peering or local gateway
        t.rollup_set = 'flows' AND COALESCE(t."action", 'ACCEPT') = 'ACCEPT' AND t.dst_public AND t.pkt_dst_aws_service IS NULL
            AND (t.traffic_path IS NULL OR t.traffic_path NOT BETWEEN 3 AND 6) AS to_internet,
        s.dstaddr IS NULL AS unseen
    FROM today AS t
    LEFT JOIN seen AS s ON s.dstaddr = t.dstaddr
),
homed AS (
    -- the home of the peer a row needs (a NAT leg's internal address; a sender's destination):
    -- NULL when the address has no home record (or the row needs none)
    SELECT x.*, h.h_interface, h.h_subnet, h.h_vpc, h.h_az, h.h_on_nat
    FROM (
        SELECT
            t.*,
            CASE WHEN t.nat_leg THEN CASE WHEN t.dst_translated THEN t.srcaddr ELSE t.dstaddr END
                 WHEN t.sent THEN t.dstaddr END AS address
        FROM traits AS t
    ) AS x
    LEFT JOIN homes AS h ON h.address = x.address
),
facts AS (
    SELECT
        h.*,
        -- the NAT gateway's private leg, out (to the NAT, packet bound elsewhere) and back; the
        -- internal address's home unless that is a NAT gateway itself
        COALESCE(h.nat_leg, false) AS m_nat,
        CASE WHEN h.dst_translated THEN h.pkt_dst_aws_service ELSE h.pkt_src_aws_service END AS service,
        CASE WHEN NOT h.h_on_nat THEN h.h_subnet END AS n_subnet,
        CASE WHEN NOT h.h_on_nat THEN h.h_vpc END AS n_vpc,
        CASE WHEN NOT h.h_on_nat THEN h.h_az END AS n_az,
        COALESCE(CASE WHEN NOT h.h_on_nat THEN h.h_subnet END, h.address) AS sender,
        h.interface_id AS nat_interface, h.if_az AS nat_az,
        -- a logged sender to a logged interface in another AZ (neither a NAT gateway)
        COALESCE(h.sent AND NOT h.h_on_nat AND h.if_az <> h.h_az, false) AS m_cross,
        CASE WHEN h.if_az < h.h_az THEN h.if_az || '->' || h.h_az ELSE h.h_az || '->' || h.if_az END AS pair,
        h.interface_id AS pair_sender, h.h_interface AS pair_receiver,
        COALESCE(h.to_internet, false) AS m_internet,
        h.rollup_set = 'ingress' AND h.srcaddr IS NOT NULL AND NOT h.on_nat
            AND h.dstport IN (22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 2375, 2379, 11211) AS exposed,
        h.src_public AND (h.rollup_set <> 'flows' OR h."action" = 'REJECT') AS scan
    FROM homed AS h
),
routed AS (
    -- each row once per kind it counts in (`kinds` says which), with that kind's keys, the
    -- place it names (`subnet`, `vpc`, `az`: least of the group's), what it adds up
    -- (`bytes`, `flows`, `nat_bytes`), the distinct values it counts (`d1`, `d2`) and its flag
    SELECT
        k.kind,
        CASE WHEN k.kind IN ('gateway_endpoint_bypass', 'nat_cross_az') THEN f.sender
             WHEN k.kind = 'aws_service_via_nat' THEN f.service
             WHEN k.kind IN ('cross_az', 'cross_az_pair') THEN f.pair
             WHEN k.kind IN ('internet_egress', 'exposed_port') THEN f.interface_id
             WHEN k.kind = 'new_external_destination' THEN f.dstaddr
             ELSE f.srcaddr END AS resource_id,
        CASE WHEN k.kind IN ('cross_az_pair', 'internet_egress', 'exposed_port') THEN f.interface_id END AS interface_id,
        CASE k.kind WHEN 'nat_cross_az' THEN f.interface_id WHEN 'cross_az_pair' THEN f.h_interface END AS peer_id,
        CASE WHEN k.kind = 'nat_cross_az' THEN f.n_az END AS sender_az,  -- a key: its groups' az_id
        CASE WHEN k.kind = 'nat_cross_az' THEN f.if_az END AS peer_az,
        CASE WHEN k.kind IN ('gateway_endpoint_bypass', 'aws_service_via_nat') THEN f.service END AS service,
        CASE WHEN k.kind = 'exposed_port' THEN f.dstport END AS port,
        CASE WHEN k.kind IN ('gateway_endpoint_bypass', 'nat_cross_az') THEN f.n_subnet
             WHEN k.kind IN ('internet_egress', 'exposed_port') THEN f.if_subnet END AS subnet,
        CASE WHEN k.kind IN ('gateway_endpoint_bypass', 'nat_cross_az', 'aws_service_via_nat') THEN f.n_vpc
             WHEN k.kind IN ('internet_egress', 'exposed_port') THEN f.if_vpc END AS vpc,
        CASE WHEN k.kind IN ('gateway_endpoint_bypass', 'nat_cross_az') THEN f.n_az
             WHEN k.kind IN ('internet_egress', 'exposed_port') THEN f.if_az END AS az,
        -- a destination's bytes once: the senders', or the NAT's public leg when larger; a
        -- scanner's: its rejected records (the flows set's)
        CASE WHEN k.kind = 'new_external_destination' AND f.on_nat THEN NULL
             WHEN k.kind = 'port_scan' AND f.rollup_set <> 'flows' THEN NULL
             ELSE f.bytes END AS bytes,
        CASE WHEN k.kind = 'port_scan' AND f.rollup_set <> 'flows' THEN NULL ELSE f.flows END AS flows,
        CASE WHEN k.kind = 'new_external_destination' AND f.on_nat THEN f.bytes END AS nat_bytes,
        CASE k.kind
            WHEN 'aws_service_via_nat' THEN f.n_az
            WHEN 'internet_egress' THEN f.dstaddr
            WHEN 'new_external_destination' THEN CASE WHEN NOT f.on_nat THEN f.interface_id END
            WHEN 'exposed_port' THEN f.srcaddr
            WHEN 'port_scan' THEN CASE WHEN f.rollup_set = 'rejects' AND f.dstport < 32768
                                       THEN CAST(f.dstport AS VARCHAR) END
        END AS d1,
        CASE WHEN k.kind = 'port_scan' AND f.rollup_set = 'flows' THEN f.dstaddr END AS d2,
        CASE k.kind WHEN 'new_external_destination' THEN f.unseen
                    WHEN 'port_scan' THEN f.rollup_set = 'ingress' AND NOT f.on_nat END AS flag
    FROM facts AS f
    CROSS JOIN UNNEST(ARRAY['gateway_endpoint_bypass', 'nat_cross_az', 'aws_service_via_nat', 'cross_az',
                            'cross_az_pair', 'internet_egress', 'new_external_destination', 'exposed_port',
                            'port_scan']) AS k (kind)
    WHERE CASE k.kind
              WHEN 'gateway_endpoint_bypass' THEN f.m_nat AND f.service IN ('S3', 'DYNAMODB')
              WHEN 'nat_cross_az' THEN f.m_nat AND f.n_az <> f.if_az
              WHEN 'aws_service_via_nat' THEN f.m_nat AND f.service NOT IN ('S3', 'DYNAMODB')
              WHEN 'cross_az' THEN f.m_cross
              WHEN 'cross_az_pair' THEN f.m_cross
              WHEN 'internet_egress' THEN f.m_internet AND NOT f.on_nat AND f.interface_id IS NOT NULL
              WHEN 'new_external_destination' THEN f.m_internet
              WHEN 'exposed_port' THEN f.exposed
              ELSE f.scan AND f.srcaddr IS NOT NULL
          END
),
kinds AS (
    -- nat:      (service, sender): gateway_endpoint_bypass, to S3 and DynamoDB; (sender, AZs,
    --           NAT): nat_cross_az, the sender in another AZ than the NAT; (service):
    --           aws_service_via_nat, the other services, with the AZs of the subnets sending
    --           them (an endpoint is paid per AZ)
    -- cross:    (pair): cross_az; (pair, sender, receiver): its evidence, the resource pairs
    -- internet: (interface): internet_egress, from the senders (not again from the NAT gateway);
    --           (destination): new_external_destination when the history never saw it, its
    --           bytes once: the senders' records, or the NAT's public leg when that is larger
    --           (not all senders logged)
    -- ports:    (interface, port): exposed_port, accepted public ingress to the defaults of
    --           flowdigest.findings.config.ADMIN_PORTS (a test keeps them the same), not on a NAT
    --           gateway (its public leg's responses arrive on the ports it translated to);
    --           (source): port_scan, distinct ports below the ephemeral range (rejected
    --           responses arrive above it), distinct addresses, and whether it reached a
    --           listening port (not on a NAT)
    -- One plain GROUP BY, which spills to disk when a big day's groups do not fit in memory
    -- (GROUPING SETS with every kind's aggregates in each set did not, bench/README.md)
    SELECT
        kind, resource_id, interface_id, peer_id, sender_az, peer_az, service, port,
        MIN(subnet) AS subnet_id, MIN(vpc) AS vpc_id, MIN(az) AS az_id,
        SUM(bytes) AS bytes, SUM(flows) AS flows, SUM(nat_bytes) AS nat_bytes,
        COUNT(DISTINCT d1) AS d1, COUNT(DISTINCT d2) AS d2,
        COALESCE(bool_or(flag), false) AS flag
    FROM routed
    GROUP BY kind, resource_id, interface_id, peer_id, sender_az, peer_az, service, port
),
candidates AS (
    SELECT
        kind, resource_id, interface_id, subnet_id, vpc_id,
        az_id, peer_id, peer_az, service, port,
        CASE WHEN kind = 'new_external_destination' THEN GREATEST(COALESCE(bytes, 0), COALESCE(nat_bytes, 0))
             ELSE bytes END AS bytes,
        flows,
        CASE WHEN kind IN ('aws_service_via_nat', 'internet_egress', 'new_external_destination', 'exposed_port',
                           'port_scan') THEN d1 END AS distinct_count,
        CASE WHEN kind = 'port_scan' THEN d2 END AS distinct_other,
        CASE WHEN kind = 'port_scan' THEN flag END AS accepted
    FROM kinds
    WHERE CASE kind
              WHEN 'new_external_destination' THEN flag
              WHEN 'port_scan' THEN d1 > 1 OR d2 > 1
              ELSE true
          END
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
                     END DESC, resource_id, peer_id, interface_id, service, port
        ) AS place
    FROM candidates AS c
)
SELECT
    r.kind, r.resource_id, r.interface_id, r.subnet_id, r.vpc_id, r.az_id,
    r.peer_id, r.peer_az, r.service, r.port, r.bytes, r.flows, r.distinct_count, r.distinct_other, r.accepted
FROM ranked AS r
WHERE r.place <= CASE WHEN r.kind = 'cross_az_pair' THEN 3 ELSE {limit} END
ORDER BY r.kind, CASE WHEN r.kind = 'cross_az_pair' THEN r.resource_id END, r.place
