"""The transit_gateway insight and the TGW part of the totals, computed independently in
plain Python over the raw Transit Gateway records (README's definitions: each flow once,
on its ingress record; packets lost summed per attachment, None when no record knew it)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

Record = dict[str, Any]
LOST = ("packets_lost_no_route", "packets_lost_blackhole", "packets_lost_mtu_exceeded", "packets_lost_ttl_expired")


def _blank(value: Any) -> Any:
    return None if value in (None, "-") else value


def ok(records: Iterable[Record]) -> list[Record]:
    return [r for r in records if (_blank(r.get("log_status")) or "OK") == "OK"]


def totals(records: list[Record]) -> dict[str, int]:
    good = ok(records)
    return {"flows": len(good), "bytes": sum(int(r["bytes"]) for r in good),
            "packets": sum(int(r["packets"]) for r in good),
            "nodata_records": sum(r.get("log_status") == "NODATA" for r in records),
            "skipdata_records": sum(r.get("log_status") == "SKIPDATA" for r in records)}


def _once(records: list[Record]) -> list[Record]:
    return [r for r in ok(records) if (_blank(r.get("flow_direction")) or "ingress") == "ingress"]


def _region(az: Any) -> str | None:
    m = re.match(r"([a-z0-9]+)-", _blank(az) or "")
    return m.group(1) if m else None


def pairs(records: list[Record]) -> dict[str, dict[tuple[Any, Any], int]]:
    """kind -> (src, dst) -> bytes, every pair (not only the top ones)."""
    out: dict[str, dict[tuple[Any, Any], int]] = defaultdict(lambda: defaultdict(int))
    for r in _once(records):
        b = int(r["bytes"])
        out["attachment_pair"][_blank(r["tgw_attachment_id"]), _blank(r["tgw_pair_attachment_id"])] += b
        src_vpc, dst_vpc = _blank(r["tgw_src_vpc_id"]), _blank(r["tgw_dst_vpc_id"])
        if src_vpc or dst_vpc:
            out["vpc_pair"][src_vpc, dst_vpc] += b
        src_acct, dst_acct = _blank(r["tgw_src_vpc_account_id"]), _blank(r["tgw_dst_vpc_account_id"])
        if src_acct and dst_acct and src_acct != dst_acct:
            out["account_pair"][src_acct, dst_acct] += b
        src_region, dst_region = _region(r["tgw_src_az_id"]), _region(r["tgw_dst_az_id"])
        if src_region and dst_region and src_region != dst_region:
            out["region_pair"][src_region, dst_region] += b
    return out


def once_bytes(records: list[Record]) -> int:
    return sum(int(r["bytes"]) for r in _once(records))


def lost(records: list[Record]) -> dict[Any, dict[str, int | None]]:
    """Attachment -> packets lost per reason over its OK records (None: no record knew it)."""
    out: dict[Any, dict[str, int | None]] = {}
    for r in ok(records):
        per = out.setdefault(_blank(r["tgw_attachment_id"]), dict.fromkeys(LOST))
        for c in LOST:
            if (v := _blank(r.get(c))) is not None:
                per[c] = (per[c] or 0) + int(v)
    return out
