"""The baseline: every insight computed the way a Lambda with awswrangler commonly does it.

Read the day's Parquet into one pandas DataFrame (only the needed columns; the Hive `hour`
partition comes along, as `wr.s3.read_parquet(path, dataset=True, columns=...)` gives it,
with awswrangler's default `dtype_backend="numpy_nullable"`), then groupby per insight.
Locally `pd.read_parquet` on the day's folder stands in for `wr.s3.read_parquet` on its
S3 prefix (same pyarrow reader underneath).

The history the two history insights need (headline's 7-day comparison, new_talkers'
"seen before") comes from the baseline's own per-day summary (`build_history`: each day's
totals and its distinct pairs, made once from that day's raw logs), as flowdigest keeps
its rollups: the baseline is not made to rescan 7 days of raw logs on every report, which
would only flatter the engine, and it does not depend on the engine's rollup layout.

It covers a stated subset of the insights, COVERED (the nine the report had when it was
written): the bench compares those, and a new insight needs no pandas twin.

Each function follows its insight's SQL (insights/<id>/query.sql in the package) to the
row: SQL's GROUP BY keeps NULL keys (hence `dropna=False`), `x <> y` is false when either
side is NULL, COUNT(DISTINCT) ignores NULLs, ORDER BY puts NULLs last, LIMIT 10.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flowdigest import s3layout

LIMIT = 10
HISTORY_DAYS = 7
SERVICES = ["S3", "DYNAMODB"]
RAW_COLUMNS = (
    "log_status", "action", "interface_id", "instance_id", "srcaddr", "dstaddr", "dstport", "protocol",
    "flow_direction", "traffic_path", "pkt_srcaddr", "pkt_dstaddr", "pkt_src_aws_service",
    "pkt_dst_aws_service", "packets", "bytes",
)
Rows = list[dict[str, Any]]


def day_folder(source: Path, day: dt.date) -> Path:
    """The day's partition folder (…/year=YYYY/month=MM/day=DD) under an AWS-layout source."""
    found = sorted(source.glob(s3layout.hive_day_glob(day)))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one day folder for {day} under {source}, found {len(found)}")
    return found[0]


def read_day(source: Path, day: dt.date) -> pd.DataFrame:
    df = pd.read_parquet(day_folder(source, day), columns=[*RAW_COLUMNS, "hour"], dtype_backend="numpy_nullable")
    df["hour"] = df["hour"].astype("int64")  # a categorical of the partition values
    return df


HISTORY_COLUMNS = ["log_status", "action", "srcaddr", "dstaddr", "bytes", "packets"]


def _history_days(day: dt.date) -> list[dt.date]:
    return [day - dt.timedelta(days=back) for back in range(HISTORY_DAYS, 0, -1)]


def build_history(source: Path, dest: Path, day: dt.date) -> list[str]:
    """Summarise each of the HISTORY_DAYS days before `day` that has logs, one at a time:
    dest/dt=YYYY-MM-DD/totals.json (headline's sums) and pairs.parquet (distinct OK pairs)."""
    import json

    done = []
    for d in _history_days(day):
        try:
            folder = day_folder(source, d)
        except FileNotFoundError:
            continue
        df = pd.read_parquet(folder, columns=HISTORY_COLUMNS, dtype_backend="numpy_nullable")
        out = dest / f"dt={d.isoformat()}"
        out.mkdir(parents=True, exist_ok=True)
        (out / "totals.json").write_text(json.dumps(_totals(df)))
        df.loc[_is(df["log_status"], "OK"), ["srcaddr", "dstaddr"]].drop_duplicates().to_parquet(
            out / "pairs.parquet", index=False)
        done.append(d.isoformat())
    return done


def read_history(history_dir: Path, day: dt.date) -> tuple[Rows, pd.DataFrame]:
    """The summaries `build_history` wrote: each day's headline totals, and every distinct
    OK (srcaddr, dstaddr) pair seen in those days."""
    import json

    totals: Rows = []
    pairs = []
    for d in _history_days(day):
        folder = history_dir / f"dt={d.isoformat()}"
        if not (folder / "totals.json").exists():
            continue
        totals.append({"dt": d.isoformat(), **json.loads((folder / "totals.json").read_text())})
        pairs.append(pd.read_parquet(folder / "pairs.parquet", dtype_backend="numpy_nullable"))
    seen = pd.concat(pairs, ignore_index=True).drop_duplicates() if pairs else \
        pd.DataFrame({"srcaddr": pd.Series(dtype="string"), "dstaddr": pd.Series(dtype="string")})
    return totals, seen


# -- SQL semantics as numpy masks ---------------------------------------------------------

