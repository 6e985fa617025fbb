-- Source -> destination pairs by bytes. A flow between two logged interfaces is recorded
-- on both (egress on one, ingress on the other): each pair counts the bytes seen by the
-- interface that saw the most, not the sum, so it is not counted twice.
WITH per_interface AS (
    SELECT
        srcaddr, dstaddr, interface_id,
        MAX(instance_id) AS instance_id,
        SUM(bytes) AS bytes, SUM(packets) AS packets, SUM(flows) AS flows
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'flows' AND COALESCE(log_status, 'OK') = 'OK'
    GROUP BY srcaddr, dstaddr, interface_id
),
ranked AS (
    -- ties (both ends saw the same bytes) go to the lowest interface id, so runs agree
    SELECT
        per_interface.*,
        ROW_NUMBER() OVER (PARTITION BY srcaddr, dstaddr ORDER BY bytes DESC, interface_id) AS rn,
        COUNT(*) OVER (PARTITION BY srcaddr, dstaddr) AS interfaces
    FROM per_interface
)
SELECT srcaddr, dstaddr, bytes, packets, flows, interface_id, instance_id, interfaces
FROM ranked
WHERE rn = 1
ORDER BY bytes DESC, srcaddr, dstaddr
LIMIT {limit}
