-- Totals per day over the report day and the seven before it (from the stored rollups),
-- so the change vs the previous day and vs the 7-day median need no raw-log rescan.
-- Transit Gateway records count too, as in the totals (sql/totals.sql); tgw_bytes says how
-- many of the bytes are theirs (traffic between VPCs is seen on both when both are logged).
SELECT
    dt,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN flows ELSE 0 END) AS flows,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN bytes ELSE 0 END) AS bytes,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN packets ELSE 0 END) AS packets,
    -- unknown (NULL) on a day with data records none of whose VPC records carries an action
    -- (a format without it, or only Transit Gateway records, which have none)
    IF(COUNT(CASE WHEN rollup_set = 'hours' THEN "action" END) = 0
       AND SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN flows ELSE 0 END) > 0, NULL,
       SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' AND "action" = 'ACCEPT' THEN flows ELSE 0 END)) AS accepted_flows,
    IF(COUNT(CASE WHEN rollup_set = 'hours' THEN "action" END) = 0
       AND SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN flows ELSE 0 END) > 0, NULL,
       SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' AND "action" = 'REJECT' THEN flows ELSE 0 END)) AS rejected_flows,
    SUM(CASE WHEN log_status = 'NODATA' THEN flows ELSE 0 END) AS nodata_records,
    SUM(CASE WHEN log_status = 'SKIPDATA' THEN flows ELSE 0 END) AS skipdata_records,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' AND rollup_set = 'tgw_hours' THEN bytes ELSE 0 END) AS tgw_bytes
FROM {rollup}
WHERE dt BETWEEN '{history_start}' AND '{date}' AND rollup_set IN ('hours', 'tgw_hours')
GROUP BY dt
ORDER BY dt
