-- NAT gateway: bytes it processed (its public leg, both directions), the internal
-- addresses behind them and the external addresses they reached. NAT gateway interfaces
-- are those `{{nat_record}}` marks (queries.py): with the day's inventory, the interfaces it
-- says are NAT gateways'; without, an interface with a record that has no instance id and
-- whose packet address differs from its record address (src_translated / dst_translated);
-- an EKS node's pods differ too, but its records carry the node's instance id (without
-- the instance-id field, EKS nodes count as NAT). Their private addresses are where the
-- private leg of outbound packets goes: the dstaddr of any dst_translated record on a NAT
-- gateway interface, and those the inventory gives (a NAT gateway may have several, and
-- there may be several NAT gateways: it is one set over all of them).
--
-- Both facts that need other records come from the rollup's small ingress set (a row per
-- interface and own address, daily_rollup.sql), joined to the flows set's NAT-interface rows:
--  * `nat_interfaces`: the interfaces that are NAT gateways';
--  * `nat_addresses`: their private addresses (the destination of a translated-destination
--    record on one), so a public-leg record whose source is one is outbound.
-- Athena inlines WITH queries: the ingress set's few columns are read three times
-- (nat_interfaces, by nat_addresses and by nat_records, and nat_addresses' own); the flows
-- set once. Then the three outputs (total, top senders, top
-- destinations) are one GROUP BY with GROUPING SETS: (leg, address) gives senders and
-- destinations, () the total (which counts the public leg only and is there even when
-- nothing went through a NAT); row_number() per kind then applies the LIMIT, ordered by
-- bytes DESC, address, and the rows come out as the total, then the senders, then the
-- destinations.
WITH nat_interfaces AS (
    SELECT interface_id
    FROM {rollup}
    -- accepted records; a format without action has none known to be rejected: all count
    WHERE dt = '{date}' AND rollup_set = 'ingress' AND COALESCE(log_status, 'OK') = 'OK'
      AND COALESCE("action", 'ACCEPT') = 'ACCEPT' AND interface_id IS NOT NULL
    GROUP BY interface_id
    HAVING COALESCE(bool_or({nat_record}), false)
),
nat_addresses AS (
    SELECT DISTINCT r.translated_dstaddr AS address
    FROM {rollup} AS r
    JOIN nat_interfaces AS n ON n.interface_id = r.interface_id
    WHERE r.dt = '{date}' AND r.rollup_set = 'ingress' AND COALESCE(r.log_status, 'OK') = 'OK'
      AND COALESCE(r."action", 'ACCEPT') = 'ACCEPT' AND r.translated_dstaddr IS NOT NULL
),
nat_records AS (
    -- the NAT interfaces' accepted records; nat_address: whether the source is a NAT
    -- gateway's private address (never a NULL address: `srcaddr IN (...)` is not true for one)
    SELECT
        r.srcaddr, r.dstaddr, r.src_translated, r.dst_translated,
        COALESCE(r.pkt_dst_aws_service, r.pkt_src_aws_service) AS service,
        r.bytes, r.flows,
        a.address IS NOT NULL OR {nat_private:r.srcaddr} AS nat_address
    FROM {rollup} AS r
    JOIN nat_interfaces AS n ON n.interface_id = r.interface_id
    LEFT JOIN nat_addresses AS a ON a.address = r.srcaddr
    WHERE r.dt = '{date}' AND r.rollup_set = 'flows' AND COALESCE(r.log_status, 'OK') = 'OK'
      AND COALESCE(r."action", 'ACCEPT') = 'ACCEPT'
),
legs AS (
    -- a sender is what an internal address sent out through the NAT (the private leg's
    -- outbound records, dst_translated); the private leg's replies (src_translated only)
    -- repeat the public leg's inbound bytes and are not what anyone sent: left out
    SELECT
        CASE
            WHEN COALESCE(dst_translated, false) THEN 'sender'
            WHEN COALESCE(src_translated, false) THEN 'reply'
            ELSE 'destination'
        END AS leg,
        CASE
            -- private leg: the internal address
            WHEN COALESCE(src_translated OR dst_translated, false)
                THEN CASE WHEN dst_translated THEN srcaddr ELSE dstaddr END
            -- public leg: the external address
            WHEN nat_address THEN dstaddr
            ELSE srcaddr
        END AS address,
        CASE WHEN NOT COALESCE(src_translated OR dst_translated, false) THEN service END AS service,
        bytes,
        flows
    FROM nat_records
),
grouped AS (
    SELECT
        CASE WHEN GROUPING(leg) = 1 THEN 'total' ELSE leg END AS kind,
        address,
        CASE WHEN GROUPING(leg) = 1 THEN CAST(NULL AS VARCHAR) ELSE MAX(service) END AS service,
        CASE WHEN GROUPING(leg) = 1
             THEN COALESCE(SUM(CASE WHEN leg = 'destination' THEN bytes END), 0)
             ELSE SUM(bytes) END AS bytes,
        CASE WHEN GROUPING(leg) = 1
             THEN COALESCE(SUM(CASE WHEN leg = 'destination' THEN flows END), 0)
             ELSE SUM(flows) END AS flows
    FROM legs
    WHERE leg <> 'reply'
    GROUP BY GROUPING SETS ((leg, address), ())
),
ranked AS (
    SELECT
        kind, address, service, bytes, flows,
        row_number() OVER (PARTITION BY kind ORDER BY bytes DESC, address) AS place
    FROM grouped
)
SELECT kind, address, service, bytes, flows
FROM ranked
WHERE kind = 'total' OR place <= {limit}
ORDER BY CASE kind WHEN 'total' THEN 1 WHEN 'sender' THEN 2 ELSE 3 END, place
