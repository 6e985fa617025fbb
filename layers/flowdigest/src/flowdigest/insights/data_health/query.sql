-- Record status counts per hour: OK, NODATA (no traffic in the window) and SKIPDATA
-- (records the service could not capture).
SELECT "hour", log_status, SUM(flows) AS records, COUNT(DISTINCT interface_id) AS interfaces
FROM {rollup}
WHERE dt = '{date}' AND rollup_set = 'hours'
GROUP BY "hour", log_status
ORDER BY "hour", log_status