def _is(s: pd.Series, value: object) -> Any:
    return (s == value).fillna(False).to_numpy(bool)


def _ne(a: pd.Series, b: pd.Series) -> Any:  # a <> b: NULL (false) when either is NULL
    return (a != b).fillna(False).to_numpy(bool) & a.notna().to_numpy() & b.notna().to_numpy()


def _null_or_eq(a: pd.Series, b: pd.Series) -> Any:  # a IS NULL OR a = b
    return a.isna().to_numpy() | (a == b).fillna(False).to_numpy(bool)


def _py(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def _rows(df: pd.DataFrame, columns: list[str]) -> Rows:
    return [{c: _py(v) for c, v in zip(columns, t, strict=True)}
            for t in df[columns].itertuples(index=False, name=None)]


def _top(df: pd.DataFrame, by: list[str], descending: list[str], limit: int | None = LIMIT) -> pd.DataFrame:
    out = df.sort_values(by, ascending=[c not in descending for c in by], na_position="last", kind="stable")
    return out if limit is None else out.head(limit)


def _group(df: pd.DataFrame, keys: list[str], **aggs: tuple[str, str]) -> pd.DataFrame:
    return df.groupby(keys, dropna=False, sort=False, observed=True).agg(**aggs).reset_index()


# -- the insights ---------------------------------------------------------------------------

def _totals(df: pd.DataFrame) -> dict[str, int]:
    """headline.sql's sums over a day's raw records."""
    ok = _is(df["log_status"], "OK")
    return {
        "flows": int(ok.sum()),
        "bytes": int(df["bytes"][ok].sum()),
        "packets": int(df["packets"][ok].sum()),
        "accepted_flows": int((ok & _is(df["action"], "ACCEPT")).sum()),
        "rejected_flows": int((ok & _is(df["action"], "REJECT")).sum()),
        "nodata_records": int(_is(df["log_status"], "NODATA").sum()),
        "skipdata_records": int(_is(df["log_status"], "SKIPDATA").sum()),
        "tgw_bytes": 0,  # the bench's days are VPC flow logs only
    }


def headline(raw: pd.DataFrame, history: Rows, day: dt.date) -> Rows:
    return [*history, {"dt": day.isoformat(), **_totals(raw)}] if len(raw) else list(history)


def top_talkers(raw: pd.DataFrame) -> Rows:
    ok = raw[_is(raw["log_status"], "OK")]
    per = _group(ok, ["srcaddr", "dstaddr", "interface_id"], instance_id=("instance_id", "max"),
                 bytes=("bytes", "sum"), packets=("packets", "sum"), flows=("bytes", "size"))
    pair = _group(per, ["srcaddr", "dstaddr"], bytes=("bytes", "max"), packets=("packets", "max"),
                  flows=("flows", "max"), interfaces=("bytes", "size"))
    top = _top(pair, ["bytes", "srcaddr", "dstaddr"], ["bytes"])
    # MAX_BY(interface_id, bytes): the interface (and its instance) that saw the pair's most
    # bytes. Both ends of an east-west flow often record the same bytes: SQL then returns
    # either, so the rows carry every tied interface in `_tied` for the comparison.
    cand = per.merge(top[["srcaddr", "dstaddr", "bytes"]], on=["srcaddr", "dstaddr", "bytes"])
    cand = cand.sort_values("interface_id", kind="stable", na_position="last")
    rows = _rows(top, ["srcaddr", "dstaddr", "bytes", "packets", "flows", "interfaces"])
    by_pair: dict[tuple[Any, Any], list[tuple[Any, Any]]] = {}
    for s, d, i, inst in cand[["srcaddr", "dstaddr", "interface_id", "instance_id"]].itertuples(index=False):
        by_pair.setdefault((_py(s), _py(d)), []).append((_py(i), _py(inst)))
    out: Rows = []
    for r in rows:
        tied = by_pair[(r["srcaddr"], r["dstaddr"])]
        r = {**r, "interface_id": tied[0][0], "instance_id": tied[0][1]}
        if len(tied) > 1:
            r["_tied"] = [list(t) for t in tied]
        out.append(r)
    return out


def rejected(raw: pd.DataFrame) -> Rows:
    rej = raw[_is(raw["log_status"], "OK") & _is(raw["action"], "REJECT")]
    src = _group(rej, ["srcaddr"], flows=("bytes", "size"), bytes=("bytes", "sum"),
                 distinct_count=("dstport", "nunique"))
    src = _top(src, ["flows", "srcaddr"], ["flows"])
    port = _group(rej, ["dstport", "protocol"], flows=("bytes", "size"), bytes=("bytes", "sum"),
                  distinct_count=("srcaddr", "nunique"))
    port = _top(port, ["flows", "dstport", "protocol"], ["flows"])
    out: Rows = [{"kind": "source", "value": _py(r["srcaddr"]), "protocol": None, "flows": _py(r["flows"]),
                  "bytes": _py(r["bytes"]), "distinct_count": _py(r["distinct_count"])} for r in _records(src)]
    for r in _records(port):
        port_no = _py(r["dstport"])
        out.append({"kind": "port", "value": None if port_no is None else str(port_no),
                    "protocol": _py(r["protocol"]), "flows": _py(r["flows"]), "bytes": _py(r["bytes"]),
                    "distinct_count": _py(r["distinct_count"])})
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(zip(df.columns, t, strict=True)) for t in df.itertuples(index=False, name=None)]


