-- Which account, Region and VPC each interface and subnet is in: the findings name
-- resources by id, and the breakdown counts them per account and per VPC (the rollup's
-- ingress set holds each interface's place).
SELECT DISTINCT
    interface_id,
    subnet_id,
    vpc_id,
    account_id,
    region
FROM {rollup}
WHERE dt = '{date}' AND rollup_set = 'ingress' AND (account_id IS NOT NULL OR vpc_id IS NOT NULL)
