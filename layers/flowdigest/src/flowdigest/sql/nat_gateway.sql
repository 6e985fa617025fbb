-- NAT gateway: bytes it processed (its public leg, both directions), the internal
-- addresses behind them and the external addresses they reached. NAT gateway interfaces
-- and their private addresses are recognised as in gateway_endpoint.sql.
WITH ok AS (
    SELECT * FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'flows' AND log_status = 'OK' AND "action" = 'ACCEPT'
),
nat_interfaces AS (
    SELECT DISTINCT interface_id FROM ok
    WHERE dst_translated OR src_translated
),
on_nat AS (
    SELECT ok.* FROM ok JOIN nat_interfaces AS n ON ok.interface_id = n.interface_id
),
nat_addresses AS (
    -- the NAT's own private address: where the private leg of outbound packets goes
    SELECT DISTINCT dstaddr AS address FROM on_nat WHERE dst_translated
),
public_leg AS (
    SELECT
        CASE WHEN srcaddr IN (SELECT address FROM nat_addresses) THEN dstaddr ELSE srcaddr END AS external,
        COALESCE(pkt_dst_aws_service, pkt_src_aws_service) AS service,
        bytes, flows
    FROM on_nat
    WHERE NOT COALESCE(src_translated OR dst_translated, false)
),
private_leg AS (
    SELECT CASE WHEN dst_translated THEN srcaddr ELSE dstaddr END AS internal, bytes, flows
    FROM on_nat
    WHERE dst_translated OR src_translated
)
(
    SELECT 'total' AS kind, CAST(NULL AS VARCHAR) AS address, CAST(NULL AS VARCHAR) AS service,
           COALESCE(SUM(bytes), 0) AS bytes, COALESCE(SUM(flows), 0) AS flows
    FROM public_leg
)
UNION ALL
(
    SELECT 'sender' AS kind, internal AS address, CAST(NULL AS VARCHAR) AS service,
           SUM(bytes) AS bytes, SUM(flows) AS flows
    FROM private_leg
    GROUP BY internal
    ORDER BY bytes DESC, internal
    LIMIT {limit}
)
UNION ALL
(
    SELECT 'destination' AS kind, external AS address, MAX(service) AS service,
           SUM(bytes) AS bytes, SUM(flows) AS flows
    FROM public_leg
    GROUP BY external
    ORDER BY bytes DESC, external
    LIMIT {limit}
)
