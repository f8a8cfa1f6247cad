#!/usr/bin/env python3
# The benchmark report: reads the JSON lines that goro-peers and the Go and
# Tokio peers print (one line per run, the format of bench/peers/PEERS.md)
# and writes
#   * report.html: one self-contained page (inline CSS and SVG, no script, no
#     network) with the table of medians, goro/peer ratios, a heap/goal/limit/
#     live timeline per gcbench-limit run with the pacer state shaded and GC CPU
#     per window beneath, and pause and latency histograms;
#   * summary.txt: the same tables as plain text (also printed to stdout).
#
# It is shaped by two facts. The lines come from programs written by different
# people at different times, so every field beyond the Go peer's core set is
# optional and read through one tolerant accessor per kind (distribution(),
# phases(), windows) -- a missing field is a blank cell, never a crash. And the
# page must be checkable by a test (tests/bench_report_check.py): every number
# cell carries its unrounded value in data-value, and tables and charts have
# stable ids, so the test compares the page with medians it computes itself.
#
# The SVG is written directly rather than through a plotting library: the page
# needs two chart kinds (a timeline and a histogram), and a library would add
# a dependency to a demo that must run on a fresh machine.
#
#   python3 bench/report.py OUTDIR results.jsonl [more.jsonl ...]

import html
import json
import math
import os
import statistics
import sys

IMPL_ORDER = ["goro", "go", "rust-tokio"]
IMPL_COLOUR = {"goro": "#1f6fb2", "go": "#00897b", "rust-tokio": "#c2571a"}
STATE_COLOUR = {"pressure": "#fdf0c2", "spiral": "#f9c9c4"}


# ------------------------------------------------------------------ reading --
def load(paths):
    """All run records (dicts with a workload) from JSONL files, in order."""
    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    print(f"report: {path}:{n}: skipping unparsable line ({e})", file=sys.stderr)
                    continue
                if isinstance(rec, dict) and rec.get("workload"):
                    runs.append(rec)
    return runs