def _nat(ok: pd.DataFrame) -> tuple[Any, int, Any]:
    """(rows with a translated packet address and no instance id, how many distinct interfaces
    carry one, rows on those): an EKS node's translated records have an instance id."""
    translated = ((_ne(ok["pkt_dstaddr"], ok["dstaddr"]) | _ne(ok["pkt_srcaddr"], ok["srcaddr"]))
                  & ok["instance_id"].isna().to_numpy())
    ids = ok["interface_id"][translated]
    on_nat = ok["interface_id"].isin(set(ids.dropna().unique())).to_numpy(bool)
    return translated, int(ids.nunique(dropna=False)), on_nat


def gateway_endpoint(raw: pd.DataFrame) -> Rows:
    ok = raw[_is(raw["log_status"], "OK") & _is(raw["action"], "ACCEPT")]
    _, n_nat, on_nat = _nat(ok)
    to_svc = ok["pkt_dst_aws_service"].isin(SERVICES).fillna(False).to_numpy(bool)
    from_svc = ok["pkt_src_aws_service"].isin(SERVICES).fillna(False).to_numpy(bool)
    public = _null_or_eq(ok["pkt_srcaddr"], ok["srcaddr"]) & _null_or_eq(ok["pkt_dstaddr"], ok["dstaddr"])
    egress = ok["flow_direction"].isna().to_numpy() | _is(ok["flow_direction"], "egress")
    keep = (on_nat & public & (to_svc | from_svc)) | (~on_nat & to_svc & egress)
    sel = ok[keep]
    on, to = on_nat[keep], to_svc[keep]
    tp = sel["traffic_path"]
    path = np.select(
        [on, _is(tp, 7), _is(tp, 8), _is(tp, 2), _is(tp, 1) & (n_nat == 0), _is(tp, 1),
         ((tp >= 3) & (tp <= 6)).fillna(False).to_numpy(bool)],
        ["nat", "gateway_endpoint", "internet_gateway", "gateway_endpoint_or_internet_gateway", "nat",
         "counted_on_nat_interface", "other"],
        "unknown")
    classified = pd.DataFrame({
        "service": sel["pkt_dst_aws_service"].where(to, sel["pkt_src_aws_service"]).array,
        "path": path,
        "direction": np.where(to, "to_service", "from_service"),
        "bytes": sel["bytes"].array,
    })
    classified = classified[classified["path"] != "counted_on_nat_interface"]
    out = _group(classified, ["service", "path", "direction"], bytes=("bytes", "sum"), flows=("bytes", "size"))
    out = _top(out, ["service", "path", "direction"], [], None)
    return _rows(out, ["service", "path", "direction", "bytes", "flows"])


def nat_gateway(raw: pd.DataFrame) -> Rows:
    ok = raw[_is(raw["log_status"], "OK") & _is(raw["action"], "ACCEPT")]
    _, _, on_nat = _nat(ok)
    on = ok[on_nat]
    to_nat = _ne(on["pkt_dstaddr"], on["dstaddr"])  # private leg, outbound: dstaddr is the NAT's address
    nat_addresses = set(on["dstaddr"][to_nat].dropna().unique())
    public = _null_or_eq(on["pkt_srcaddr"], on["srcaddr"]) & _null_or_eq(on["pkt_dstaddr"], on["dstaddr"])
    pub = on[public]
    from_nat = pub["srcaddr"].isin(nat_addresses).fillna(False).to_numpy(bool)
    public_leg = pd.DataFrame({
        "external": pub["dstaddr"].where(from_nat, pub["srcaddr"]).array,
        "service": pub["pkt_dst_aws_service"].fillna(pub["pkt_src_aws_service"]).array,  # COALESCE
        "bytes": pub["bytes"].array,
    })
    priv = on[to_nat]  # what internal addresses sent out through it (the replies are not sent by them)
    private_leg = pd.DataFrame({"internal": priv["srcaddr"].array, "bytes": priv["bytes"].array})
    out: Rows = [{"kind": "total", "address": None, "service": None,
                  "bytes": int(public_leg["bytes"].sum()), "flows": len(public_leg)}]
    senders = _top(_group(private_leg, ["internal"], bytes=("bytes", "sum"), flows=("bytes", "size")),
                   ["bytes", "internal"], ["bytes"])
    out += [{"kind": "sender", "address": _py(r["internal"]), "service": None, "bytes": _py(r["bytes"]),
             "flows": _py(r["flows"])} for r in _records(senders)]
    dests = _top(_group(public_leg, ["external"], service=("service", "max"), bytes=("bytes", "sum"),
                        flows=("bytes", "size")), ["bytes", "external"], ["bytes"])
    out += [{"kind": "destination", "address": _py(r["external"]), "service": _py(r["service"]),
             "bytes": _py(r["bytes"]), "flows": _py(r["flows"])} for r in _records(dests)]
    return out


