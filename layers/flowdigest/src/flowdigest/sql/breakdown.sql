-- Flows, bytes and packets of OK records per account, Region and VPC (report.json's
-- breakdown): the rollup's small ingress set holds every record under its interface's
-- account, Region and VPC.
SELECT
    account_id,
    region,
    vpc_id,
    SUM(flows) AS flows,
    SUM(bytes) AS bytes,
    SUM(packets) AS packets
FROM {rollup}
WHERE dt = '{date}' AND rollup_set = 'ingress' AND COALESCE(log_status, 'OK') = 'OK'
GROUP BY account_id, region, vpc_id
