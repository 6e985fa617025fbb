-- Pairs not seen in the previous seven days' rollups, largest first. Only days that have
-- a rollup count as history; the report says how many there were.
WITH today AS (
    SELECT srcaddr, dstaddr, SUM(bytes) AS bytes, SUM(flows) AS flows
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'flows' AND COALESCE(log_status, 'OK') = 'OK'
    GROUP BY srcaddr, dstaddr
),
seen AS (
    SELECT DISTINCT srcaddr, dstaddr
    FROM {rollup}
    WHERE dt >= '{history_start}' AND dt < '{date}' AND rollup_set = 'flows' AND COALESCE(log_status, 'OK') = 'OK'
)
SELECT t.srcaddr, t.dstaddr, t.bytes, t.flows
FROM today AS t
LEFT JOIN seen AS s ON t.srcaddr = s.srcaddr AND t.dstaddr = s.dstaddr
WHERE s.srcaddr IS NULL
ORDER BY t.bytes DESC, t.srcaddr, t.dstaddr
LIMIT {limit}
