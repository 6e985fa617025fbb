-- Totals per day over the report day and the seven before it (from the stored rollups),
-- so the change vs the previous day and vs the 7-day median need no raw-log rescan.
SELECT
    dt,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN flows ELSE 0 END) AS flows,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN bytes ELSE 0 END) AS bytes,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN packets ELSE 0 END) AS packets,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' AND "action" = 'ACCEPT' THEN flows ELSE 0 END) AS accepted_flows,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' AND "action" = 'REJECT' THEN flows ELSE 0 END) AS rejected_flows,
    SUM(CASE WHEN log_status = 'NODATA' THEN flows ELSE 0 END) AS nodata_records,
    SUM(CASE WHEN log_status = 'SKIPDATA' THEN flows ELSE 0 END) AS skipdata_records
FROM {rollup}
WHERE dt BETWEEN '{history_start}' AND '{date}' AND rollup_set = 'hours'
GROUP BY dt
ORDER BY dt
