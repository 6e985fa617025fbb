-- Source -> destination pairs by bytes. A flow between two logged interfaces is recorded
-- on both (egress on one, ingress on the other): each pair counts the bytes seen by the
-- interface that saw the most, not the sum, so it is not counted twice.
WITH per_interface AS (
    SELECT
        srcaddr, dstaddr, interface_id,
        MAX(instance_id) AS instance_id,
        SUM(bytes) AS bytes, SUM(packets) AS packets, SUM(flows) AS flows
    FROM {rollup}
    WHERE dt = '{date}' AND log_status = 'OK'
    GROUP BY srcaddr, dstaddr, interface_id
)
SELECT
    srcaddr,
    dstaddr,
    MAX(bytes) AS bytes,
    MAX(packets) AS packets,
    MAX(flows) AS flows,
    MAX_BY(interface_id, bytes) AS interface_id,
    MAX_BY(instance_id, bytes) AS instance_id,
    COUNT(*) AS interfaces
FROM per_interface
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr, dstaddr
LIMIT {limit}
