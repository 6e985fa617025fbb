-- Bytes per interface (OK records) and every interface that wrote a record (NODATA ones
-- too, with 0 bytes): the inventory's coverage and top talkers by resource. The rollup's
-- small `hours` set has the interface; the raw logs are not read again.
SELECT
    interface_id,
    SUM(CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN bytes ELSE 0 END) AS bytes
FROM {rollup}
WHERE dt = '{date}' AND rollup_set = 'hours' AND interface_id IS NOT NULL
GROUP BY interface_id
ORDER BY interface_id
