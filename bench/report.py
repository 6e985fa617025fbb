"""The benchmark's printout: its tables, and each target's PASS/MISS."""

from __future__ import annotations

from typing import Any

from bench.children import MIB
from bench.data import HISTORY_DAYS

# The targets (2 cores). Each: (figure key, size, limit, unit, how it compares).
TARGETS: list[tuple[str, str, str | None, float, str]] = [
    ("report queries (rollup + 9 insights), median", "together_s", "10M", 1.0, "s"),
    ("report queries, peak memory", "together_mib", "10M", 300.0, "MiB"),
    ("speed-up over the pandas baseline", "speedup", "10M", 6.0, "x"),
    ("  other reading: the 9 insight queries alone", "queries_s", "10M", 1.0, "s"),
    ("  other reading: the 9 insight queries alone, peak", "queries_mib", "10M", 300.0, "MiB"),
    ("report queries (rollup + 9 insights), median", "together_s", "30M", 3.5, "s"),
    ("report queries, peak memory", "together_mib", "30M", 500.0, "MiB"),
    ("  other reading: the 9 insight queries alone", "queries_s", "30M", 3.5, "s"),
    ("  other reading: the 9 insight queries alone, peak", "queries_mib", "30M", 500.0, "MiB"),
    ("all charts, browser up (warm pass, median)", "charts_s", None, 1.5, "s"),
    ("whole `flowdigest run`, after the first run", "run_s", "10M", 6.0, "s"),
]
ATHENA_TARGET_PCT = 100.0


def _f(v: float | None, fmt: str = ".2f", unit: str = "") -> str:
    return "—" if v is None else f"{v:{fmt}}{unit}"


