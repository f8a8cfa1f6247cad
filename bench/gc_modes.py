# bench/gc_modes.py: the rows, the targets and the verdict tables of
# bench/gc-modes (issue 16's targets for GORO_GC_MODE=concurrent against the
# stop-the-world mode of the same static binary, and against Go).
#
# Everything here works on the JSON lines bench/gc-modes stores (one per run:
# the peer's own line plus "row", "rep" and "impl" = goro-stw,
# goro-concurrent or go; heap_bench runs as one line holding Google
# Benchmark's "benchmarks"), so tests/gc_modes_check.py can feed it canned
# lines. Python 3 standard library only, and bench/report.py beside it.

import json
import statistics

from report import num  # bench/report.py: the one reader of a number from a JSON line

STW, CONC, GO = "goro-stw", "goro-concurrent", "go"
IMPLS = (STW, CONC, GO)

# ---------------------------------------------------------------------- rows --
# (row id, runner, full arguments, quick arguments, Go peer has it)
# runner "peers": goro-peers / gopeers with these Go-style flags (-procs and
# -label are added); "heap_bench": heap_bench with these flags (JSON output
# is added). Full arguments are bench/peers/run.sh's ROWS (the gcbench-limit
# rows) and bench/run's full set (garbage, binarytrees-21, gcbench) exactly;
# the 2-thread allocation rate is heap_bench's BM_gc_new rows on 2 threads.
ROWS = [
    ("garbage-64", "peers", "garbage -duration-s 10", "garbage -duration-s 2", True),
    ("garbage-256", "peers", "garbage -old-mb 256 -duration-s 10", "garbage -old-mb 256 -duration-s 3", True),
    ("binarytrees", "peers", "binarytrees -depth 21", "binarytrees -depth 16", True),
    ("gcbench", "peers", "gcbench", "gcbench -max-depth 16", True),
    ("gc-steady-1M", "peers",
     "gcbench-limit -limit-mb 512 -live-pct 50 -gogc 100 -rate 1e6 -duration-s 8",
     "gcbench-limit -limit-mb 128 -live-pct 50 -gogc 100 -rate 1e6 -duration-s 2", True),
    ("gc-steady-2M", "peers",
     "gcbench-limit -limit-mb 512 -live-pct 50 -gogc 100 -rate 2e6 -duration-s 8",
     "gcbench-limit -limit-mb 128 -live-pct 50 -gogc 100 -rate 2e6 -duration-s 2", True),
    ("gc-steady-gogcoff", "peers",
     "gcbench-limit -limit-mb 512 -live-pct 50 -gogc off -rate 1e6 -duration-s 8",
     "gcbench-limit -limit-mb 128 -live-pct 50 -gogc off -rate 1e6 -duration-s 2", True),
    ("gc-steady-blob4k", "peers",
     "gcbench-limit -limit-mb 256 -live-pct 50 -blob-bytes 4096 -gogc 100 -rate 1e6 -duration-s 8",
     "gcbench-limit -limit-mb 128 -live-pct 50 -blob-bytes 4096 -gogc 100 -rate 1e6 -duration-s 2", True),
    ("gc-spiral", "peers",
     "gcbench-limit -limit-mb 512 -live-pct 50 -grow-to-pct 110 -ramp-s 6 -gogc 100 -rate 2e6 -duration-s 9",
     "gcbench-limit -limit-mb 128 -live-pct 50 -grow-to-pct 110 -ramp-s 1.5 -gogc 100 -rate 2e6 -duration-s 3",
     True),
    ("alloc-2t", "heap_bench",
     "--benchmark_filter=^BM_gc_new<(16|32|64|128)>/real_time/threads:2$ --benchmark_min_time=0.5",
     "--benchmark_filter=^BM_gc_new<(32|64)>/real_time/threads:2$ --benchmark_min_time=0.05", False),
]
STEADY_ROWS = ("gc-steady-1M", "gc-steady-2M", "gc-steady-gogcoff", "gc-steady-blob4k")

