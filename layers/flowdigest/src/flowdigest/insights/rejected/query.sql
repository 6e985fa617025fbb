-- Rejected traffic: the sources rejected most often (how many ports each tried: scans)
-- and the destination ports most rejected (misconfigured security groups / NACLs).
-- One scan of the rollup's rejects set (Athena inlines each reference to a query reading
-- {rollup} as another scan, and bills it): sources and ports are two grouping sets of one
-- GROUP BY, and row_number() per kind applies the limit (flows DESC, then the key).
WITH grouped AS (
    SELECT
        CASE WHEN GROUPING(srcaddr) = 0 THEN 'source' ELSE 'port' END AS kind,
        srcaddr, dstport, protocol,
        SUM(flows) AS flows, SUM(bytes) AS bytes,
        CASE WHEN GROUPING(srcaddr) = 0 THEN COUNT(DISTINCT dstport) ELSE COUNT(DISTINCT srcaddr) END
            AS distinct_count
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'rejects' AND COALESCE(log_status, 'OK') = 'OK' AND "action" = 'REJECT'
    GROUP BY GROUPING SETS ((srcaddr), (dstport, protocol))
),
ranked AS (
    -- a source group's dstport and protocol are NULL, a port group's srcaddr: one order for both
    SELECT grouped.*, row_number() OVER (PARTITION BY kind ORDER BY flows DESC, srcaddr, dstport, protocol) AS place
    FROM grouped
)
SELECT
    kind,
    CASE kind WHEN 'source' THEN srcaddr ELSE CAST(dstport AS VARCHAR) END AS "value",
    CASE kind WHEN 'port' THEN protocol END AS protocol,
    flows, bytes, distinct_count
FROM ranked
WHERE place <= {limit}
ORDER BY CASE kind WHEN 'source' THEN 1 ELSE 2 END, place