def traffic_by_hour(raw: pd.DataFrame) -> Rows:
    ok = raw[_is(raw["log_status"], "OK")]
    d = ok["flow_direction"]
    zero = pd.Series(0, index=ok.index, dtype="Int64")
    parts = pd.DataFrame({
        "hour": ok["hour"],
        "ingress_bytes": ok["bytes"].where(_is(d, "ingress"), zero),
        "egress_bytes": ok["bytes"].where(_is(d, "egress"), zero),
        "unknown_bytes": ok["bytes"].where(d.isna().to_numpy(), zero),
        "flows": pd.Series(1, index=ok.index, dtype="int64"),
    })
    sums = parts.groupby("hour", sort=True, dropna=False).sum().reset_index()
    return _rows(sums, ["hour", "ingress_bytes", "egress_bytes", "unknown_bytes", "flows"])


def ports_protocols(raw: pd.DataFrame) -> Rows:
    ok = raw[_is(raw["log_status"], "OK")]
    agg = _group(ok, ["protocol", "dstport"], bytes=("bytes", "sum"), flows=("bytes", "size"))
    return _rows(_top(agg, ["bytes", "protocol", "dstport"], ["bytes"]), ["protocol", "dstport", "bytes", "flows"])


def new_talkers(raw: pd.DataFrame, seen: pd.DataFrame) -> Rows:
    ok = raw[_is(raw["log_status"], "OK")]
    today = _group(ok, ["srcaddr", "dstaddr"], bytes=("bytes", "sum"), flows=("bytes", "size"))
    # pandas joins NULL keys to NULL keys, SQL never does: seen holds no NULLs, so a NULL
    # address in today's pairs stays unmatched (new), as in the SQL.
    seen = seen.dropna()
    merged = today.merge(seen.assign(_seen=True), on=["srcaddr", "dstaddr"], how="left", sort=False)
    new = merged[merged["_seen"].isna().to_numpy()]
    return _rows(_top(new, ["bytes", "srcaddr", "dstaddr"], ["bytes"]), ["srcaddr", "dstaddr", "bytes", "flows"])


def data_health(raw: pd.DataFrame) -> Rows:
    agg = _group(raw, ["hour", "log_status"], records=("bytes", "size"), interfaces=("interface_id", "nunique"))
    return _rows(_top(agg, ["hour", "log_status"], [], None), ["hour", "log_status", "records", "interfaces"])


DAY_ONLY: dict[str, Callable[[pd.DataFrame], Rows]] = {
    "top_talkers": top_talkers,
    "rejected": rejected,
    "gateway_endpoint": gateway_endpoint,
    "nat_gateway": nat_gateway,
    "traffic_by_hour": traffic_by_hour,
    "ports_protocols": ports_protocols,
    "data_health": data_health,
}
COVERED: tuple[str, ...] = ("headline", *DAY_ONLY, "new_talkers")  # what `run` computes


def run(source: Path, history_dir: Path, day: dt.date,
        timings: dict[str, float] | None = None) -> dict[str, Rows]:
    """The rows of every insight in COVERED, keyed by id. `timings` receives seconds per phase."""
    t = time.perf_counter()
    raw = read_day(source, day)
    phases = {"read": time.perf_counter() - t}
    t = time.perf_counter()
    history, seen = read_history(history_dir, day)
    phases["read_history"] = time.perf_counter() - t
    out: dict[str, Rows] = {}
    for name, fn in [("headline", lambda r: headline(r, history, day)), *DAY_ONLY.items(),
                     ("new_talkers", lambda r: new_talkers(r, seen))]:
        t = time.perf_counter()
        out[name] = fn(raw)
        phases[name] = time.perf_counter() - t
    if timings is not None:
        timings.update(phases)
    return out