# ------------------------------------------------------------------ targets --
MAX_PAUSE_MS = {"garbage-64": 5.0, "garbage-256": 10.0}
# "Pauses that no longer grow with the live heap": the concurrent mode's
# max pause at the 256 MiB old generation over its max pause at 64 MiB (4x
# the live heap) at most this.
PAUSE_GROWTH_MAX = 1.5
THROUGHPUT_MIN = 0.90  # concurrent / stw ops/s (binarytrees, gcbench, allocation)
SPIRAL_GC_MAX = 0.55  # GC share of a 250 ms window, once the limiter has been on 1 s
SPIRAL_AFTER_S = 1.0
STEADY_RATE_MIN = 0.95  # "at the target rate": ops/s at least this share of -rate
STEADY_OVER_LIMIT_MAX = 1.0  # heap.peak_go_mem_over_limit
RSS_MAX = 1.15  # concurrent / stw peak RSS, every row


class ModeMismatch(Exception):
    """A goro run did not run the collector mode it was asked for."""


def dig(rec, *path):
    for k in path:
        if not isinstance(rec, dict):
            return None
        rec = rec.get(k)
    return rec


def run_mode(rec):
    """The collector mode a goro record says ran: gc_mode (goro-peers) or
    Google Benchmark's context.gc_mode (heap_bench); None when absent."""
    m = rec.get("gc_mode")
    if m is None:
        m = dig(rec, "context", "gc_mode")
    return m


def check_mode(rec, impl):
    """Raises ModeMismatch unless a goro-stw / goro-concurrent record ran
    that mode (a build on the packaged libgc, or a kernel without
    userfaultfd write-protection, silently runs stw)."""
    want = {STW: "stw", CONC: "concurrent"}.get(impl)
    if want is None:
        return
    got = run_mode(rec)
    if got != want:
        reason = rec.get("gc_mode_reason") or dig(rec, "context", "gc_mode_reason") or "no gc_mode in the output"
        raise ModeMismatch(f"{impl} ({rec.get('row')}): asked GORO_GC_MODE={want}, ran {got!r}: {reason}")


# ------------------------------------------------------------- aggregation --
def group(records):
    """{row: {impl: [records]}} in file order."""
    out = {}
    for r in records:
        out.setdefault(r.get("row"), {}).setdefault(r.get("impl"), []).append(r)
    return out


class Stat:
    """Median and range of one metric over an impl's repetitions."""

    def __init__(self, values):
        self.values = [v for v in values if v is not None]
        self.n = len(self.values)
        self.med = statistics.median(self.values) if self.values else None
        self.lo = min(self.values) if self.values else None
        self.hi = max(self.values) if self.values else None

    def fmt(self, f):
        if self.med is None:
            return "-"
        if self.n == 1 or f(self.lo) == f(self.hi):
            return f(self.med)
        return f"{f(self.med)} ({f(self.lo)}-{f(self.hi)})"


def stat(g, row, impl, metric):
    return Stat([metric(r) for r in g.get(row, {}).get(impl, [])])


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# ------------------------------------------------------------------ metrics --
def max_pause_ms(r):
    """The longest pause in the measured window; None when there was none
    (a short run that never collected has nothing to judge)."""
    if num(dig(r, "gc_pauses", "count")) == 0:
        return None
    return num(dig(r, "gc_pauses", "max_ms"))


def p99_latency_ms(r):
    return num(dig(r, "latency", "p99_ms"))


def ops_per_s(r):
    return num(r.get("ops_per_s"))


def peak_rss_mib(r):
    v = num(r.get("peak_rss_bytes"))
    return v / (1 << 20) if v is not None and v >= 0 else None


def peak_over_limit(r):
    return num(dig(r, "heap", "peak_go_mem_over_limit"))


def rate_share(r):
    rate = num(dig(r, "params", "rate"))
    o = ops_per_s(r)
    return o / rate if o is not None and rate else None