def num(v):
    """v as a float, or None when it is missing, null, not a number or not finite."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def label_of(rec):
    return rec.get("label") or rec["workload"]


def groups(runs):
    """[(label, [(impl, [runs])])] in first-seen label order, impls goro, go, tokio, others."""
    by_label = {}
    for r in runs:
        by_label.setdefault(label_of(r), {}).setdefault(r.get("impl", "?"), []).append(r)
    out = []
    for label, impls in by_label.items():
        order = sorted(impls, key=lambda i: (IMPL_ORDER.index(i) if i in IMPL_ORDER else 99, i))
        out.append((label, [(i, impls[i]) for i in order]))
    return out


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# Distributions (request latency, GC pauses). The documented shape
# (bench/README.md) is an object in nanoseconds, e.g.
#   "latency_ns": {"count":N,"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"mean":..,
#                  "hist":{"buckets":[edges...],"counts":[...]}}
#   "pauses_ns":  the same object, or a plain array with every pause in ns.
# Also read: the same keys with a _us/_ms/_s suffix (values in that unit), an
# object with a "unit" field, "buckets"/"counts" at the object's top level,
# and top-level "latency_p99_ns"-style keys.
UNIT_NS = {"ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "seconds": 1e9}
DIST_NAMES = {
    "latency": ["latency", "latencies", "request_latency", "latency_hist"],
    "pause": ["pauses", "pause", "gc_pauses", "gc_pause", "pause_hist"],
}
PCTS = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999)]


def _percentile(sorted_xs, q):
    if not sorted_xs:
        return None
    k = max(0, min(len(sorted_xs) - 1, math.ceil(q * len(sorted_xs)) - 1))
    return sorted_xs[k]


def _hist_percentile(edges, counts, q):
    total = sum(counts)
    if total <= 0:
        return None
    want = q * total
    seen = 0.0
    for i, c in enumerate(counts):
        if c and seen + c >= want:
            lo, hi = edges[i], edges[i + 1]
            if not math.isfinite(hi):
                return lo
            if not math.isfinite(lo):
                return hi
            return lo + (hi - lo) * (want - seen) / c
        seen += c
    return edges[-1] if math.isfinite(edges[-1]) else edges[-2]


def _read_hist(obj, scale):
    """(edges_ns, counts) from a histogram object, or None."""
    if not isinstance(obj, dict):
        return None
    for ek in ("buckets", "bounds", "edges"):
        edges, counts = obj.get(ek), obj.get("counts")
        if isinstance(edges, list) and isinstance(counts, list) and len(edges) == len(counts) + 1:
            e = []
            for x in edges:
                if x is None or (isinstance(x, str) and x.lstrip("+-").lower() in ("inf", "infinity")):
                    x = -math.inf if isinstance(x, str) and x.startswith("-") else math.inf
                e.append(float(x) * scale if math.isfinite(float(x)) else float(x))
            c = [num(x) or 0.0 for x in counts]
            return e, c
    return None


def distribution(rec, kind):
    """{'count','p50','p90','p99','p999','max','mean' (ns or None), 'samples', 'hist'} or None."""
    found = None
    for base in DIST_NAMES[kind]:
        for suffix, scale in (("_ns", 1.0), ("_us", 1e3), ("_ms", 1e6), ("_s", 1e9), ("", None)):
            if base + suffix in rec:
                found = (rec[base + suffix], scale)
                break
        if found:
            break
    d = {"count": None, "samples": None, "hist": None}
    for k, _ in PCTS:
        d[k] = None
    d["max"] = d["mean"] = None
    if found:
        val, scale = found
        if isinstance(val, list):
            samples = sorted(x * (scale or 1.0) for x in (num(v) for v in val) if x is not None)
            d["samples"], d["count"] = samples, len(samples)
        elif isinstance(val, dict):
            if scale is None:
                scale = UNIT_NS.get(str(val.get("unit", "ns")), 1.0)
            for k, _ in PCTS + [("max", 1), ("mean", 1)]:
                for kk, s in ((k, scale), (k + "_ns", 1.0), (k + "_us", 1e3), (k + "_ms", 1e6), (k + "_s", 1e9)):
                    if num(val.get(kk)) is not None:
                        d[k] = num(val[kk]) * s
                        break
            d["count"] = num(val.get("count"))
            d["hist"] = _read_hist(val.get("hist") or val.get("histogram") or val, scale)
            raw = val.get("samples") or val.get("all")
            if isinstance(raw, list):
                d["samples"] = sorted(x * scale for x in (num(v) for v in raw) if x is not None)
        else:
            return None
    else:
        # Flat keys: latency_p99_ns, p99_latency_ms, ...
        prefix = "latency" if kind == "latency" else "pause"
        hit = False
        for k, _ in PCTS + [("max", 1), ("mean", 1)]:
            for name_fmt in ("{p}_{k}", "{k}_{p}"):
                for suffix, s in (("_ns", 1.0), ("_us", 1e3), ("_ms", 1e6), ("_s", 1e9)):
                    v = num(rec.get(name_fmt.format(p=prefix, k=k) + suffix))
                    if v is not None and d[k] is None:
                        d[k], hit = v * s, True
        if not hit:
            return None
    s = d["samples"]
    if s:
        for k, q in PCTS:
            if d[k] is None:
                d[k] = _percentile(s, q)
        if d["max"] is None:
            d["max"] = s[-1]
        if d["mean"] is None:
            d["mean"] = sum(s) / len(s)
    elif d["hist"]:
        edges, counts = d["hist"]
        for k, q in PCTS:
            if d[k] is None:
                d[k] = _hist_percentile(edges, counts, q)
        if d["count"] is None:
            d["count"] = sum(counts)
    return d


def phases(rec):
    """[(name, seconds)] from "phases" ({name: s} or [{name|phase, depth?, s|wall_s|seconds}]), or []."""
    ph = rec.get("phases")
    out = []
    if isinstance(ph, dict):
        for k, v in ph.items():
            if num(v) is not None:
                out.append((str(k), num(v)))
            elif isinstance(v, dict):
                for kk in ("wall_s", "s", "seconds"):
                    if num(v.get(kk)) is not None:
                        out.append((str(k), num(v[kk])))
                        break
    elif isinstance(ph, list):
        for p in ph:
            if not isinstance(p, dict):
                continue
            name = p.get("name", p.get("phase"))
            if name is None:
                continue
            if num(p.get("depth")) is not None:
                name = f"{name} depth {p['depth']}"
            for kk in ("wall_s", "s", "seconds", "time_s"):
                if num(p.get(kk)) is not None:
                    out.append((str(name), num(p[kk])))
                    break
    return out


def limit_mb(rec):
    h = rec.get("heap") or {}
    v = num(h.get("mem_limit_bytes"))
    if v is not None and v > 0:
        return v / 2**20
    v = num((rec.get("params") or {}).get("effective_limit_mb"))
    return v if v is not None and v > 0 else None


def live_mb(rec):
    """The live heap the run ended with (MiB), for pause-per-live-MB."""
    h = rec.get("heap") or {}
    for v in (h.get("final_live_mb"), rec.get("live_mb")):
        if num(v) is not None and num(v) > 0:
            return num(v)
    ws = rec.get("windows") or []
    if ws and num(ws[-1].get("live_mb")):
        return num(ws[-1]["live_mb"])
    return None


# ----------------------------------------------------------------- summary --
def summarize(label, impl, runs):
    """One table row: medians over the runs of one (label, impl)."""
    def med(f):
        return median([f(r) for r in runs])

    def cpu_util(r):
        w, c, p = num(r.get("wall_s")), num(r.get("cpu_s")), num(r.get("procs"))
        return c / (w * p) * 100 if w and c is not None and p else None

    def gc_pct(r):
        v = num(r.get("gc_cpu_fraction"))
        return v * 100 if v is not None else None

    def rss(r):
        v = num(r.get("peak_rss_bytes"))
        return v / 2**20 if v is not None and v >= 0 else None

    ops = [num(r.get("ops_per_s")) for r in runs]
    ops = [x for x in ops if x is not None]
    bad = [r.get("check", "") for r in runs if not str(r.get("check", "")).startswith("ok")]
    row = {
        "label": label, "impl": impl, "n": len(runs),
        "ops_unit": runs[0].get("ops_unit", ""),
        "ops_per_s": median(ops), "ops_min": min(ops) if ops else None, "ops_max": max(ops) if ops else None,
        "wall_s": med(lambda r: num(r.get("wall_s"))),
        "cpu_s": med(lambda r: num(r.get("cpu_s"))),
        "cpu_util": med(cpu_util),
        "rss_mib": med(rss),
        "gc_cycles": med(lambda r: num(r.get("gc_cycles"))),
        "gc_cpu_pct": med(gc_pct),
        "probe": med(lambda r: num(r.get("cpu_avail_probe"))),
        "check": ("ok" if not bad else f"{len(bad)}/{len(runs)} failed: {bad[0]}"),
        "params": runs[0].get("params") or {},
    }
    for kind, pre in (("latency", "lat"), ("pause", "pause")):
        ds = [distribution(r, kind) for r in runs]
        ds = [d for d in ds if d]
        for k in ["p50", "p90", "p99", "p999", "max", "count"]:
            row[f"{pre}_{k}"] = median([d[k] for d in ds]) if ds else None
    lm = med(live_mb)
    row["rss_per_conn"] = med(lambda r: num(r.get("rss_per_conn_bytes")))
    row["live_mb"] = lm
    row["pause_max_per_live_mb"] = (row["pause_max"] / lm if row["pause_max"] is not None and lm else None)
    return row


def summary_rows(runs):
    return [summarize(label, impl, rs) for label, impls in groups(runs) for impl, rs in impls]


# (key, header, better-when, formatter) of the ratio table: goro / peer.
RATIO_METRICS = [
    ("ops_per_s", "ops/s", "higher"),
    ("wall_s", "wall", "lower"),
    ("cpu_s", "CPU s", "lower"),
    ("rss_mib", "peak RSS", "lower"),
    ("rss_per_conn", "RSS/conn", "lower"),
    ("gc_cycles", "GC cycles", None),  # fewer is not better by itself: shown, not judged
    ("gc_cpu_pct", "GC CPU %", "lower"),
    ("lat_p50", "p50", "lower"),
    ("lat_p99", "p99", "lower"),
    ("lat_p999", "p999", "lower"),
    ("pause_max", "max pause", "lower"),
]


def ratio_rows(rows):
    """[{label, peer, metric: ratio goro/peer, verdict}] for every label goro and a peer both ran."""
    by = {}
    for r in rows:
        by.setdefault(r["label"], {})[r["impl"]] = r
    out = []
    for label, impls in by.items():
        g = impls.get("goro")
        if not g:
            continue
        for peer in [i for i in impls if i != "goro"]:
            p = impls[peer]
            rr = {"label": label, "peer": peer, "losses": []}
            for key, name, better in RATIO_METRICS:
                a, b = g.get(key), p.get(key)
                ratio = a / b if a is not None and b not in (None, 0) else None
                rr[key] = ratio
                if ratio is not None and better:
                    # A 5% band counts as a tie on this noisy machine.
                    worse = ratio < 0.95 if better == "higher" else ratio > 1.05
                    if worse:
                        rr["losses"].append(f"{name} {ratio:.2f}x")
            out.append(rr)
    return out


# ------------------------------------------------------------- formatting --
def si(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.2f}G"
    if a >= 1e6:
        return f"{x / 1e6:.2f}M"
    if a >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.3g}" if a < 10 else f"{x:.0f}"


def dur(ns):
    if ns is None:
        return "-"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.1f} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def dur_short(ns):
    """Axis labels: 3 significant digits, no trailing zeros (10 µs, 56.2 ms, 1 s)."""
    for unit, name in ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1, "ns")):
        if ns >= unit or unit == 1:
            return f"{ns / unit:.3g} {name}"
    return "-"


def fixed(digits):
    return lambda x: "-" if x is None else f"{x:.{digits}f}"


def kib(x):
    return "-" if x is None else f"{x / 1024:.1f} KiB"


def count(x):
    return "-" if x is None else f"{x:.0f}"


def ratio_fmt(x):
    if x is None:
        return "-"
    return f"{x:.2f}" if abs(x) >= 0.1 else f"{x:.2g}"


# (key, header, formatter, in text table) of the medians table, in order.
MEDIAN_COLUMNS = [
    ("n", "n", count, True),
    ("ops_per_s", "ops/s", si, True),
    ("ops_range", "min–max", None, True),
    ("ops_unit", "unit", None, True),
    ("wall_s", "wall s", fixed(3), True),
    ("cpu_s", "CPU s", fixed(2), True),
    ("cpu_util", "CPU util %", fixed(0), True),
    ("rss_mib", "peak RSS MiB", fixed(0), True),
    ("rss_per_conn", "RSS/conn", kib, True),
    ("gc_cycles", "GC cycles", count, True),
    ("gc_cpu_pct", "GC CPU %", fixed(1), True),
    ("lat_p50", "p50", dur, True),
    ("lat_p99", "p99", dur, True),
    ("lat_p999", "p999", dur, True),
    ("pause_max", "max pause", dur, True),
    ("pause_max_per_live_mb", "max pause/live MiB", dur, True),
    ("probe", "CPU probe", fixed(2), True),
    ("check", "check", None, True),
]


# Shown only when some row has a value (like the latency and pause columns).
OPTIONAL_COLUMNS = ("rss_per_conn",)


def cell_text(row, key, fmt):
    if key == "ops_range":
        return f"{si(row['ops_min'])}–{si(row['ops_max'])}" if row["ops_min"] is not None else "-"
    v = row.get(key)
    if fmt is None:
        return "-" if v is None else str(v)
    return fmt(v)


def text_table(headers, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def text_pacer(runs):
    """One line per gcbench-limit run: what the timeline chart shows, in numbers."""
    out = []
    for label, impls in groups(runs):
        for impl, rs in impls:
            for i, r in enumerate(rs, 1):
                if r.get("windows"):
                    s = pacer_summary(r)
                    out.append([label, impl, str(i), si(s["ops_per_s"]), si(s["rate"]), fixed(2)(s["peak_over"]),
                                fixed(0)(s["max_gc"]), fixed(1)(s["gc_total"]), fixed(2)(s["limiter_first"]),
                                fixed(0)(s["pressure"]), fixed(0)(s["spiral"])])
    if not out:
        return ""
    return "\n".join(["", "Pacer, per gcbench-limit run (the report's timelines, in numbers):",
                      text_table(["label", "impl", "run", "allocs/s", "target/s", "peak mem/limit", "max window GC %",
                                  "run GC %", "limiter on at s", "% pressure", "% spiral"], out)])


def text_summary(rows, ratios, meta, runs=()):
    cols = [(k, h, f) for k, h, f, in_text in MEDIAN_COLUMNS if in_text]
    # Leave out latency/pause columns nobody filled, to keep the text narrow.
    cols = [c for c in cols if c[0] not in OPTIONAL_COLUMNS and not c[0].startswith(("lat_", "pause_"))
            or any(r.get(c[0]) is not None for r in rows)]
    out = []
    if meta:
        out.append(meta_line(meta))
        out.append("")
    out.append("Medians per row (goro, Go, Tokio interleaved):")
    out.append(text_table(["label", "impl"] + [h for _, h, _ in cols],
                          [[r["label"], r["impl"]] + [cell_text(r, k, f)[:60] for k, _, f in cols] for r in rows]))
    if ratios:
        out.append("")
        out.append("goro / peer (ops/s: >1 = goro faster; wall, CPU, RSS, GC CPU, latency, pause: <1 = goro better):")
        ms = [m for m in RATIO_METRICS if any(r.get(m[0]) is not None for r in ratios)]
        out.append(text_table(["label", "peer"] + [n for _, n, _ in ms] + ["goro behind on"],
                              [[r["label"], r["peer"]] + [ratio_fmt(r.get(k)) for k, _, _ in ms]
                               + [", ".join(r["losses"]) or "-"] for r in ratios]))
    pacer = text_pacer(runs)
    if pacer:
        out.append(pacer)
    return "\n".join(out)


def meta_line(meta):
    bits = [f"set {meta.get('set', '?')}", f"{meta.get('reps', '?')} reps", f"{meta.get('procs', '?')} threads",
            meta.get("machine", ""), meta.get("started", "")]
    return "Run: " + ", ".join(b for b in bits if b)


# ---------------------------------------------------------------- the page --
def esc(s):
    return html.escape(str(s), quote=True)


def nice_ticks(lo, hi, n=5):
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    t = math.ceil(lo / step) * step
    out = []
    while t <= hi + 1e-9:
        out.append(round(t, 10))
        t += step
    return out


def run_windows(rec):
    """Normalised windows: t0,t1 (s), heap, goal, live, total (MiB), gc_pct, cpu_pct, state, limiter."""
    ws = rec.get("windows") or []
    out = []
    prev_t = 0.0
    prev_lim = None
    for w in ws:
        t1 = num(w.get("t_end_s"))
        if t1 is None:
            continue
        gc = num(w.get("gc_cpu_fraction"))
        cpu = num(w.get("cpu_util"))
        lim_cycle = num(w.get("limiter_last_enabled_cycle"))
        if isinstance(w.get("limiter_on"), bool):
            limiter, derived = w["limiter_on"], False
        else:
            # Go's windows: the limiter was (re)enabled in this window when the
            # cycle it was last enabled in moved.
            limiter = bool(lim_cycle and prev_lim is not None and lim_cycle > prev_lim)
            derived = True
        prev_lim = lim_cycle if lim_cycle is not None else prev_lim
        out.append({
            "t0": prev_t, "t1": t1,
            "heap": num(w.get("heap_objects_mb")), "goal": num(w.get("heap_goal_mb")),
            "live": num(w.get("live_mb")), "total": num(w.get("go_mem_mb")),
            "gc_pct": gc * 100 if gc is not None and gc >= 0 else None,
            "cpu_pct": cpu * 100 if cpu is not None else None,
            "state": w.get("pacer_state") if isinstance(w.get("pacer_state"), str) else None,
            "limiter": limiter, "limiter_derived": derived,
        })
        prev_t = t1
    return out


def timeline_svg(rec, ws, ymax, tmax, chart_id):
    """Heap/goal/limit/live over time, pacer state shaded, GC CPU per window beneath."""
    W, ml, mr = 540, 52, 12
    top_h, gap, bot_h, mb = 200, 26, 80, 30
    H = 14 + top_h + gap + bot_h + mb
    pw = W - ml - mr
    y0 = 14
    x = lambda t: ml + pw * t / tmax
    y = lambda v: y0 + top_h - top_h * v / ymax
    by0 = y0 + top_h + gap
    yb = lambda p: by0 + bot_h - bot_h * min(p, 100) / 100
    s = [f'<svg id="{esc(chart_id)}" class="timeline" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'viewBox="0 0 {W} {H}" role="img">']
    s.append(f'<rect x="{ml}" y="{y0}" width="{pw}" height="{top_h}" fill="#fff" stroke="#bbb"/>')
    for w in ws:  # pacer state shading
        c = STATE_COLOUR.get(w["state"] or "")
        if c:
            s.append(f'<rect class="state-{esc(w["state"])}" x="{x(w["t0"]):.1f}" y="{y0}" '
                     f'width="{max(0.5, x(w["t1"]) - x(w["t0"])):.1f}" height="{top_h}" fill="{c}"/>')
    for w in ws:  # limiter band along the top edge
        if w["limiter"]:
            s.append(f'<rect class="limiter" x="{x(w["t0"]):.1f}" y="{y0}" width="{max(0.5, x(w["t1"]) - x(w["t0"])):.1f}" '
                     f'height="7" fill="#7b3fa0" opacity="{0.5 if w["limiter_derived"] else 0.85}"/>')
    for v in nice_ticks(0, ymax):
        s.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e4e4e4"/>'
                 f'<text x="{ml - 5}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">{v:g}</text>')
    s.append(f'<text x="12" y="{y0 + top_h / 2}" transform="rotate(-90 12 {y0 + top_h / 2})" '
             f'text-anchor="middle" class="axis">MiB</text>')
    lim = limit_mb(rec)
    if lim:
        s.append(f'<line class="limit" x1="{ml}" x2="{ml + pw}" y1="{y(lim):.1f}" y2="{y(lim):.1f}" '
                 f'stroke="#d32f2f" stroke-width="2" stroke-dasharray="7 4"/>')

    def poly(key, colour, cls, width=2, dash=""):
        pts = []
        for w in ws:
            if w[key] is not None:
                pts.append(f"{x(w['t1']):.1f},{y(min(w[key], ymax)):.1f}")
        if pts:
            d = f' stroke-dasharray="{dash}"' if dash else ""
            s.append(f'<polyline class="{cls}" points="{" ".join(pts)}" fill="none" stroke="{colour}" '
                     f'stroke-width="{width}"{d}/>')
    poly("total", "#9e9e9e", "total", 1.2)
    poly("goal", "#ef8f00", "goal", 2, "4 3")
    poly("heap", "#1f6fb2", "heap", 2)
    poly("live", "#2e7d32", "live", 2.5)
    # GC CPU per window (bars) and process CPU (line) beneath.
    s.append(f'<rect x="{ml}" y="{by0}" width="{pw}" height="{bot_h}" fill="#fff" stroke="#bbb"/>')
    dash50 = ' stroke-dasharray="3 3"'
    for p in (50, 100):
        s.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{yb(p):.1f}" y2="{yb(p):.1f}" stroke="#e4e4e4"'
                 f'{dash50 if p == 50 else ""}/>'
                 f'<text x="{ml - 5}" y="{yb(p) + 4:.1f}" text-anchor="end" class="tick">{p}%</text>')
    for w in ws:
        if w["gc_pct"] is not None:
            x0, x1 = x(w["t0"]), x(w["t1"])
            s.append(f'<rect class="gccpu" x="{x0 + 0.5:.1f}" y="{yb(w["gc_pct"]):.1f}" width="{max(0.5, x1 - x0 - 1):.1f}" '
                     f'height="{by0 + bot_h - yb(w["gc_pct"]):.1f}" fill="#8e5bb5"><title>{w["t1"]:.2f}s GC CPU '
                     f'{w["gc_pct"]:.0f}%</title></rect>')
    pts = [f"{x(w['t1']):.1f},{yb(w['cpu_pct']):.1f}" for w in ws if w["cpu_pct"] is not None]
    if pts:
        s.append(f'<polyline class="cpu" points="{" ".join(pts)}" fill="none" stroke="#555" stroke-width="1.2"/>')
    s.append(f'<text x="12" y="{by0 + bot_h / 2}" transform="rotate(-90 12 {by0 + bot_h / 2})" '
             f'text-anchor="middle" class="axis">CPU</text>')
    for t in nice_ticks(0, tmax, 6):
        s.append(f'<text x="{x(t):.1f}" y="{by0 + bot_h + 14}" text-anchor="middle" class="tick">{t:g}</text>')
    s.append(f'<text x="{ml + pw}" y="{by0 + bot_h + 27}" text-anchor="end" class="axis">seconds</text>')
    s.append("</svg>")
    return "\n".join(s)


def histogram_svg(series, chart_id, xlabel):
    """Overlaid log-x histograms; series = [(impl, edges_ns, fractions)] sharing edges."""
    W, H, ml, mr, mt, mbm = 540, 190, 44, 12, 10, 36
    pw, ph = W - ml - mr, H - mt - mbm
    edges = series[0][1]
    nb = len(edges) - 1
    ymax = max((max(f) for _, _, f in series if f), default=1) or 1
    s = [f'<svg id="{esc(chart_id)}" class="histogram" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'viewBox="0 0 {W} {H}" role="img">',
         f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fff" stroke="#bbb"/>']
    bw = pw / nb
    k = len(series)
    for si_, (impl, _, fr) in enumerate(series):
        for i, f in enumerate(fr):
            if f <= 0:
                continue
            h = ph * f / ymax
            s.append(f'<rect class="bar-{esc(impl)}" x="{ml + i * bw + si_ * bw / k + 0.5:.1f}" y="{mt + ph - h:.1f}" '
                     f'width="{max(0.5, bw / k - 1):.1f}" height="{h:.1f}" fill="{IMPL_COLOUR.get(impl, "#777")}">'
                     f'<title>{esc(impl)} {dur(edges[i])}–{dur(edges[i + 1])}: {f * 100:.1f}%</title></rect>')
    for v in nice_ticks(0, ymax * 100, 4):
        yy = mt + ph - ph * v / 100 / ymax
        s.append(f'<text x="{ml - 4}" y="{yy + 4:.1f}" text-anchor="end" class="tick">{v:g}%</text>')
    # Label the decades (every fourth edge: the buckets are quarter-decades) or, when
    # there are few edges, every one of them.
    decades = [i for i, e in enumerate(edges) if abs(math.log10(e) - round(math.log10(e))) < 1e-6]
    marks = decades if nb > 6 and decades else range(nb + 1)
    for i in marks:
        anchor = "end" if i == nb else "start" if i == 0 else "middle"
        s.append(f'<line x1="{ml + i * bw:.1f}" x2="{ml + i * bw:.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" stroke="#888"/>'
                 f'<text x="{ml + i * bw:.1f}" y="{mt + ph + 15}" text-anchor="{anchor}" class="tick">{dur_short(edges[i])}</text>')
    s.append(f'<text x="{ml + pw}" y="{H - 4}" text-anchor="end" class="axis">{esc(xlabel)} (log scale)</text>')
    s.append("</svg>")
    return "\n".join(s)


def percentile_svg(series, chart_id, xlabel):
    """Grouped bars on a log axis: p50 ... max per impl, for lines that carry percentiles but no buckets."""
    keys = [k for k in ("p50", "p90", "p99", "p999", "max") if any(v.get(k) for _, v in series)]
    W, H, ml, mr, mt, mbm = 540, 190, 60, 12, 10, 36
    pw, ph = W - ml - mr, H - mt - mbm
    vals = [v[k] for _, v in series for k in keys if v.get(k) and v[k] > 0]
    if not keys or not vals:
        return None
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** math.ceil(math.log10(max(vals)) + 1e-9)
    yv = lambda v: mt + ph - ph * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    s = [f'<svg id="{esc(chart_id)}" class="percentiles" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'viewBox="0 0 {W} {H}" role="img">',
         f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fff" stroke="#bbb"/>']
    e = lo
    while e <= hi * 1.0001:
        s.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{yv(e):.1f}" y2="{yv(e):.1f}" stroke="#e4e4e4"/>'
                 f'<text x="{ml - 4}" y="{yv(e) + 4:.1f}" text-anchor="end" class="tick">{dur_short(e)}</text>')
        e *= 10
    gw = pw / len(keys)
    k_n = len(series)
    for gi, k in enumerate(keys):
        for si_, (impl, v) in enumerate(series):
            x = v.get(k)
            if not x or x <= 0:
                continue
            bx = ml + gi * gw + 8 + si_ * (gw - 16) / k_n
            s.append(f'<rect class="bar-{esc(impl)}" x="{bx:.1f}" y="{yv(x):.1f}" width="{(gw - 16) / k_n - 2:.1f}" '
                     f'height="{mt + ph - yv(x):.1f}" fill="{IMPL_COLOUR.get(impl, "#777")}"><title>{esc(impl)} {k}: '
                     f'{dur(x)}</title></rect>')
        s.append(f'<text x="{ml + gi * gw + gw / 2:.1f}" y="{mt + ph + 14}" text-anchor="middle" class="tick">{k}</text>')
    s.append(f'<text x="{ml + pw}" y="{H - 4}" text-anchor="end" class="axis">{esc(xlabel)} percentiles (median '
             f'of the runs; log scale)</text>')
    s.append("</svg>")
    return "\n".join(s)


def merged_histogram(per_impl):
    """Common log-spaced edges for [(impl, [dist])] and each impl's fraction per bucket."""
    values = {}
    for impl, ds in per_impl:
        vals = []  # (value_ns, weight)
        for d in ds:
            if d["samples"]:
                vals += [(v, 1.0) for v in d["samples"]]
            elif d["hist"]:
                e, c = d["hist"]
                for i, cnt in enumerate(c):
                    if cnt > 0:
                        lo, hi = e[i], e[i + 1]
                        mid = math.sqrt(lo * hi) if lo > 0 and math.isfinite(hi) else (hi if math.isfinite(hi) else lo)
                        vals.append((mid, cnt))
        vals = [(v, w) for v, w in vals if v and v > 0 and math.isfinite(v)]
        if vals:
            values[impl] = vals
    if not values:
        return None
    lo = min(v for vs in values.values() for v, _ in vs)
    hi = max(v for vs in values.values() for v, _ in vs)
    lo_e, hi_e = math.floor(math.log10(lo) * 4) / 4, math.ceil(math.log10(hi) * 4) / 4 + 0.25
    n = max(1, round((hi_e - lo_e) * 4))
    edges = [10 ** (lo_e + i / 4) for i in range(n + 1)]
    out = []
    for impl, vals in values.items():
        counts = [0.0] * n
        for v, w in vals:
            i = min(n - 1, max(0, int((math.log10(v) - lo_e) * 4)))
            counts[i] += w
        tot = sum(counts)
        out.append((impl, edges, [c / tot for c in counts]))
    return out


CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:#555;margin-bottom:12px}
table{border-collapse:collapse;margin:6px 0 10px;font-variant-numeric:tabular-nums;font-size:13px} .wide{overflow-x:auto}
th,td{border:1px solid #d6d6d6;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#f2f4f7;font-weight:600;white-space:normal;max-width:76px;vertical-align:bottom} td.l,th.l{text-align:left}
tr.impl-goro td{background:#eef5fc} td.check{max-width:340px;overflow:hidden;text-overflow:ellipsis}
tr.first td{border-top:2px solid #9aa5b1} td.good{background:#d9f2dd} td.bad{background:#f9d7d3} td.bad-check{background:#f9d7d3;color:#900}
.charts{display:flex;flex-wrap:wrap;gap:18px} .chart{border:1px solid #e2e2e2;padding:6px 8px;background:#fcfcfc}
.chart .title{font-weight:600;margin-bottom:2px} .chart .sub{color:#555;font-size:12px;max-width:540px;min-height:32px}
svg .tick{font-size:11px;fill:#555} svg .axis{font-size:11px;fill:#333}
.legend span{display:inline-block;margin-right:14px;font-size:12px} .sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}
.note{color:#555;font-size:13px;max-width:1100px} ul.notes li{color:#7a4b00}
details{margin:6px 0}
"""


def legend():
    items = [("#1f6fb2", "heap objects"), ("#ef8f00", "heap goal (dashed)"), ("#d32f2f", "memory limit (dashed)"),
             ("#2e7d32", "live set"), ("#9e9e9e", "runtime total (Go mem / goro mapped)"),
             (STATE_COLOUR["pressure"], "state: pressure"), (STATE_COLOUR["spiral"], "state: spiral"),
             ("#7b3fa0", "limiter on (band at the top)"), ("#8e5bb5", "GC CPU % per window"), ("#555", "process CPU %")]
    return '<div class="legend">' + "".join(
        f'<span><i class="sw" style="background:{c}"></i>{esc(t)}</span>' for c, t in items) + "</div>"


def pacer_summary(rec):
    """Figures a reader wants from one gcbench-limit run's windows."""
    ws = run_windows(rec)
    lim = limit_mb(rec)
    gc = [w["gc_pct"] for w in ws if w["gc_pct"] is not None]
    lim_on = [w["t1"] for w in ws if w["limiter"]]
    states = [w["state"] for w in ws if w["state"]]
    h = rec.get("heap") or {}
    peak_over = num(h.get("peak_go_mem_over_limit"))
    return {
        "ops_per_s": num(rec.get("ops_per_s")),
        "rate": num((rec.get("params") or {}).get("rate")),
        "peak_over": peak_over,
        "max_gc": max(gc) if gc else None,
        "gc_total": (num(rec.get("gc_cpu_fraction")) or 0) * 100 if num(rec.get("gc_cpu_fraction")) is not None else None,
        "limiter_first": lim_on[0] if lim_on else None,
        "pressure": states.count("pressure") / len(states) * 100 if states else None,
        "spiral": states.count("spiral") / len(states) * 100 if states else None,
        "limit": lim,
    }


def median_run(rs):
    """The run with the median ops/s (the one a chart shows first)."""
    s = sorted(rs, key=lambda r: num(r.get("ops_per_s")) or 0)
    return s[(len(s) - 1) // 2]


def td(text, value=None, cls=""):
    dv = f' data-value="{value!r}"' if isinstance(value, float) or isinstance(value, int) else ""
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}{dv}>{esc(text)}</td>"


def html_page(runs, meta, notes):
    rows = summary_rows(runs)
    ratios = ratio_rows(rows)
    title = "goro benchmarks"
    p = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{title}</title><style>{CSS}</style></head><body>",
         f"<h1>{title}</h1>"]
    if meta:
        p.append(f'<div class="meta">{esc(meta_line(meta))}'
                 + (f"<br>{esc(meta.get('versions', ''))}" if meta.get("versions") else "") + "</div>")
    p.append('<p class="note">Each row ran goro and the peers interleaved inside every repetition; cells are medians. '
             "CPU util % = process CPU ÷ (wall × threads). GC CPU % = GC CPU ÷ (threads × wall) as each runtime counts it "
             "(Go 1.19: memstats, no idle mark workers). CPU probe: how many of the cores a 2-thread spin got just before "
             "the run (2.0 = both) — compare rows only when it reads near the thread count.</p>")
    if any(r.get("server") for r in runs):
        p.append('<p class="note">Network rows (http-*, tcp-echo-*, idle-conns-*): each implementation\'s server '
                 "runs alone on 127.0.0.1 and is loaded from outside its process on the same CPUs (wrk -t1 for HTTP, the "
                 "netpeers echo client for TCP echo: N connections ping-ponging, closed loop). ops/s = requests or round "
                 "trips per second; CPU s = the server's CPU in the measured window; p50/p99/p999 = the client's latency; "
                 "peak RSS = the server's VmHWM; RSS/conn = (server RSS holding N idle keep-alive connections − its RSS "
                 "before) ÷ N. An implementation without a server for a row has no line: the notes say why.</p>")
    # Medians.
    cols = [c for c in MEDIAN_COLUMNS if c[0] not in OPTIONAL_COLUMNS and not c[0].startswith(("lat_", "pause_"))
            or any(r.get(c[0]) is not None for r in rows)]
    p.append('<h2>Medians</h2><div class="wide"><table id="medians"><thead><tr><th class="l">label</th><th class="l">impl</th>'
             + "".join(f'<th{" class=l" if k in ("ops_unit", "check") else ""}>{esc(h)}</th>' for k, h, _, _ in cols)
             + "</tr></thead><tbody>")
    prev = None
    for r in rows:
        first = " first" if prev is not None and r["label"] != prev else ""
        prev = r["label"]
        cells = [f'<td class="l">{esc(r["label"])}</td>', f'<td class="l">{esc(r["impl"])}</td>']
        for k, _, f, _ in cols:
            text = cell_text(r, k, f)
            if k == "check":
                cells.append(f'<td class="l check{"" if text == "ok" else " bad-check"}" title="{esc(text)}">{esc(text)}</td>')
            elif k in ("ops_unit", "ops_range"):
                cells.append(f'<td class="{"l" if k == "ops_unit" else ""}">{esc(text)}</td>')
            else:
                cells.append(td(text, r.get(k)))
        p.append(f'<tr class="impl-{esc(r["impl"])}{first}" data-label="{esc(r["label"])}" data-impl="{esc(r["impl"])}">'
                 + "".join(cells) + "</tr>")
    p.append("</tbody></table></div>")
    # Ratios.
    if ratios:
        ms = [m for m in RATIO_METRICS if any(r.get(m[0]) is not None for r in ratios)]
        p.append('<h2>goro ÷ peer</h2><p class="note">ops/s above 1 means goro is faster; wall, CPU, peak RSS, '
                 "GC CPU, latency and pause below 1 mean goro is better (GC cycles are shown, not judged). Green: goro "
                 "better by more than 5%; red: goro worse by more than 5% — the last column names every metric goro "
                 "loses on.</p>")
        p.append('<table id="ratios"><thead><tr><th class="l">label</th><th class="l">peer</th>'
                 + "".join(f"<th>{esc(n)}</th>" for _, n, _ in ms) + '<th class="l">goro behind on</th></tr></thead><tbody>')
        for r in ratios:
            cells = [f'<td class="l">{esc(r["label"])}</td>', f'<td class="l">{esc(r["peer"])}</td>']
            for k, _, better in ms:
                v = r.get(k)
                cls = ""
                if v is not None and better:
                    good = v > 1.05 if better == "higher" else v < 0.95
                    bad = v < 0.95 if better == "higher" else v > 1.05
                    cls = "good" if good else "bad" if bad else ""
                cells.append(td(ratio_fmt(v), v, cls))
            cells.append(f'<td class="l">{esc(", ".join(r["losses"]) or "-")}</td>')
            p.append(f'<tr data-label="{esc(r["label"])}" data-peer="{esc(r["peer"])}">' + "".join(cells) + "</tr>")
        p.append("</tbody></table>")
    # Timelines.
    gl = [(label, impls) for label, impls in groups(runs) if any(r.get("windows") for _, rs in impls for r in rs)]
    if gl:
        p.append("<h2>Pacer timelines (gcbench-limit)</h2>")
        p.append('<p class="note">Top: heap objects, heap goal, memory limit and live set (MiB) per 250 ms window; the '
                 "background is the pacer state goro reported for the window (yellow = pressure: the limit sets the goal; "
                 "red = spiral: the limit sets the goal, the GC CPU limiter is on and collections reclaim little). The "
                 "purple band on the top edge marks windows with the limiter on (for Go, lighter: the window in which "
                 "<code>/gc/limiter/last-enabled</code> moved). Bottom: GC CPU % of the window (bars; Go 1.19 only "
                 "updates it when a cycle ends, so some windows have none) with the 50% cap dashed, and process CPU % "
                 "(line). Both implementations of a row share the axes; the median-throughput run is shown, the others "
                 "are folded beneath.</p>" + legend())
        for label, impls in gl:
            all_ws = [(impl, r, run_windows(r)) for impl, rs in impls for r in rs if r.get("windows")]
            ymax = max([v for _, r, ws in all_ws for w in ws for v in (w["heap"], w["goal"], w["live"], w["total"])
                        if v is not None] + [limit_mb(r) or 0 for _, r, _ in all_ws] + [1]) * 1.05
            tmax = max(w["t1"] for _, _, ws in all_ws for w in ws) if any(ws for _, _, ws in all_ws) else 1
            p.append(f"<h3>{esc(label)}</h3>")
            p.append(pacer_table(label, impls))
            p.append('<div class="charts">')
            extra = []
            for impl, rs in impls:
                with_w = [r for r in rs if r.get("windows")]
                if not with_w:
                    continue
                med = median_run(with_w)
                for i, r in enumerate(with_w):
                    box = chart_box(label, impl, r, with_w.index(r) + 1, len(with_w), ymax, tmax, r is med)
                    (p if r is med else extra).append(box)
            p.append("</div>")
            if extra:
                p.append(f"<details><summary>the other runs of {esc(label)} ({len(extra)})</summary>"
                         f'<div class="charts">{"".join(extra)}</div></details>')
    # Histograms.
    hist_parts = []
    for label, impls in groups(runs):
        for kind, what, plural in (("pause", "GC pause", "GC pauses"), ("latency", "request latency", "requests")):
            per = [(impl, [d for d in (distribution(r, kind) for r in rs) if d and (d["samples"] or d["hist"])])
                   for impl, rs in impls]
            per = [(i, ds) for i, ds in per if ds]
            if not per:
                # Percentiles only (no buckets, no samples): draw them side by side.
                pct = []
                for impl, rs in impls:
                    ds = [d for d in (distribution(r, kind) for r in rs) if d]
                    if ds:
                        pct.append((impl, {k: median([d[k] for d in ds]) for k in ("p50", "p90", "p99", "p999", "max")}))
                svg = percentile_svg(pct, f"pct-{kind}-{label}", what) if pct else None
                if svg:
                    n = "; ".join(f"{i}: {len([r for r in rs if distribution(r, kind)])} runs" for i, rs in impls)
                    hist_parts.append(f'<div class="chart"><div class="title">{esc(label)} — {esc(what)}</div>'
                                      f'<div class="sub">{esc(n)}; the lines carry percentiles, no buckets</div>'
                                      + svg + "</div>")
                continue
            series = merged_histogram(per)
            if not series:
                continue
            cid = f"hist-{kind}-{label}"
            sub = "; ".join(f"{i}: n={sum(d['count'] or 0 for d in ds):.0f} over {len(ds)} runs" for i, ds in per)
            hist_parts.append(f'<div class="chart"><div class="title">{esc(label)} — {esc(what)}</div>'
                              f'<div class="sub">{esc(sub)}; bars = share of all {esc(plural)} in the bucket</div>'
                              + histogram_svg(series, cid, what) + "</div>")
    if hist_parts:
        p.append('<h2 id="histograms">Pause and latency histograms</h2>')
        p.append('<div class="legend">' + "".join(
            f'<span><i class="sw" style="background:{IMPL_COLOUR[i]}"></i>{esc(i)}</span>' for i in IMPL_ORDER
            if any(f'class="bar-{i}"' in h for h in hist_parts)) + "</div>")
        p.append('<div class="charts">' + "".join(hist_parts) + "</div>")
    # Phases (gcbench).
    ph_parts = []
    for label, impls in groups(runs):
        names = []
        per = {}
        for impl, rs in impls:
            for r in rs:
                for n, v in phases(r):
                    if n not in names:
                        names.append(n)
                    per.setdefault((impl, n), []).append(v)
        if names:
            il = [i for i, _ in impls]
            t = [f'<h3>{esc(label)}</h3><table class="phases" id="phases-{esc(label)}"><thead><tr><th class="l">phase</th>'
                 + "".join(f"<th>{esc(i)} s</th>" for i in il) + "</tr></thead><tbody>"]
            for n in names:
                t.append(f'<tr><td class="l">{esc(n)}</td>'
                         + "".join(td(fixed(3)(median(per.get((i, n), []))), median(per.get((i, n), []))) for i in il)
                         + "</tr>")
            t.append("</tbody></table>")
            ph_parts.append("".join(t))
    if ph_parts:
        p.append("<h2>Time per phase (medians)</h2>" + "".join(ph_parts))
    # Parameters and notes.
    p.append('<h2>Rows</h2><table id="params"><thead><tr><th class="l">label</th><th class="l">workload</th>'
             '<th class="l">parameters (from the goro line, else the first)</th></tr></thead><tbody>')
    for label, impls in groups(runs):
        rec = next((rs[0] for i, rs in impls if i == "goro"), impls[0][1][0])
        ps = " ".join(f"-{k} {v}" for k, v in sorted((rec.get("params") or {}).items()))
        p.append(f'<tr><td class="l">{esc(label)}</td><td class="l">{esc(rec["workload"])}</td>'
                 f'<td class="l" style="white-space:normal">{esc(ps)}</td></tr>')
    p.append("</tbody></table>")
    if notes:
        p.append('<h2>Not run</h2><ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    p.append("</body></html>")
    return "\n".join(p)


def pacer_table(label, impls):
    t = [f'<table class="pacer" id="pacer-{esc(label)}" data-label="{esc(label)}"><thead><tr><th class="l">impl</th><th>run</th><th>allocs/s</th>'
         "<th>target/s</th><th>peak mem ÷ limit</th><th>max window GC CPU %</th><th>run GC CPU %</th>"
         "<th>limiter first on at s</th><th>% windows pressure</th><th>% windows spiral</th></tr></thead><tbody>"]
    for impl, rs in impls:
        for i, r in enumerate(rs, 1):
            if not r.get("windows"):
                continue
            s = pacer_summary(r)
            t.append(f'<tr class="impl-{esc(impl)}"><td class="l">{esc(impl)}</td><td>{i}</td>'
                     + td(si(s["ops_per_s"]), s["ops_per_s"]) + td(si(s["rate"]), s["rate"])
                     + td(fixed(2)(s["peak_over"]), s["peak_over"]) + td(fixed(0)(s["max_gc"]), s["max_gc"])
                     + td(fixed(1)(s["gc_total"]), s["gc_total"]) + td(fixed(2)(s["limiter_first"]), s["limiter_first"])
                     + td(fixed(0)(s["pressure"]), s["pressure"]) + td(fixed(0)(s["spiral"]), s["spiral"]) + "</tr>")
    t.append("</tbody></table>")
    return "".join(t)


def chart_box(label, impl, rec, i, n, ymax, tmax, is_median):
    s = pacer_summary(rec)
    sub = (f"run {i}/{n}{' (median ops/s)' if is_median else ''}: {si(s['ops_per_s'])} allocs/s, peak mem "
           f"{fixed(2)(s['peak_over'])}× limit, GC CPU {fixed(1)(s['gc_total'])}%")
    if impl != "goro":
        sub += "; no pacer state in this runtime's windows"
    cid = f"timeline-{label}-{impl}-{i}"
    return (f'<div class="chart"><div class="title" style="color:{IMPL_COLOUR.get(impl, "#333")}">{esc(impl)}</div>'
            f'<div class="sub">{esc(sub)}</div>' + timeline_svg(rec, run_windows(rec), ymax, tmax, cid) + "</div>")


def write(outdir, runs, meta=None, notes=None, quiet=False):
    """Writes report.html and summary.txt into outdir; returns the text summary."""
    os.makedirs(outdir, exist_ok=True)
    rows = summary_rows(runs)
    text = text_summary(rows, ratio_rows(rows), meta, runs)
    if notes:
        text += "\n\nNot run:\n" + "\n".join(f"  - {n}" for n in notes)
    with open(os.path.join(outdir, "report.html"), "w", encoding="utf-8") as fh:
        fh.write(html_page(runs, meta, notes or []))
    with open(os.path.join(outdir, "summary.txt"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    if not quiet:
        print(text)
    return text


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print("usage: report.py OUTDIR results.jsonl [more.jsonl ...]\n"
              "Writes OUTDIR/report.html and OUTDIR/summary.txt; reads OUTDIR/run.json for the header when present.",
              file=sys.stderr)
        return 2
    outdir, files = argv[1], argv[2:]
    for f in files:
        if not os.path.isfile(f):
            print(f"report.py: no such results file: {f}", file=sys.stderr)
            return 2
    runs = load(files)
    if not runs:
        print(f"report.py: no result lines in {' '.join(files)}", file=sys.stderr)
        return 1
    meta, notes = None, []
    mp = os.path.join(outdir, "run.json")
    if os.path.isfile(mp):
        with open(mp, encoding="utf-8") as fh:
            meta = json.load(fh)
        notes = meta.get("notes", [])
    write(outdir, runs, meta, notes)
    print(f"\nreport: {os.path.join(outdir, 'report.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
