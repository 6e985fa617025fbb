-- Transit Gateway: bytes between attachments and between VPCs, packets lost by reason per
-- attachment, traffic between accounts and between Regions; from the rollup's 'tgw' set.
-- The gateway writes a record per attachment a flow passes: an ingress record on the one it
-- came in by (tgw-pair-attachment-id names the one it leaves by) and an egress record on
-- that one. Bytes between attachments, VPCs, accounts and Regions count the ingress records
-- only, so a flow counts once; without flow-direction in the format every record counts
-- (kind 'total' has every OK record, as the report's totals count them; 'once' the ones
-- counted). Packets lost are summed over every OK record of the attachment; a NULL sum means
-- no record knew it ('-'), never 0.
-- Each kind reads the day's 'tgw' set again (8 scans on Athena, of a set of a few KB: the
-- same bytes billed as one, under Athena's 10 MB minimum per query).
-- Rows: kind, tgw_id, src, dst, bytes, packets, flows and the four packets_lost_* columns.
WITH ok AS (
    SELECT *, COALESCE(flow_direction, 'ingress') = 'ingress' AS once,
           -- an AZ ID starts with its Region's code (use1-az1: use1): two ends' differ, it left the Region
           regexp_extract(tgw_src_az_id, '^([a-z0-9]+)-', 1) AS src_region,
           regexp_extract(tgw_dst_az_id, '^([a-z0-9]+)-', 1) AS dst_region
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'tgw' AND COALESCE(log_status, 'OK') = 'OK'
),
pairs AS (
    SELECT 'attachment_pair' AS kind, tgw_id, tgw_attachment_id AS src, tgw_pair_attachment_id AS dst,
           bytes, packets, flows
    FROM ok WHERE once
    UNION ALL
    SELECT 'vpc_pair', tgw_id, tgw_src_vpc_id, tgw_dst_vpc_id, bytes, packets, flows
    FROM ok WHERE once AND COALESCE(tgw_src_vpc_id, tgw_dst_vpc_id) IS NOT NULL
    UNION ALL
    SELECT 'account_pair', tgw_id, tgw_src_vpc_account_id, tgw_dst_vpc_account_id, bytes, packets, flows
    FROM ok WHERE once AND tgw_src_vpc_account_id <> tgw_dst_vpc_account_id
    UNION ALL
    SELECT 'region_pair', tgw_id, src_region, dst_region, bytes, packets, flows
    FROM ok WHERE once AND src_region <> dst_region
),
ranked AS (
    SELECT kind, tgw_id, src, dst, SUM(bytes) AS bytes, SUM(packets) AS packets, SUM(flows) AS flows,
           ROW_NUMBER() OVER (PARTITION BY kind ORDER BY SUM(bytes) DESC, tgw_id, src, dst) AS pos
    FROM pairs
    GROUP BY kind, tgw_id, src, dst
),
lost AS (
    SELECT 'lost' AS kind, tgw_id, tgw_attachment_id AS src, CAST(NULL AS VARCHAR) AS dst,
           SUM(bytes) AS bytes, SUM(packets) AS packets, SUM(flows) AS flows,
           SUM(packets_lost_no_route) AS packets_lost_no_route,
           SUM(packets_lost_blackhole) AS packets_lost_blackhole,
           SUM(packets_lost_mtu_exceeded) AS packets_lost_mtu_exceeded,
           SUM(packets_lost_ttl_expired) AS packets_lost_ttl_expired
    FROM ok
    GROUP BY tgw_id, tgw_attachment_id
)
SELECT kind, tgw_id, src, dst, bytes, packets, flows, packets_lost_no_route, packets_lost_blackhole,
       packets_lost_mtu_exceeded, packets_lost_ttl_expired
FROM (
    SELECT 'total' AS kind, CAST(NULL AS VARCHAR) AS tgw_id, CAST(NULL AS VARCHAR) AS src,
           CAST(NULL AS VARCHAR) AS dst, SUM(bytes) AS bytes, SUM(packets) AS packets, SUM(flows) AS flows,
           SUM(packets_lost_no_route) AS packets_lost_no_route,
           SUM(packets_lost_blackhole) AS packets_lost_blackhole,
           SUM(packets_lost_mtu_exceeded) AS packets_lost_mtu_exceeded,
           SUM(packets_lost_ttl_expired) AS packets_lost_ttl_expired, 0 AS pos
    FROM ok
    UNION ALL
    SELECT 'once', NULL, NULL, NULL, SUM(bytes), SUM(packets), SUM(flows), NULL, NULL, NULL, NULL, 0
    FROM ok WHERE once
    UNION ALL
    -- the records the gateway could not report on (data health)
    SELECT 'status', NULL, log_status, NULL, NULL, NULL, SUM(flows), NULL, NULL, NULL, NULL,
           ROW_NUMBER() OVER (ORDER BY log_status)
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'tgw' AND log_status IN ('NODATA', 'SKIPDATA')
    GROUP BY log_status
    UNION ALL
    SELECT kind, tgw_id, src, dst, bytes, packets, flows, NULL, NULL, NULL, NULL, pos
    FROM ranked WHERE pos <= {limit}
    UNION ALL
    SELECT kind, tgw_id, src, dst, bytes, packets, flows, packets_lost_no_route, packets_lost_blackhole,
           packets_lost_mtu_exceeded, packets_lost_ttl_expired,
           ROW_NUMBER() OVER (ORDER BY COALESCE(packets_lost_no_route, 0) + COALESCE(packets_lost_blackhole, 0)
                                       + COALESCE(packets_lost_mtu_exceeded, 0) + COALESCE(packets_lost_ttl_expired, 0)
                                       DESC, bytes DESC, tgw_id, src)
    FROM lost
) AS rows_out
WHERE kind <> 'lost' OR pos <= {limit}
ORDER BY CASE kind WHEN 'total' THEN 0 WHEN 'once' THEN 1 WHEN 'status' THEN 2 WHEN 'attachment_pair' THEN 3
                   WHEN 'vpc_pair' THEN 4 WHEN 'account_pair' THEN 5 WHEN 'region_pair' THEN 6 ELSE 7 END, pos
