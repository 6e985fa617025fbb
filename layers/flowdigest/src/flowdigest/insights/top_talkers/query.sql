-- Source -> destination pairs by bytes. A flow between two logged interfaces is recorded
-- on both (egress on one, ingress on the other): each pair counts the bytes seen by the
-- interface that saw the most, not the sum, so it is not counted twice.
-- Two aggregations, no window (a window over a big day's pairs does not fit in memory): per
-- pair and interface, then per pair, where one min_by picks the values of the interface that
-- saw the most (one aggregate of a row costs half the time of four). Its key orders by bytes
-- DESC, then interface id, unknowns last, so ties (both ends saw the same bytes) go to the
-- lowest interface id and runs agree; no field of the key is NULL (Athena's Trino cannot
-- order rows with NULL fields). min_by skips a NULL value in DuckDB (not in Athena):
-- the row is never NULL, and a NULL id inside it stays NULL. The winner's instance id is
-- its interface's, from the small ingress set (the flows set has none): the day's, so an
-- interface moved to another instance during the day names the greatest instance id.
WITH per_interface AS (
    SELECT
        srcaddr, dstaddr, interface_id,
        SUM(bytes) AS bytes, SUM(packets) AS packets, SUM(flows) AS flows
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'flows' AND COALESCE(log_status, 'OK') = 'OK'
    GROUP BY srcaddr, dstaddr, interface_id
),
per_pair AS (
    SELECT
        srcaddr, dstaddr,
        MAX(bytes) AS bytes,
        min_by(ROW(packets, flows, interface_id),
               ROW(bytes IS NULL, -COALESCE(bytes, 0), interface_id IS NULL, COALESCE(interface_id, ''))) AS busiest,
        COUNT(*) AS interfaces
    FROM per_interface
    GROUP BY srcaddr, dstaddr
),
top AS (
    SELECT * FROM per_pair ORDER BY bytes DESC, srcaddr, dstaddr LIMIT {limit}
),
named AS (
    -- the ten winners' fields by name (a cast of every pair's row would double the time)
    SELECT
        srcaddr, dstaddr, bytes, interfaces,
        CAST(busiest AS ROW(packets BIGINT, flows BIGINT, interface_id VARCHAR)) AS busiest
    FROM top
),
instances AS (
    SELECT interface_id, MAX(instance_id) AS instance_id
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'ingress' AND COALESCE(log_status, 'OK') = 'OK' AND interface_id IS NOT NULL
    GROUP BY interface_id
)
SELECT
    n.srcaddr, n.dstaddr, n.bytes, n.busiest.packets AS packets, n.busiest.flows AS flows,
    n.busiest.interface_id AS interface_id, i.instance_id, n.interfaces
FROM named AS n
LEFT JOIN instances AS i ON i.interface_id = n.busiest.interface_id
ORDER BY n.bytes DESC, n.srcaddr, n.dstaddr
