-- The report day's totals, from the rollup's small 'hours' set: run for every report,
-- whichever insights run. A format without log-status has a NULL log_status: its
-- records are all data records (AWS writes NODATA / SKIPDATA only in that field), so
-- they count as OK. accepted / rejected are unknown without "action" (the pipeline
-- makes them null then: this query cannot tell a missing field from no rejects).
-- Transit Gateway records (the tgw_hours set) count too: a day with both VPC and TGW flow
-- logs sees traffic between VPCs once on each VPC's interfaces and once on the gateway (the
-- transit_gateway insight's own totals say how much of the day is the gateway's).
SELECT
    COALESCE(SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN flows END), 0) AS flows,
    COALESCE(SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN bytes END), 0) AS bytes,
    COALESCE(SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN packets END), 0) AS packets,
    COALESCE(SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' AND "action" = 'ACCEPT' THEN flows END), 0)
        AS accepted_flows,
    COALESCE(SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' AND "action" = 'REJECT' THEN flows END), 0)
        AS rejected_flows,
    COALESCE(SUM(CASE WHEN log_status = 'NODATA' THEN flows END), 0) AS nodata_records,
    COALESCE(SUM(CASE WHEN log_status = 'SKIPDATA' THEN flows END), 0) AS skipdata_records
FROM {rollup}
WHERE dt = '{date}' AND rollup_set IN ('hours', 'tgw_hours')
