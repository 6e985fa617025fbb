-- Bytes per UTC hour (the delivery partition), ingress vs egress as seen by the interfaces.
SELECT
    "hour",
    SUM(CASE WHEN flow_direction = 'ingress' THEN bytes ELSE 0 END) AS ingress_bytes,
    SUM(CASE WHEN flow_direction = 'egress' THEN bytes ELSE 0 END) AS egress_bytes,
    SUM(CASE WHEN flow_direction IS NULL THEN bytes ELSE 0 END) AS unknown_bytes,
    SUM(flows) AS flows
FROM {rollup}
WHERE dt = '{date}' AND rollup_set = 'hours' AND COALESCE(log_status, 'OK') = 'OK'
GROUP BY "hour"
ORDER BY "hour"
