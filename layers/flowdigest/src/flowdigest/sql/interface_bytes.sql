-- Per interface that wrote a record (NODATA ones too, with 0 bytes): its bytes (OK records),
-- for the inventory's coverage and top talkers by resource; and whether its records alone
-- make it a NAT gateway's (`{{nat_record}}` rendered without an inventory, queries.py), so
-- the inventory's NAT rule keeps that rule for the interfaces the inventory does not know.
-- Two narrow scans of the rollup's own small sets (`hours`, and `ingress`, whose interface
-- facts carry the action, translated flags and instance id): the raw logs are not read again.
SELECT
    interface_id,
    SUM(bytes) AS bytes,
    COALESCE(bool_or(nat_by_records), false) AS nat_by_records
FROM (
    SELECT interface_id, CASE WHEN COALESCE(log_status, 'OK') = 'OK' THEN bytes ELSE 0 END AS bytes,
           false AS nat_by_records
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'hours' AND interface_id IS NOT NULL
    UNION ALL
    SELECT interface_id, 0 AS bytes, true AS nat_by_records
    FROM {rollup}
    WHERE dt = '{date}' AND rollup_set = 'ingress' AND interface_id IS NOT NULL
        AND COALESCE(log_status, 'OK') = 'OK' AND "action" = 'ACCEPT'
        AND {nat_record}
) AS per_record
GROUP BY interface_id
ORDER BY interface_id