def bench_items_per_s(name):
    """A heap_bench record's items_per_second of one benchmark (the mean
    over its threads, as Google Benchmark reports it)."""

    def f(r):
        for b in r.get("benchmarks") or []:
            if b.get("name") == name or b.get("run_name") == name:
                return num(b.get("items_per_second"))
        return None

    return f


def bench_names(g, row):
    names = []
    for rs in g.get(row, {}).values():
        for r in rs:
            for b in r.get("benchmarks") or []:
                n = b.get("name")
                if n and b.get("run_type", "iteration") == "iteration" and n not in names:
                    names.append(n)
    return names


def window_gc(r, w):
    """The GC share of one gcbench-limit window, as the peers report it:
    gc_cpu_fraction (goro: its stops x procs, each stop spread over the
    windows it overlaps; Go: GC CPU that advanced in the window, -1 = no
    cycle ended in it). goro's gc_thread_cpu_fraction is not used per
    window: it charges a whole collection, background marking included, to
    the window in which the collection ended, and the windows after a long
    stop are short (the sampler waits out the stop), so single windows read
    several hundred percent; spiral_span_gc sums it over the judged span."""
    v = num(w.get("gc_cpu_fraction"))
    return v if v is not None and v >= 0 else None


def spiral_span_gc(r):
    """GC CPU over the whole judged span of the spiral (the windows
    spiral_windows picks), a share of procs x its length: goro's
    gc_thread_cpu_fraction (the driver's GC CPU: stops, and in the
    concurrent mode the background marking and assists), Go's
    gc_cpu_fraction (-1 = 0), each weighted by its window's length."""
    ws, _ = spiral_windows(r)
    all_ws = [w for w in (r.get("windows") or []) if num(w.get("t_end_s")) is not None]
    prev = {id(w): (num(all_ws[i - 1]["t_end_s"]) if i else 0.0) for i, w in enumerate(all_ws)}
    field = "gc_thread_cpu_fraction" if str(r.get("impl", "")).startswith("goro") else "gc_cpu_fraction"
    tot = span = 0.0
    for w in ws:
        dt = num(w["t_end_s"]) - prev[id(w)]
        v = num(w.get(field))
        if v is None:
            return None
        tot += max(v, 0.0) * dt
        span += dt
    return tot / span if span > 0 else None


def limiter_on_windows(r):
    """Whether the GC CPU limiter was on in each window: goro's limiter_on;
    Go's windows from /gc/limiter/last-enabled moving (on from then on)."""
    ws = r.get("windows") or []
    out, prev, on = [], None, False
    for w in ws:
        if isinstance(w.get("limiter_on"), bool):
            out.append(w["limiter_on"])
            continue
        c = num(w.get("limiter_last_enabled_cycle"))
        if c and (prev is None or c > prev):
            on = True
        prev = c if c is not None else prev
        out.append(on)
    return out


def spiral_windows(r):
    """The windows the spiral target judges: those that end at least 1 s
    after the end of the first window with the limiter on; when the limiter
    never came on, those that end after the first second (nothing held GC
    back). Returns (windows, the first limiter window's t_end_s or None)."""
    ws = [w for w in (r.get("windows") or []) if num(w.get("t_end_s")) is not None]
    on = limiter_on_windows(r)
    first = next((num(w["t_end_s"]) for w, o in zip(ws, on) if o), None)
    start = (first if first is not None else 0.0) + SPIRAL_AFTER_S
    return [w for w in ws if num(w["t_end_s"]) >= start + 1e-9], first


def spiral_worst(r):
    ws, _ = spiral_windows(r)
    vals = [v for v in (window_gc(r, w) for w in ws) if v is not None]
    return max(vals) if vals else None


def spiral_over(r):
    ws, _ = spiral_windows(r)
    return float(sum(1 for w in ws if (window_gc(r, w) or 0) > SPIRAL_GC_MAX + 1e-9))


def spiral_limiter_at(r):
    return spiral_windows(r)[1]