def _mib(b: int | None) -> str:
    return "—" if not b else f"{b / MIB:.0f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:  # first column left-aligned, figures right-aligned
        cells = [str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        return "  ".join(cells)

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def measured_sizes(results: dict[str, Any]) -> dict[str, Any]:
    return {label: s for label, s in results["sizes"].items() if "error" not in s}


def figures(results: dict[str, Any]) -> dict[tuple[str, str | None], float | None]:
    """The figures the targets are checked against, by (key, size label)."""
    out: dict[tuple[str, str | None], float | None] = {}
    for label, s in measured_sizes(results).items():
        out[("together_s", label)] = s["together"]["median_s"]
        out[("together_mib", label)] = (s["together"]["peak_rss_bytes"] or 0) / MIB or None
        out[("queries_s", label)] = s["queries"]["median_s"]
        out[("queries_mib", label)] = (s["queries"]["peak_rss_bytes"] or 0) / MIB or None
        out[("speedup", label)] = s.get("baseline", {}).get("speedup")
        wr = s.get("whole_run")
        out[("run_s", label)] = wr["warm"]["median_s"] if wr and wr["charts"] else None
    ch = results.get("charts")
    out[("charts_s", None)] = ch["warm_pass_s"] if ch else None
    return out


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    figs = figures(results)
    out = []
    for what, key, size, limit, unit in TARGETS:
        value = figs.get((key, size))
        higher_is_better = key == "speedup"
        status = "not measured" if value is None else \
            ("PASS" if (value >= limit if higher_is_better else value <= limit) else "MISS")
        out.append({"target": what, "size": size, "value": value, "limit": limit, "unit": unit,
                    "comparison": "≥" if higher_is_better else "≤", "status": status})
    for label, s in measured_sizes(results).items():
        a = s["athena"]
        pct = a["rollup_total_bytes"] / a["day_bytes"] * 100 if a["day_bytes"] else None
        out.append({"target": "Athena: whole report's scan, % of the day's bytes", "size": label, "value": pct,
                    "limit": ATHENA_TARGET_PCT, "unit": "%", "comparison": "≤",
                    "status": "not measured" if pct is None else ("PASS" if pct <= ATHENA_TARGET_PCT else "MISS")})
    return out


def _header(results: dict[str, Any]) -> list[str]:
    """When and where it ran, the code measured, and any warning or error."""
    env = results["environment"]
    parts = [
        f"flowdigest benchmark, {results['started']} → {results['finished']} UTC",
        f"machine: {env['cpus']} CPUs, {env['python']}, duckdb {env['duckdb']}, pandas {env['pandas']}, "
        f"pyarrow {env['pyarrow']}; load average (1/5/15 min) at start {env['load_start']}, "
        f"at end {env['load_end']} — other work shares these cores, so times are noisy",
        f"code: commit {env['git']['commit']}" + (f" + {len(env['git']['modified'])} modified package files"
                                                  if env["git"]["modified"] else "")
        + f", engine fingerprint {results['engine_fingerprint']}",
        f"report day {results['day']} + {HISTORY_DAYS} history days per size (gzip Parquet, AWS layout); "
        f"each figure: median over the runs shown, peak = a fresh process's peak RSS (wait4)",
    ]
    if results.get("warning"):
        parts.append(f"WARNING: {results['warning']}")
    parts += [f"note: {n}" for n in results.get("notes", [])]
    for label, s in results["sizes"].items():
        for key in ("error", "baseline_error", "whole_run_error"):
            if s.get(key):
                parts.append(f"{label} {key.replace('_', ' ')}: {s[key]}")
    return parts


def _data_table(sizes: dict[str, Any]) -> list[str]:
    """DATA: the report day's files and rollup per size."""
    parts: list[str] = []
    rows = []
    for label, s in sizes.items():
        rows.append([label, f"{s['records']:,}", str(s["day_files"]), f"{s['day_bytes'] / MIB:.1f}",
                     f"{s['rollup_file']['rows']:,}", f"{s['rollup_file']['bytes'] / MIB:.1f}",
                     f"{s['data'].get('generate_seconds', 0):.0f}", f"{s['history_rollups']['seconds']:.0f}"])
    parts += ["", "DATA (report day)", table(rows, ["size", "records", "files", "MiB", "rollup rows", "rollup MiB",
                                                     "gen s (8 days)", "history rollups s"])]
    return parts


def _engine_tables(sizes: dict[str, Any]) -> list[str]:
    """ENGINE and INSIGHT QUERIES: DuckDB's times and peaks."""
    parts: list[str] = []
    rows = []
    for label, s in sizes.items():
        sc, r, q, t = s["scan"], s["rollup"], s["queries"], s["together"]
        rows.append([label, f"{_f(sc['median_s'])} ({sc['runs']})", f"{_f(r['median_s'])} ({r['runs']})",
                     _mib(r["peak_rss_bytes"]),
                     f"{_f(q['median_s'])} ({q['runs']})", _mib(q["peak_rss_bytes"]),
                     f"{_f(t['median_s'])} ({t['runs']})", _mib(t["peak_rss_bytes"]),
                     _mib(t["rss_after_imports_bytes"])])
    parts += ["", "ENGINE (DuckDB): seconds, median (runs); peak MiB",
              table(rows, ["size", "raw scan floor s", "rollup build s", "peak", "9 insight queries s", "peak",
                           "together s", "peak", "RSS after imports"])]
    insights = list(next(iter(sizes.values()))["queries"]["per_insight_median_s"])
    rows = [[i, *(_f(s["queries"]["per_insight_median_s"].get(i), ".3f") for s in sizes.values())] for i in insights]
    parts += ["", "INSIGHT QUERIES, seconds each (median)", table(rows, ["insight", *sizes])]
    return parts


def _baseline_table(sizes: dict[str, Any]) -> list[str]:
    """PANDAS BASELINE against the engine, and any answer that differs."""
    parts: list[str] = []
    if any("baseline" in s for s in sizes.values()):
        rows = []
        for label, s in sizes.items():
            b = s.get("baseline")
            if not b:
                continue
            ans = s["answers"]
            same = sum(1 for a in ans.values() if a["identical"])
            compared = sum(1 for a in ans.values() if a["identical"] is not None)
            ties = sum(a.get("max_by_ties", 0) for a in ans.values())
            rows.append([label, f"{_f(b['median_s'])} ({b['runs']})", _mib(b["peak_rss_bytes"]),
                         f"{_f(b['phases_median_s'].get('read'))}", f"{_f(s['together']['median_s'])}",
                         _f(b["speedup"], ".1f", "x"),
                         f"{same}/{compared} identical" + (f" ({ties} MAX_BY ties)" if ties else "")])
        parts += ["", "PANDAS BASELINE (read needed columns + groupby) vs the engine (rollup + queries)",
                  table(rows, ["size", "pandas s", "peak", "of which read s", "engine s", "engine faster",
                               "answers"])]
        for label, s in sizes.items():
            for i, a in s.get("answers", {}).items():
                if a["identical"] is False:
                    parts.append(f"  {label} {i} DIFFERS: {a['detail']}")
    return parts


def _charts_lines(results: dict[str, Any]) -> list[str]:
    """CHARTS: first chart, passes and the render function's cold start."""
    parts: list[str] = []
    ch = results.get("charts")
    if ch:
        parts += ["", f"CHARTS ({ch['charts']} charts of the {ch['on']} report; median of {ch['runs']} runs)",
                  f"  first chart, browser start included: {ch['first_chart_s']:.2f} s "
                  f"(locating + starting the browser {ch['browser_start_s']:.2f} s)",
                  f"  all charts, first pass after the start: {ch['first_pass_s']:.2f} s; warm pass: "
                  f"{ch['warm_pass_s']:.2f} s"]
        if cs := ch.get("cold_start"):
            parts.append(f"  render function cold start (unpack Chromium into a fresh folder, as into /tmp, then "
                         f"the first chart): {cs['total_s']:.2f} s = unpack {cs['unpack_s']:.2f} s + first chart "
                         f"{cs['first_chart_s']:.2f} s (of which browser start {cs['browser_start_s']:.2f} s); "
                         f"median of {cs['runs']}")
    elif results.get("charts_note"):
        parts += ["", f"CHARTS: not measured — {results['charts_note']}"]
    return parts


def _whole_run_table(sizes: dict[str, Any]) -> list[str]:
    """WHOLE `flowdigest run`: first, warm and --rebuild runs."""
    parts: list[str] = []
    if any("whole_run" in s for s in sizes.values()):
        rows = []
        for label, s in sizes.items():
            w = s.get("whole_run")
            if w:
                rb = w.get("rebuild") or {}
                rows.append([label, _f(w["first"]["median_s"]), f"{_f(w['warm']['median_s'])} ({w['warm']['runs']})",
                             _mib(w["warm"]["peak_rss_bytes"]), _f(rb.get("median_s")), _mib(rb.get("peak_rss_bytes")),
                             "yes" if w["charts"] else "no"])
        parts += ["", "WHOLE `flowdigest run` (wall, process start to exit; history rollups pre-built; warm: the "
                      "day's rollup reused, its files unchanged; --rebuild: built again)",
                  table(rows, ["size", "first run s", "warm run s (runs)", "peak MiB", "--rebuild s", "peak MiB",
                               "charts"])]
    return parts


def _athena_tables(sizes: dict[str, Any]) -> list[str]:
    """ATHENA SCAN per size: bytes and dollars per query, floor, naive and rollup."""
    parts: list[str] = []
    for label, s in sizes.items():
        a = s["athena"]
        day_b = a["day_bytes"]
        rows = []
        for q in [a["rollup_build"], *a["insights"]]:
            name = "daily_rollup (raw)" if q is a["rollup_build"] else q["name"]
            rows.append([name, str(q["scans"]), str(q["days"]), str(len(q["columns"])), f"{q['bytes'] / MIB:.2f}",
                         f"{q['bytes'] / day_b * 100:.1f}", f"{q['billed_bytes'] / MIB:.0f}", f"{q['dollars']:.6f}"])
        parts += ["", f"ATHENA SCAN, {label} (day: {day_b / MIB:.1f} MiB in {a['day_files']} files; rollup file "
                      f"{a['rollup_bytes'] / MIB:.1f} MiB/day)",
                  table(rows, ["query", "scans", "days", "cols", "scanned MiB", "% of day", "billed MiB", "USD"])]
        floor, naive, rolled = a["floor_bytes"], a["naive_total_bytes"], a["rollup_total_bytes"]
        parts += [
            f"  floor (the report's {len(a['columns_floor'])} raw columns, read once): {floor / MIB:.2f} MiB "
            f"= {floor / day_b * 100:.1f} % of the day",
            f"  naive (each insight on raw logs, 8 raw days for headline/new_talkers): {naive / MIB:.2f} MiB "
            f"= {naive / day_b * 100:.1f} %; billed {a['naive_billed_bytes'] / MIB:.0f} MiB, "
            f"${a['naive_dollars']:.6f}/day",
            f"  rollup (flowdigest): {rolled / MIB:.2f} MiB = {rolled / day_b * 100:.1f} %; "
            f"billed {a['rollup_billed_bytes'] / MIB:.0f} MiB (10 MB minimum per query), "
            f"${a['rollup_dollars']:.6f}/day"]
    return parts


def _lambda_table(results: dict[str, Any]) -> list[str]:
    """LAMBDA SIZES, unzipped."""
    parts: list[str] = []
    ls = results.get("lambda_sizes")
    if ls:
        rows = [[f["function"], f"{f['bytes'] / MIB:.1f}", f"{f['bytes'] / f['quota'] * 100:.0f} %",
                 ", ".join(f"{p['name']} {(p['bytes'] or 0) / MIB:.1f}" for p in f["parts"])] for f in ls]
        parts += ["", "LAMBDA SIZES (unzipped, function + layers, from .aws-sam/build; quota 250 MB)",
                  table(rows, ["function", "MiB", "of quota", "parts (MiB)"])]
    else:
        parts += ["", "LAMBDA SIZES: no .aws-sam/build — run `make sam-build`"]
    return parts


def _profile_tables(results: dict[str, Any]) -> list[str]:
    """PROFILE of the rollup build per size."""
    parts: list[str] = []
    for label, p in results.get("profiles", {}).items():
        if "operators" not in p:
            parts += ["", f"PROFILE {label}: failed: {p.get('error')}"]
            continue
        rows = [[o["operator"], f"{o['seconds']:.2f}", f"{o['share'] * 100:.0f} %", f"{o['rows']:,}"]
                for o in p["operators"]]
        parts += ["", f"PROFILE of the rollup build, {label} ({p['seconds']:.2f} s; tree in {p['text']})",
                  table(rows, ["operator", "s (summed over threads)", "share", "rows out"])]
    return parts


def _targets_table(results: dict[str, Any]) -> list[str]:
    """TARGETS with PASS/MISS."""
    parts: list[str] = []
    rows = []
    for t in results["targets"]:
        v = t["value"]
        shown = "—" if v is None else (f"{v:.1f}{t['unit']}" if t["unit"] in ("x", "%") else f"{v:.2f} {t['unit']}")
        rows.append([t["target"], t["size"] or "", shown, f"{t['comparison']} {t['limit']:g} {t['unit']}",
                     t["status"]])
    parts += ["", "TARGETS (2 cores)", table(rows, ["target", "size", "measured", "target", ""])]
    return parts


def render_text(results: dict[str, Any]) -> str:
    """The printout: the header, then one table per measurement (none when no size was measured)."""
    parts = _header(results)
    sizes = measured_sizes(results)
    if not sizes:
        return "\n".join(parts)
    for section in (_data_table(sizes), _engine_tables(sizes), _baseline_table(sizes), _charts_lines(results),
                    _whole_run_table(sizes), _athena_tables(sizes), _lambda_table(results),
                    _profile_tables(results), _targets_table(results)):
        parts += section
    return "\n".join(parts)
