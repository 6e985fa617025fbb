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
-- Athena inlines WITH queries, so each reference to one reading {rollup} scans it again. This
-- reads the day once and the week before it once (its destinations only, for
-- new_external_destination), so every step below is a chain, each read by the next only:
--  * a peer's home without a join: a row that needs one is read twice (`role`), once as itself
--    and once filed under the peer's address, where a window over that address finds the
--    home records filed under it;
--  * every kind from one GROUP BY: each grouping set carries its kind's membership flag
--    (`m_*`), so its groups hold that kind's rows only.
WITH today AS (
    SELECT
        rollup_set, "action", interface_id, srcaddr, dstaddr, dstport, flow_direction, traffic_path,
        COALESCE(src_translated, false) AS src_translated, COALESCE(dst_translated, false) AS dst_translated,
        pkt_src_aws_service, pkt_dst_aws_service, bytes, flows,
        {is_public:srcaddr} AS src_public,
        {is_public:dstaddr} AS dst_public,
        interface_id IS NOT NULL AND COALESCE(bool_or(
            rollup_set = 'flows' AND COALESCE("action", 'ACCEPT') = 'ACCEPT' AND {nat_record})
            OVER (PARTITION BY interface_id), false) AS on_nat,
        -- the interface's subnet, VPC and AZ on each of its rows (the ingress set holds them)
        CASE WHEN interface_id IS NOT NULL THEN MIN(CASE WHEN rollup_set = 'ingress' THEN subnet_id END)
            OVER (PARTITION BY interface_id) END AS if_subnet,
        CASE WHEN interface_id IS NOT NULL THEN MIN(CASE WHEN rollup_set = 'ingress' THEN vpc_id END)
            OVER (PARTITION BY interface_id) END AS if_vpc,
        CASE WHEN interface_id IS NOT NULL THEN MIN(CASE WHEN rollup_set = 'ingress' THEN az_id END)
            OVER (PARTITION BY interface_id) END AS if_az
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set IN ('flows', 'rejects', 'ingress') AND COALESCE(log_status, 'OK') = 'OK'
),
seen AS (
    SELECT DISTINCT dstaddr
    FROM {rollup}
    WHERE dt >= '{history_start}' AND dt < '{date}' AND rollup_set = 'flows' AND COALESCE(log_status, 'OK') = 'OK'
),
traits AS (
    -- what each row is: the kinds it may count in, the address it is a home record of, and
    -- the peer whose home it needs (a NAT leg's internal address; a sender's destination)
    SELECT
        t.*,
        t.rollup_set = 'flows' AND COALESCE(t."action", 'ACCEPT') = 'ACCEPT' AS accepted,
        t.rollup_set = 'flows' AND COALESCE(t."action", 'ACCEPT') = 'ACCEPT' AND t.on_nat
            AND (t.src_translated OR t.dst_translated) AS nat_leg,
        t.rollup_set = 'flows' AND COALESCE(t."action", 'ACCEPT') = 'ACCEPT' AND NOT t.on_nat AND t.flow_direction = 'egress' AS sent,
        CASE WHEN t.rollup_set = 'flows' AND COALESCE(t."action", 'ACCEPT') = 'ACCEPT'
             THEN CASE t.flow_direction WHEN 'egress' THEN t.srcaddr WHEN 'ingress' THEN t.dstaddr END END AS home_of,
        -- to public addresses that are no AWS service, not over a VPN, peering or local gateway
        t.rollup_set = 'flows' AND COALESCE(t."action", 'ACCEPT') = 'ACCEPT' AND t.dst_public AND t.pkt_dst_aws_service IS NULL
            AND (t.traffic_path IS NULL OR t.traffic_path NOT BETWEEN 3 AND 6) AS to_internet,
        s.dstaddr IS NULL AS unseen
    FROM today AS t
    LEFT JOIN seen AS s ON s.dstaddr = t.dstaddr
),
filed AS (
    SELECT
        x.*, r.role,
        CASE WHEN r.role = 'self' THEN x.home_of
             WHEN x.nat_leg THEN CASE WHEN x.dst_translated THEN x.srcaddr ELSE x.dstaddr END
             ELSE x.dstaddr END AS address
    FROM traits AS x
    CROSS JOIN UNNEST(ARRAY['self', 'peer']) AS r (role)
    WHERE r.role = 'self' OR x.nat_leg OR x.sent
),
homed AS (
    -- the address's home, as every home record filed under it says (MIN of each, as a GROUP BY would)
    SELECT
        f.*,
        MIN(CASE WHEN f.role = 'self' THEN f.interface_id END) OVER (PARTITION BY f.address) AS h_interface,
        MIN(CASE WHEN f.role = 'self' THEN f.if_subnet END) OVER (PARTITION BY f.address) AS h_subnet,
        MIN(CASE WHEN f.role = 'self' THEN f.if_vpc END) OVER (PARTITION BY f.address) AS h_vpc,
        MIN(CASE WHEN f.role = 'self' THEN f.if_az END) OVER (PARTITION BY f.address) AS h_az,
        -- NULL when the address has no home record
        bool_or(CASE WHEN f.role = 'self' AND f.address IS NOT NULL THEN f.on_nat END)
            OVER (PARTITION BY f.address) AS h_on_nat
    FROM filed AS f
),
facts AS (
    SELECT
        h.*,
        -- the NAT gateway's private leg, out (to the NAT, packet bound elsewhere) and back; the
        -- internal address's home unless that is a NAT gateway itself
        COALESCE(h.role = 'peer' AND h.nat_leg, false) AS m_nat,
        CASE WHEN h.dst_translated THEN h.pkt_dst_aws_service ELSE h.pkt_src_aws_service END AS service,
        CASE WHEN NOT h.h_on_nat THEN h.h_subnet END AS n_subnet,
        CASE WHEN NOT h.h_on_nat THEN h.h_vpc END AS n_vpc,
        CASE WHEN NOT h.h_on_nat THEN h.h_az END AS n_az,
        COALESCE(CASE WHEN NOT h.h_on_nat THEN h.h_subnet END, h.address) AS sender,
        h.interface_id AS nat_interface, h.if_az AS nat_az,
        -- a logged sender to a logged interface in another AZ (neither a NAT gateway)
        COALESCE(h.role = 'peer' AND h.sent AND NOT h.h_on_nat AND h.if_az <> h.h_az, false) AS m_cross,
        CASE WHEN h.if_az < h.h_az THEN h.if_az || '->' || h.h_az ELSE h.h_az || '->' || h.if_az END AS pair,
        h.interface_id AS pair_sender, h.h_interface AS pair_receiver,
        COALESCE(h.role = 'self' AND h.to_internet, false) AS m_internet,
        h.role = 'self' AS is_self,
        h.rollup_set = 'ingress' AND h.srcaddr IS NOT NULL AND NOT h.on_nat
            AND h.dstport IN (22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 2375, 2379, 11211) AS exposed,
        h.src_public AND (h.rollup_set <> 'flows' OR h."action" = 'REJECT') AS scan
    FROM homed AS h
),
keyed AS (
    -- each kind's keys and counted values on its members' rows only: the rows a grouping set
    -- leaves out fall into one group of NULLs, dropped after (and few distinct values to count).
    -- The ports kinds' members are the rows they count (exposed or scan): every other row would
    -- make a group of its own (interface and port, or source) for nothing
    SELECT
        m_nat, m_cross, m_internet, m_port AS m_ports, bytes, flows, on_nat, rollup_set, if_subnet, if_vpc, if_az,
        unseen,
        CASE WHEN m_nat THEN service END AS service, CASE WHEN m_nat THEN sender END AS sender,
        CASE WHEN m_nat THEN n_subnet END AS n_subnet, CASE WHEN m_nat THEN n_vpc END AS n_vpc,
        CASE WHEN m_nat THEN n_az END AS n_az,
        CASE WHEN m_nat THEN nat_interface END AS nat_interface, CASE WHEN m_nat THEN nat_az END AS nat_az,
        CASE WHEN m_cross THEN pair END AS pair, CASE WHEN m_cross THEN pair_sender END AS pair_sender,
        CASE WHEN m_cross THEN pair_receiver END AS pair_receiver,
        CASE WHEN m_internet THEN interface_id END AS inet_interface,
        CASE WHEN m_internet THEN dstaddr END AS inet_destination,
        CASE WHEN m_port THEN interface_id END AS port_interface, CASE WHEN m_port THEN dstport END AS port_key,
        CASE WHEN m_port THEN srcaddr END AS source, CASE WHEN m_port THEN dstaddr END AS port_destination,
        m_port AND exposed AS exposed, m_port AND scan AS scan
    FROM (
        SELECT f.*, f.is_self AND COALESCE(f.exposed OR f.scan, false) AS m_port
        FROM facts AS f
    ) AS facts
),
kinds AS (
    -- nat:      (service, sender): gateway_endpoint_bypass; (sender, AZs, NAT): nat_cross_az;
    --           (service): aws_service_via_nat, with the AZs of the subnets sending it (an
    --           endpoint is paid per AZ)
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
    SELECT
        CASE
            WHEN GROUPING(m_nat) = 0 THEN CASE WHEN GROUPING(nat_interface) = 0 THEN 'nat_cross_az'
                                               WHEN GROUPING(sender) = 0 THEN 'gateway_endpoint_bypass'
                                               ELSE 'aws_service_via_nat' END
            WHEN GROUPING(m_cross) = 0 THEN CASE WHEN GROUPING(pair_sender) = 0 THEN 'cross_az_pair'
                                                 ELSE 'cross_az' END
            WHEN GROUPING(m_internet) = 0 THEN CASE WHEN GROUPING(inet_interface) = 0 THEN 'internet_egress'
                                                    ELSE 'new_external_destination' END
            WHEN GROUPING(source) = 0 THEN 'port_scan'
            ELSE 'exposed_port'
        END AS kind,
        COALESCE(m_nat, m_cross, m_internet, m_ports) AS member,
        service, sender, n_az, nat_interface, nat_az, pair, pair_sender, pair_receiver,
        inet_interface, inet_destination, port_interface, port_key, source,
        -- nat
        MIN(n_subnet) AS nat_subnet, MIN(n_vpc) AS nat_vpc, MIN(n_az) AS sender_az,
        SUM(CASE WHEN service IN ('S3', 'DYNAMODB') THEN bytes END) AS endpoint_bytes,
        SUM(CASE WHEN service IN ('S3', 'DYNAMODB') THEN flows END) AS endpoint_flows,
        SUM(CASE WHEN n_az <> nat_az THEN bytes END) AS cross_bytes,
        SUM(CASE WHEN n_az <> nat_az THEN flows END) AS cross_flows,
        SUM(CASE WHEN service NOT IN ('S3', 'DYNAMODB') THEN bytes END) AS other_bytes,
        SUM(CASE WHEN service NOT IN ('S3', 'DYNAMODB') THEN flows END) AS other_flows,
        COUNT(DISTINCT CASE WHEN service NOT IN ('S3', 'DYNAMODB') THEN n_az END) AS other_azs,
        -- cross
        SUM(bytes) AS all_bytes, SUM(flows) AS all_flows,
        -- internet and ports: the interface's own subnet, VPC and AZ
        MIN(if_subnet) AS if_subnet, MIN(if_vpc) AS if_vpc, MIN(if_az) AS if_az,
        SUM(CASE WHEN NOT on_nat THEN bytes END) AS sent_bytes,
        SUM(CASE WHEN NOT on_nat THEN flows END) AS sent_flows,
        COUNT(DISTINCT CASE WHEN NOT on_nat THEN inet_destination END) AS destinations,
        GREATEST(COALESCE(SUM(CASE WHEN NOT on_nat THEN bytes END), 0),
                 COALESCE(SUM(CASE WHEN on_nat THEN bytes END), 0)) AS once_bytes,
        COUNT(DISTINCT CASE WHEN NOT on_nat THEN inet_interface END) AS senders,
        COALESCE(bool_or(unseen), false) AS is_new,
        SUM(CASE WHEN exposed THEN bytes END) AS exposed_bytes,
        SUM(CASE WHEN exposed THEN flows END) AS exposed_flows,
        COUNT(DISTINCT CASE WHEN exposed THEN source END) AS sources,
        COUNT(DISTINCT CASE WHEN scan AND rollup_set = 'rejects' AND port_key < 32768 THEN port_key END) AS ports,
        COUNT(DISTINCT CASE WHEN scan AND rollup_set = 'flows' THEN port_destination END) AS addresses,
        COALESCE(bool_or(scan AND rollup_set = 'ingress' AND NOT on_nat), false) AS reached,
        SUM(CASE WHEN scan AND rollup_set = 'flows' THEN flows END) AS scan_flows,
        SUM(CASE WHEN scan AND rollup_set = 'flows' THEN bytes END) AS scan_bytes
    FROM keyed
    GROUP BY GROUPING SETS (
        (m_nat, service, sender), (m_nat, sender, n_az, nat_interface, nat_az), (m_nat, service),
        (m_cross, pair), (m_cross, pair, pair_sender, pair_receiver),
        (m_internet, inet_interface), (m_internet, inet_destination),
        (m_ports, port_interface, port_key), (m_ports, source)
    )
),
candidates AS (
    SELECT
        kind,
        CASE kind WHEN 'gateway_endpoint_bypass' THEN sender WHEN 'nat_cross_az' THEN sender
                  WHEN 'aws_service_via_nat' THEN service WHEN 'cross_az' THEN pair WHEN 'cross_az_pair' THEN pair
                  WHEN 'internet_egress' THEN inet_interface WHEN 'new_external_destination' THEN inet_destination
                  WHEN 'exposed_port' THEN port_interface ELSE source END AS resource_id,
        CASE kind WHEN 'cross_az_pair' THEN pair_sender WHEN 'internet_egress' THEN inet_interface
                  WHEN 'exposed_port' THEN port_interface END AS interface_id,
        CASE WHEN kind IN ('gateway_endpoint_bypass', 'nat_cross_az') THEN nat_subnet
             WHEN kind IN ('internet_egress', 'exposed_port') THEN if_subnet END AS subnet_id,
        CASE WHEN kind IN ('gateway_endpoint_bypass', 'nat_cross_az', 'aws_service_via_nat') THEN nat_vpc
             WHEN kind IN ('internet_egress', 'exposed_port') THEN if_vpc END AS vpc_id,
        CASE kind WHEN 'nat_cross_az' THEN n_az WHEN 'gateway_endpoint_bypass' THEN sender_az
                  WHEN 'internet_egress' THEN if_az WHEN 'exposed_port' THEN if_az END AS az_id,
        CASE kind WHEN 'nat_cross_az' THEN nat_interface WHEN 'cross_az_pair' THEN pair_receiver END AS peer_id,
        CASE WHEN kind = 'nat_cross_az' THEN nat_az END AS peer_az,
        CASE WHEN kind IN ('gateway_endpoint_bypass', 'aws_service_via_nat') THEN service END AS service,
        CASE WHEN kind = 'exposed_port' THEN port_key END AS port,
        CASE kind WHEN 'gateway_endpoint_bypass' THEN endpoint_bytes WHEN 'nat_cross_az' THEN cross_bytes
                  WHEN 'aws_service_via_nat' THEN other_bytes WHEN 'internet_egress' THEN sent_bytes
                  WHEN 'new_external_destination' THEN once_bytes WHEN 'exposed_port' THEN exposed_bytes
                  WHEN 'port_scan' THEN scan_bytes ELSE all_bytes END AS bytes,
        CASE kind WHEN 'gateway_endpoint_bypass' THEN endpoint_flows WHEN 'nat_cross_az' THEN cross_flows
                  WHEN 'aws_service_via_nat' THEN other_flows WHEN 'internet_egress' THEN sent_flows
                  WHEN 'exposed_port' THEN exposed_flows WHEN 'port_scan' THEN scan_flows
                  ELSE all_flows END AS flows,
        CASE kind WHEN 'aws_service_via_nat' THEN other_azs WHEN 'internet_egress' THEN destinations
                  WHEN 'new_external_destination' THEN senders WHEN 'exposed_port' THEN sources
                  WHEN 'port_scan' THEN ports END AS distinct_count,
        CASE WHEN kind = 'port_scan' THEN addresses END AS distinct_other,
        CASE WHEN kind = 'port_scan' THEN reached END AS accepted
    FROM kinds
    WHERE member
      AND CASE kind
              WHEN 'gateway_endpoint_bypass' THEN endpoint_bytes IS NOT NULL
              WHEN 'nat_cross_az' THEN cross_bytes IS NOT NULL
              WHEN 'aws_service_via_nat' THEN other_bytes IS NOT NULL
              WHEN 'internet_egress' THEN inet_interface IS NOT NULL AND sent_bytes IS NOT NULL
              WHEN 'new_external_destination' THEN is_new
              WHEN 'exposed_port' THEN exposed_flows IS NOT NULL
              WHEN 'port_scan' THEN source IS NOT NULL AND (ports > 1 OR addresses > 1)
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
