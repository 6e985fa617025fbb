-- One day of raw flow logs folded into the compact rollup every insight reads, so the raw
-- logs are scanned once a day (the columns below only, the day's partitions only).
-- One scan feeds five grouping sets, each as narrow as the insights that read it:
--   flows   pairs, interfaces, paths and AWS services (no hour, no port: those multiply rows;
--           no instance id: the ingress set has it, per interface)
--   hours   bytes and records per hour, interface, direction and action (small: the
--           headline reads it for eight days)
--   ports   bytes per destination port and protocol
--   rejects rejected sources and ports (accepted rows collapse: their address and port are NULL)
--   ingress the interface facts, a row per interface and own address (an interface that
--           forwards others' traffic, a firewall or a Transit Gateway attachment, has one per
--           address it forwards for): its place (subnet, VPC, AZ,
--           account, Region: the record's account-id / region, else its S3 prefix's, so a
--           format without interface-id does not mix accounts); its own addresses (own_addr:
--           an egress record's srcaddr, an ingress record's dstaddr) and the destinations of
--           its translated records (translated_dstaddr: a NAT gateway's private address), with
--           the action, instance id and translated flags that tell a NAT gateway's interface
--           (queries.py, {{nat_record}}); and under it the accepted ingress from public
--           addresses to a listening port, per source and port (the findings' exposed
--           ports). Web ports 80/443 and ephemeral ports (>= 32768, where responses arrive)
--           are left out to keep it small. The queries join these small facts to the flows
--           set instead of computing them with windows over it, which a big day's flows set
--           does not fit in memory for (bench/README.md, "An organisation's day"). The place
--           depends on the interface, so it adds no rows here, where the flows set's keys
--           would cost a third more build time.
-- Packet-level addresses matter only as "translated or not" (the NAT gateway's legs).
-- The rollup is a multiset of partial aggregates: a group may be stored as several rows whose
-- flows, packets and bytes add up to it (the embedded engine builds a big day in slices of its
-- files: engine/slices.py). So a query over it aggregates (SUM, MIN, COUNT(DISTINCT), bool_or)
-- by its own keys before it uses a row's counters, and never counts rows.
SELECT
    CASE
        WHEN GROUPING("hour") = 0 THEN 'hours'
        WHEN GROUPING(dstport) = 0 THEN 'ports'
        WHEN GROUPING(rejected_dstport) = 0 THEN 'rejects'
        WHEN GROUPING(ingress_dstport) = 0 THEN 'ingress'
        ELSE 'flows'
    END AS rollup_set,
    CAST("hour" AS INTEGER) AS "hour",
    log_status,
    "action",
    interface_id,
    instance_id,
    CASE
        WHEN GROUPING(rejected_srcaddr) = 0 THEN rejected_srcaddr
        WHEN GROUPING(ingress_srcaddr) = 0 THEN ingress_srcaddr
        ELSE srcaddr
    END AS srcaddr,
    dstaddr,
    CASE
        WHEN GROUPING(rejected_dstport) = 0 THEN rejected_dstport
        WHEN GROUPING(ingress_dstport) = 0 THEN ingress_dstport
        ELSE dstport
    END AS dstport,
    protocol,
    flow_direction,
    traffic_path,
    src_translated,
    dst_translated,
    pkt_src_aws_service,
    pkt_dst_aws_service,
    subnet_id,  -- the ingress set's only, to the end of the keys
    vpc_id,
    az_id,
    account_id,
    region,
    own_addr,
    translated_dstaddr,
    COUNT(*) AS flows,
    CAST(SUM(packets) AS BIGINT) AS packets,  -- DuckDB would widen to HUGEINT (DOUBLE in Parquet)
    CAST(SUM(bytes) AS BIGINT) AS bytes,
    '{date}' AS dt
FROM (
    -- AWS may write a missing string as NULL or as '-' in Parquet: every string read is
    -- NULLIF(x, '-'), so both are NULL from here on (text logs' '-' already reads as NULL)
    SELECT
        day_logs.*,
        CASE WHEN ingress_srcaddr IS NOT NULL THEN dstport END AS ingress_dstport
    FROM (
        SELECT
            "hour", NULLIF(log_status, '-') AS log_status, NULLIF("action", '-') AS "action",
            NULLIF(interface_id, '-') AS interface_id, NULLIF(instance_id, '-') AS instance_id,
            NULLIF(srcaddr, '-') AS srcaddr, NULLIF(dstaddr, '-') AS dstaddr, dstport, protocol,
            NULLIF(flow_direction, '-') AS flow_direction, traffic_path, packets, bytes,
            NULLIF(pkt_src_aws_service, '-') AS pkt_src_aws_service,
            NULLIF(pkt_dst_aws_service, '-') AS pkt_dst_aws_service,
            NULLIF(subnet_id, '-') AS subnet_id, NULLIF(vpc_id, '-') AS vpc_id, NULLIF(az_id, '-') AS az_id,
            COALESCE(NULLIF(account_id, '-'), aws_account_id) AS account_id,
            COALESCE(NULLIF(region, '-'), aws_region) AS region,
            NULLIF(pkt_srcaddr, '-') <> NULLIF(srcaddr, '-') AS src_translated,
            NULLIF(pkt_dstaddr, '-') <> NULLIF(dstaddr, '-') AS dst_translated,
            CASE NULLIF(flow_direction, '-') WHEN 'egress' THEN NULLIF(srcaddr, '-')
                                             WHEN 'ingress' THEN NULLIF(dstaddr, '-') END AS own_addr,
            CASE WHEN NULLIF(pkt_dstaddr, '-') <> NULLIF(dstaddr, '-') THEN NULLIF(dstaddr, '-') END
                AS translated_dstaddr,
            CASE WHEN "action" = 'REJECT' THEN NULLIF(srcaddr, '-') END AS rejected_srcaddr,
            CASE WHEN "action" = 'REJECT' THEN dstport END AS rejected_dstport,
            -- the cheap tests first: the address test runs only for the few records left
            CASE WHEN "action" = 'ACCEPT' AND dstport < 32768 AND dstport NOT IN (80, 443)
                      AND (NULLIF(flow_direction, '-') IS NULL OR flow_direction = 'ingress')
                      AND {is_public:NULLIF(srcaddr, '-')}
                 THEN NULLIF(srcaddr, '-') END AS ingress_srcaddr
        FROM {flow_logs}
        -- the run's filters (flowdigest.scope): partitions of the accounts and Regions asked for
        WHERE "year" = '{year}' AND "month" = '{month}' AND "day" = '{day}' AND {scope}
    ) AS day_logs
) AS day_logs
GROUP BY GROUPING SETS (
    (log_status, "action", interface_id, srcaddr, dstaddr, flow_direction, traffic_path,
     src_translated, dst_translated, pkt_src_aws_service, pkt_dst_aws_service),
    ("hour", log_status, "action", interface_id, flow_direction),
    (log_status, protocol, dstport),
    (log_status, "action", rejected_srcaddr, protocol, rejected_dstport),
    (log_status, "action", interface_id, instance_id, src_translated, dst_translated, own_addr, translated_dstaddr,
     subnet_id, vpc_id, az_id, account_id, region, ingress_srcaddr, ingress_dstport)
)