# ------------------------------------------------------------------ verdict --
class Check:
    """One line of a verdict table."""

    def __init__(self, what, stats, fmt, rel, rel_fmt, target, met):
        self.what, self.stats, self.fmt = what, stats, fmt
        self.rel, self.rel_fmt = rel, rel_fmt  # {"conc/stw": ratio, ...}
        self.target, self.met = target, met  # met: True / False / None (not measured)


def f_ms(v):
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def f_x(v):
    return f"{v:.2f}x"


def f_rate(v):
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def f_mib(v):
    return f"{v:.0f}"


def f_share(v):
    return f"{v * 100:.0f}%"


def f_count(v):
    return f"{v:.0f}"


def f_s(v):
    return f"{v:.2f} s"


def le(v, limit):
    return None if v is None else v <= limit + 1e-12


def ge(v, limit):
    return None if v is None else v >= limit - 1e-12


def stats3(g, row, metric):
    return {i: stat(g, row, i, metric) for i in IMPLS}


def pause_checks(g):
    out = []
    for row, limit in MAX_PAUSE_MS.items():
        s = stats3(g, row, max_pause_ms)
        out.append(Check(f"{row}: max pause (ms)", s, f_ms,
                         {"conc/stw": ratio(s[CONC].med, s[STW].med), "conc/go": ratio(s[CONC].med, s[GO].med)},
                         f_x, f"concurrent <= {limit:g} ms", le(s[CONC].med, limit)))
        s = stats3(g, row, p99_latency_ms)
        r_go = ratio(s[CONC].med, s[GO].med)
        out.append(Check(f"{row}: latency p99 (ms)", s, f_ms,
                         {"conc/stw": ratio(s[CONC].med, s[STW].med), "conc/go": r_go},
                         f_x, "concurrent <= Go's", le(r_go, 1.0)))
    return out


def growth_checks(g):
    lo, hi = "garbage-64", "garbage-256"
    s_lo, s_hi = stats3(g, lo, max_pause_ms), stats3(g, hi, max_pause_ms)
    grow = {i: ratio(s_hi[i].med, s_lo[i].med) for i in IMPLS}
    s = {i: Stat([grow[i]]) for i in IMPLS}
    return [Check(f"max pause {hi} / {lo} (medians; 4x the live heap)", s, f_x, {}, f_x,
                  f"concurrent <= {PAUSE_GROWTH_MAX:g}x", le(grow[CONC], PAUSE_GROWTH_MAX))]


def throughput_checks(g):
    out = []
    for row in ("binarytrees", "gcbench"):
        s = stats3(g, row, ops_per_s)
        r = ratio(s[CONC].med, s[STW].med)
        out.append(Check(f"{row}: ops/s", s, f_rate, {"conc/stw": r, "conc/go": ratio(s[CONC].med, s[GO].med)},
                         f_x, f"conc/stw >= {THROUGHPUT_MIN:.2f}", ge(r, THROUGHPUT_MIN)))
    names = bench_names(g, "alloc-2t")
    for n in names:
        s = stats3(g, "alloc-2t", bench_items_per_s(n))
        r = ratio(s[CONC].med, s[STW].med)
        out.append(Check(f"{n}: objects/s", s, f_rate, {"conc/stw": r}, f_x,
                         f"conc/stw >= {THROUGHPUT_MIN:.2f}", ge(r, THROUGHPUT_MIN)))
    if not names:
        out.append(Check("alloc-2t: BM_gc_new 2 threads", stats3(g, "alloc-2t", lambda r: None), f_rate, {}, f_x,
                         f"conc/stw >= {THROUGHPUT_MIN:.2f}", None))
    return out


