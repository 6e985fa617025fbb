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
-- One scan of the rollup: Athena (Trino) inlines WITH queries, so each reference to a
-- query reading {rollup} would scan it again, and every scan is billed. So the rollup is
-- read once, in `ok`, and everything after works on that scan's rows with window
-- functions instead of self-joins and IN-subqueries:
--  * `on_nat`: a window over the interface says whether it is a NAT gateway interface;
--  * "is this source address a NAT private address?" relates one record's srcaddr to other
--    records' dstaddr, so each NAT-interface record is taken twice (UNNEST of sides 1 and
--    2), keyed once by its srcaddr and once by its dstaddr, and a window over that address
--    sees every record that names it on either side;
--  * the three outputs (total, top senders, top destinations) are one GROUP BY with
--    GROUPING SETS: (leg, address) gives senders and destinations, () the total (which
--    counts the public leg only and is there even when nothing went through a NAT);
--    row_number() per kind then applies the LIMIT, ordered by bytes DESC, address, and
--    the rows come out as the total, then the senders, then the destinations.
WITH ok AS (
    -- the one scan; a record with no interface_id is never on a NAT gateway interface
    SELECT
        srcaddr, dstaddr, src_translated, dst_translated,
        COALESCE(pkt_dst_aws_service, pkt_src_aws_service) AS service,
        bytes, flows,
        interface_id IS NOT NULL
            AND COALESCE(bool_or({nat_record}) OVER (PARTITION BY interface_id), false)
            AS on_nat
    FROM {rollup}
    -- accepted records; a format without action has none known to be rejected: all count
    WHERE dt = '{date}' AND rollup_set = 'flows' AND COALESCE(log_status, 'OK') = 'OK'
      AND COALESCE("action", 'ACCEPT') = 'ACCEPT'
),
sides AS (
    -- each NAT-interface record under its srcaddr (side 1) and its dstaddr (side 2):
    -- nat_address says whether that address is a NAT gateway's private address (never
    -- a NULL address: `srcaddr IN (...)` is not true for one)
    SELECT
        ok.*, s.side,
        bool_or(s.side = 2 AND ok.dst_translated AND ok.dstaddr IS NOT NULL)
            OVER (PARTITION BY CASE s.side WHEN 1 THEN ok.srcaddr ELSE ok.dstaddr END)
            OR {nat_private:CASE s.side WHEN 1 THEN ok.srcaddr ELSE ok.dstaddr END} AS nat_address
    FROM ok
    CROSS JOIN UNNEST(ARRAY[1, 2]) AS s(side)
    WHERE ok.on_nat
),
legs AS (
    -- back to one row per record (side 1: nat_address is about its srcaddr)
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
    FROM sides
    WHERE side = 1
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
