-- Record status counts per hour: OK, NODATA (no traffic in the window) and SKIPDATA
-- (records the service could not capture), of the VPC and the Transit Gateway flow logs
-- (tgw_hours; their interfaces are not counted: a gateway record names an attachment).
SELECT "hour", log_status, SUM(flows) AS records, COUNT(DISTINCT interface_id) AS interfaces
FROM {rollup}
WHERE dt = '{date}' AND rollup_set IN ('hours', 'tgw_hours')
GROUP BY "hour", log_status
ORDER BY "hour", log_status
