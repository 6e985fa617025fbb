-- Destination ports and protocols by bytes (accepted and rejected alike).
SELECT protocol, dstport, SUM(bytes) AS bytes, SUM(flows) AS flows
FROM {rollup}
WHERE dt = '{date}' AND rollup_set = 'ports' AND COALESCE(log_status, 'OK') = 'OK'
GROUP BY protocol, dstport
ORDER BY bytes DESC, protocol, dstport
LIMIT {limit}
