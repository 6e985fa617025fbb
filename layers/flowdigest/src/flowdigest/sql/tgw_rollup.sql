-- One day of Transit Gateway flow logs folded into two small sets of the daily rollup
-- (scanned once a day, like daily_rollup.sql, from the table of their own, tgw_flow_logs):
--   tgw        per attachment and its pair, resource type, source / destination VPC, account
--              and AZ, the gateway's Region, log status and flow direction: bytes, packets,
--              records and the packets lost by reason
--   tgw_hours  records, bytes and packets per hour, log status and flow direction (the totals
--              and data health)
-- AWS writes '-' (text) or NULL / '-' (Parquet) where a field does not apply or could not be
-- computed: every string is NULLIF(x, '-'), and a packets-lost sum over no known value stays
-- NULL (unknown), never 0.
SELECT
    CASE WHEN GROUPING("hour") = 0 THEN 'tgw_hours' ELSE 'tgw' END AS rollup_set,
    CAST("hour" AS INTEGER) AS "hour",
    log_status,
    flow_direction,
    tgw_id,
    tgw_attachment_id,
    tgw_pair_attachment_id,
    resource_type,
    tgw_src_vpc_account_id,
    tgw_dst_vpc_account_id,
    tgw_src_vpc_id,
    tgw_dst_vpc_id,
    tgw_src_az_id,
    tgw_dst_az_id,
    tgw_region,
    COUNT(*) AS flows,
    CAST(SUM(packets) AS BIGINT) AS packets,
    CAST(SUM(bytes) AS BIGINT) AS bytes,
    CAST(SUM(packets_lost_no_route) AS BIGINT) AS packets_lost_no_route,
    CAST(SUM(packets_lost_blackhole) AS BIGINT) AS packets_lost_blackhole,
    CAST(SUM(packets_lost_mtu_exceeded) AS BIGINT) AS packets_lost_mtu_exceeded,
    CAST(SUM(packets_lost_ttl_expired) AS BIGINT) AS packets_lost_ttl_expired,
    '{date}' AS dt
FROM (
    SELECT
        "hour", NULLIF(log_status, '-') AS log_status, NULLIF(flow_direction, '-') AS flow_direction,
        NULLIF(tgw_id, '-') AS tgw_id, NULLIF(tgw_attachment_id, '-') AS tgw_attachment_id,
        NULLIF(tgw_pair_attachment_id, '-') AS tgw_pair_attachment_id,
        NULLIF(resource_type, '-') AS resource_type,
        NULLIF(tgw_src_vpc_account_id, '-') AS tgw_src_vpc_account_id,
        NULLIF(tgw_dst_vpc_account_id, '-') AS tgw_dst_vpc_account_id,
        NULLIF(tgw_src_vpc_id, '-') AS tgw_src_vpc_id, NULLIF(tgw_dst_vpc_id, '-') AS tgw_dst_vpc_id,
        NULLIF(tgw_src_az_id, '-') AS tgw_src_az_id, NULLIF(tgw_dst_az_id, '-') AS tgw_dst_az_id,
        NULLIF(region, '-') AS tgw_region,
        packets, bytes, packets_lost_no_route, packets_lost_blackhole, packets_lost_mtu_exceeded,
        packets_lost_ttl_expired
    FROM {tgw_flow_logs}
    -- the run's filters (flowdigest.scope): the gateway's account and Region, a VPC on either side
    WHERE "year" = '{year}' AND "month" = '{month}' AND "day" = '{day}' AND {tgw_scope}
) AS day_logs
GROUP BY GROUPING SETS (
    (log_status, flow_direction, tgw_id, tgw_attachment_id, tgw_pair_attachment_id, resource_type,
     tgw_src_vpc_account_id, tgw_dst_vpc_account_id, tgw_src_vpc_id, tgw_dst_vpc_id, tgw_src_az_id,
     tgw_dst_az_id, tgw_region),
    ("hour", log_status, flow_direction)
)
