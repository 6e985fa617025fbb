-- One day of raw flow logs folded into the compact rollup every insight reads, so the raw
-- logs are scanned once a day (the columns below only, the day's partitions only).
-- One scan feeds four grouping sets, each as narrow as the insights that read it:
--   flows   pairs, interfaces, paths and AWS services (no hour, no port: those multiply rows)
--   hours   bytes and records per hour, interface, direction and action (small: the
--           headline reads it for eight days)
--   ports   bytes per destination port and protocol
--   rejects rejected sources and ports (accepted rows collapse: their address and port are NULL)
-- Packet-level addresses matter only as "translated or not" (the NAT gateway's legs).
SELECT
    CASE
        WHEN GROUPING("hour") = 0 THEN 'hours'
        WHEN GROUPING(dstport) = 0 THEN 'ports'
        WHEN GROUPING(rejected_dstport) = 0 THEN 'rejects'
        ELSE 'flows'
    END AS rollup_set,
    CAST("hour" AS INTEGER) AS "hour",
    log_status,
    "action",
    interface_id,
    instance_id,
    CASE WHEN GROUPING(rejected_srcaddr) = 0 THEN rejected_srcaddr ELSE srcaddr END AS srcaddr,
    dstaddr,
    CASE WHEN GROUPING(rejected_dstport) = 0 THEN rejected_dstport ELSE dstport END AS dstport,
    protocol,
    flow_direction,
    traffic_path,
    src_translated,
    dst_translated,
    pkt_src_aws_service,
    pkt_dst_aws_service,
    COUNT(*) AS flows,
    CAST(SUM(packets) AS BIGINT) AS packets,  -- DuckDB would widen to HUGEINT (DOUBLE in Parquet)
    CAST(SUM(bytes) AS BIGINT) AS bytes,
    '{date}' AS dt
FROM (
    -- AWS may write a missing string as NULL or as '-' in Parquet: every string read is
    -- NULLIF(x, '-'), so both are NULL from here on (text logs' '-' already reads as NULL)
    SELECT
        "hour", NULLIF(log_status, '-') AS log_status, NULLIF("action", '-') AS "action",
        NULLIF(interface_id, '-') AS interface_id, NULLIF(instance_id, '-') AS instance_id,
        NULLIF(srcaddr, '-') AS srcaddr, NULLIF(dstaddr, '-') AS dstaddr, dstport, protocol,
        NULLIF(flow_direction, '-') AS flow_direction, traffic_path, packets, bytes,
        NULLIF(pkt_src_aws_service, '-') AS pkt_src_aws_service,
        NULLIF(pkt_dst_aws_service, '-') AS pkt_dst_aws_service,
        NULLIF(pkt_srcaddr, '-') <> NULLIF(srcaddr, '-') AS src_translated,
        NULLIF(pkt_dstaddr, '-') <> NULLIF(dstaddr, '-') AS dst_translated,
        CASE WHEN "action" = 'REJECT' THEN NULLIF(srcaddr, '-') END AS rejected_srcaddr,
        CASE WHEN "action" = 'REJECT' THEN dstport END AS rejected_dstport
    FROM {flow_logs}
    WHERE "year" = '{year}' AND "month" = '{month}' AND "day" = '{day}'
) AS day_logs
GROUP BY GROUPING SETS (
    (log_status, "action", interface_id, instance_id, srcaddr, dstaddr, flow_direction, traffic_path,
     src_translated, dst_translated, pkt_src_aws_service, pkt_dst_aws_service),
    ("hour", log_status, "action", interface_id, flow_direction),
    (log_status, protocol, dstport),
    (log_status, "action", rejected_srcaddr, protocol, rejected_dstport)
)
