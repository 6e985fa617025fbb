"""EKS pods on a node: the second cause AWS documents for a packet address that differs
from the record's address (the first is a NAT gateway).

A pod's address is not the node's interface address: on the node's ENI the record names
the interface (srcaddr / dstaddr) while the packet names the pod (pkt_srcaddr /
pkt_dstaddr), and the record carries the node's instance-id, which a NAT gateway's
interface never has. The servers the pods call see the pod's address in both.
"""

from __future__ import annotations

import numpy as np

from flowdigest.sample.codes import EGRESS, INGRESS, PATH_IN_VPC
from flowdigest.sample.draws import draw_flags, draw_sizes, ephemeral_ports, pick, to_packets
from flowdigest.sample.records import Block, Ctx, draw_times, interleave, window_start


def eks_pods(ctx: Ctx, n: int) -> Block:
    """Pods on the EKS node calling the VPC's servers, and the answers, on both ENIs."""
    lay, rng = ctx.lay, ctx.rng
    node = lay.eks_node
    k = pick(rng, lay.pair_cdf, n)
    server = np.where(lay.pair_s[k] == node, lay.pair_c[k], lay.pair_s[k])  # never the node itself
    pod = lay.eks_pods[rng.integers(0, len(lay.eks_pods), n)]
    node_addr, server_addr = lay.eni_addr[node], lay.eni_addr[server]
    proto, port = np.full(n, 6), np.where(lay.pair_proto[k] == 17, 8080, lay.pair_port[k])  # pods speak TCP
    end, frac = draw_times(ctx, n)
    pod_port = ephemeral_ports(rng, n)
    qp, qb = to_packets(rng, draw_sizes(rng, lay.pair_req[k]), proto)
    rp, rb = to_packets(rng, draw_sizes(rng, np.maximum(lay.pair_resp[k], 1_000.0)), proto)
    cf, sf = draw_flags(rng, proto)
    at_node, at_server = window_start(ctx, end, frac, node), window_start(ctx, end, frac, server)
    ask = dict(proto=proto, packets=qp, bytes=qb, flags=cf, end=end, sport=pod_port, dport=port,
               dst=server_addr, psrc=pod, pdst=server_addr)
    answer = dict(proto=proto, packets=rp, bytes=rb, flags=sf, end=end, sport=port, dport=pod_port,
                  src=server_addr, psrc=server_addr, pdst=pod)
    return interleave(n, [
        {**ask, "eni": node, "dir": EGRESS, "path": PATH_IN_VPC, "start": at_node, "src": node_addr},
        {**ask, "eni": server, "dir": INGRESS, "start": at_server, "src": pod},
        {**answer, "eni": server, "dir": EGRESS, "path": PATH_IN_VPC, "start": at_server, "dst": pod},
        {**answer, "eni": node, "dir": INGRESS, "start": at_node, "dst": node_addr},
    ])
