-- One day of raw flow logs folded into a compact rollup that every insight reads.
-- It keeps what the insights group by and drops srcport and per-record times, so the
-- raw logs are scanned once a day (the columns below only, the day's partitions only).
SELECT
    CAST("hour" AS INTEGER) AS "hour",
    log_status,
    "action",
    interface_id,
    instance_id,
    srcaddr,
    dstaddr,
    dstport,
    protocol,
    flow_direction,
    traffic_path,
    pkt_srcaddr,
    pkt_dstaddr,
    pkt_src_aws_service,
    pkt_dst_aws_service,
    COUNT(*) AS flows,
    CAST(SUM(packets) AS BIGINT) AS packets,  -- DuckDB would widen to HUGEINT (DOUBLE in Parquet)
    CAST(SUM(bytes) AS BIGINT) AS bytes,
    '{date}' AS dt
FROM {flow_logs}
WHERE "year" = '{year}' AND "month" = '{month}' AND "day" = '{day}'
GROUP BY
    CAST("hour" AS INTEGER), log_status, "action", interface_id, instance_id, srcaddr, dstaddr,
    dstport, protocol, flow_direction, traffic_path, pkt_srcaddr, pkt_dstaddr,
    pkt_src_aws_service, pkt_dst_aws_service
