-- Rejected traffic: the sources rejected most often (how many ports each tried: scans)
-- and the destination ports most rejected (misconfigured security groups / NACLs).
(
    SELECT
        'source' AS kind, srcaddr AS "value", CAST(NULL AS INTEGER) AS protocol,
        SUM(flows) AS flows, SUM(bytes) AS bytes, COUNT(DISTINCT dstport) AS distinct_count
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'rejects' AND COALESCE(log_status, 'OK') = 'OK' AND "action" = 'REJECT'
    GROUP BY srcaddr
    ORDER BY flows DESC, srcaddr
    LIMIT {limit}
)
UNION ALL
(
    SELECT
        'port' AS kind, CAST(dstport AS VARCHAR) AS "value", protocol,
        SUM(flows) AS flows, SUM(bytes) AS bytes, COUNT(DISTINCT srcaddr) AS distinct_count
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'rejects' AND COALESCE(log_status, 'OK') = 'OK' AND "action" = 'REJECT'
    GROUP BY dstport, protocol
    ORDER BY flows DESC, dstport, protocol
    LIMIT {limit}
)
