"""Writing a file: a block of records as AWS's Parquet (the v5 fields, dictionary-encoded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from flowdigest import fields
from flowdigest.sample.codes import SERVICES, Arr
from flowdigest.sample.network import Layout
from flowdigest.sample.records import Block

COLUMNS: tuple[str, ...] = tuple(n.replace("-", "_") for n in fields.V5_FORMAT)
SCHEMA: pa.Schema = fields.schema(COLUMNS)
# The codes' strings, in code order (codes.py)
_DIRECTIONS = pa.array(["ingress", "egress"])
_ACTIONS = pa.array(["ACCEPT", "REJECT"])
_STATUSES = pa.array(["OK", "NODATA", "SKIPDATA"])
_TYPES = pa.array(["IPv4", "IPv6"])
_SERVICES = pa.array(SERVICES)


def _dict(vocab: pa.Array, codes: Arr) -> pa.DictionaryArray:
    m = codes < 0
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=m if m.any() else None), vocab)


def arrow_table(b: Block, lay: Layout, account_id: str, region: str) -> pa.Table:
    """The file's Arrow table. String columns are dictionary arrays: the Parquet writer then
    skips hashing millions of strings (written with store_schema=False they read back as
    plain strings, exactly `SCHEMA`)."""
    order = np.argsort(b["end"], kind="stable")
    b = {k: v[order] for k, v in b.items()}
    n = len(order)

    def ints(name: str, typ: pa.DataType) -> pa.Array:
        a = b[name]
        m = a < 0
        return pa.array(a, type=typ, mask=m if m.any() else None)

    # One compact dictionary for the four address columns: the addresses this file uses.
    addr = {k: b[k] for k in ("src", "dst", "psrc", "pdst")}
    used = np.zeros(len(lay.pool), dtype=bool)
    for a in addr.values():
        used[a[a >= 0]] = True
    remap = np.cumsum(used, dtype=np.int32) - 1
    pool = lay.pool.take(pa.array(np.flatnonzero(used)))
    local = {k: np.where(a < 0, -1, remap[a]) for k, a in addr.items()}

    src = b["src"]
    svc_src = np.where(b["psrc"] < 0, -1, lay.pool_svc[b["psrc"]])
    svc_dst = np.where(b["pdst"] < 0, -1, lay.pool_svc[b["pdst"]])
    typ = np.where(src < 0, -1, lay.pool_v6[src].astype(np.int8))
    eni = b["eni"]
    zeros = np.zeros(n, dtype=np.int8)
    cols: dict[str, pa.Array] = {
        "version": pa.array(np.full(n, 5, dtype=np.int32)),
        "account_id": _dict(pa.array([account_id]), zeros),
        "interface_id": _dict(lay.eni_id, eni),
        "srcaddr": _dict(pool, local["src"]),
        "dstaddr": _dict(pool, local["dst"]),
        "srcport": ints("sport", pa.int32()),
        "dstport": ints("dport", pa.int32()),
        "protocol": ints("proto", pa.int32()),
        "packets": ints("packets", pa.int64()),
        "bytes": ints("bytes", pa.int64()),
        "start": pa.array(b["start"], pa.int64()),
        "end": pa.array(b["end"], pa.int64()),
        "action": _dict(_ACTIONS, b["action"]),
        "log_status": _dict(_STATUSES, b["status"]),
        "vpc_id": _dict(pa.array([lay.net.vpc_id]), zeros),
        "subnet_id": _dict(lay.subnet_ids, lay.eni_subnet_i[eni]),
        "instance_id": _dict(lay.instance_ids, lay.eni_instance_i[eni]),
        "tcp_flags": ints("flags", pa.int32()),
        "type": _dict(_TYPES, typ),
        "pkt_srcaddr": _dict(pool, local["psrc"]),
        "pkt_dstaddr": _dict(pool, local["pdst"]),
        "region": _dict(pa.array([region]), zeros),
        "az_id": _dict(lay.az_ids, lay.eni_az_i[eni]),
        "sublocation_type": pa.nulls(n, pa.string()),
        "sublocation_id": pa.nulls(n, pa.string()),
        "pkt_src_aws_service": _dict(_SERVICES, svc_src),
        "pkt_dst_aws_service": _dict(_SERVICES, svc_dst),
        "flow_direction": _dict(_DIRECTIONS, b["dir"]),
        "traffic_path": ints("path", pa.int32()),
    }
    return pa.Table.from_arrays([cols[c] for c in COLUMNS], names=list(COLUMNS))


def write_parquet(table: pa.Table, path: Path, level: int) -> None:
    # No ARROW:schema in the footer (AWS's writer is not Arrow): readers see SCHEMA's types.
    pq.write_table(table, path, compression="gzip", compression_level=level, store_schema=False)