def spiral_checks(g):
    row = "gc-spiral"
    worst = stats3(g, row, spiral_worst)
    over = stats3(g, row, spiral_over)
    at = stats3(g, row, spiral_limiter_at)
    return [
        Check(f"{row}: limiter first on (window end)", at, f_s, {}, f_x, "-", None),
        Check(f"{row}: worst window GC, limiter on >= {SPIRAL_AFTER_S:g} s", worst, f_share,
              {"conc/stw": ratio(worst[CONC].med, worst[STW].med)}, f_x,
              f"concurrent <= {SPIRAL_GC_MAX * 100:.0f}%", le(worst[CONC].med, SPIRAL_GC_MAX)),
        Check(f"{row}: windows above {SPIRAL_GC_MAX * 100:.0f}% GC", over, f_count, {}, f_x, "concurrent 0",
              le(over[CONC].med, 0)),
        Check(f"{row}: GC CPU over those windows together (goro: with background marking)",
              stats3(g, row, spiral_span_gc), f_share, {}, f_x, "-", None),
    ]


def steady_checks(g):
    out = []
    for row in STEADY_ROWS:
        s = stats3(g, row, rate_share)
        out.append(Check(f"{row}: ops/s / target rate", s, f_x, {"conc/stw": ratio(s[CONC].med, s[STW].med)}, f_x,
                         f"concurrent >= {STEADY_RATE_MIN:.2f}", ge(s[CONC].med, STEADY_RATE_MIN)))
        s = stats3(g, row, peak_over_limit)
        out.append(Check(f"{row}: peak memory / limit", s, f_x, {"conc/stw": ratio(s[CONC].med, s[STW].med)}, f_x,
                         f"concurrent <= {STEADY_OVER_LIMIT_MAX:.1f}x", le(s[CONC].med, STEADY_OVER_LIMIT_MAX)))
    return out


def rss_checks(g, rows):
    out = []
    for row in rows:
        s = stats3(g, row, peak_rss_mib)
        if s[STW].med is None and s[CONC].med is None:
            continue
        r = ratio(s[CONC].med, s[STW].med)
        out.append(Check(f"{row}: peak RSS (MiB)", s, f_mib, {"conc/stw": r, "conc/go": ratio(s[CONC].med, s[GO].med)},
                         f_x, f"conc/stw <= {RSS_MAX:.2f}", le(r, RSS_MAX)))
    return out


def all_checks(records):
    """[(section title, [Check])] for every target."""
    g = group(records)
    rows = [r for r, *_ in ROWS if r in g] + [r for r in g if r not in {x for x, *_ in ROWS}]
    return [
        ("Pauses and latency (garbage)", pause_checks(g)),
        ("Pauses against the live heap", growth_checks(g)),
        ("Throughput", throughput_checks(g)),
        ("gcbench-limit spiral", spiral_checks(g)),
        ("gcbench-limit steady rows", steady_checks(g)),
        ("RSS", rss_checks(g, rows)),
    ]


def met_text(m):
    return "n/a" if m is None else ("yes" if m else "**no**")


def render(records, title=None):
    """The verdict tables in markdown."""
    lines = []
    if title:
        lines += [f"# {title}", ""]
    sections = all_checks(records)
    summary = []
    for name, checks in sections:
        rels = []
        for c in checks:
            for k in c.rel:
                if k not in rels:
                    rels.append(k)
        lines += [f"## {name}", ""]
        head = ["metric", STW, CONC, GO] + rels + ["target", "met"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for c in checks:
            cells = [c.what] + [c.stats[i].fmt(c.fmt) for i in IMPLS]
            cells += [c.rel_fmt(c.rel[k]) if c.rel.get(k) is not None else "-" for k in rels]
            cells += [c.target, "-" if c.target == "-" else met_text(c.met)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        judged = [c.met for c in checks if c.target != "-"]
        if any(m is False for m in judged):
            verdict = False
        elif judged and all(m is True for m in judged):
            verdict = True
        else:
            verdict = None
        summary.append((name, verdict))
    lines += ["## Verdict", "", "| target | met |", "|---|---|"]
    lines += [f"| {n} | {met_text(v)} |" for n, v in summary]
    lines.append("")
    return "\n".join(lines), summary


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
