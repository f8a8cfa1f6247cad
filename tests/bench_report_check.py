#!/usr/bin/env python3
# Checks bench/report.py's page against the JSON lines it was made from, and
# that a real browser renders it (CTest: bench_report; tests/CMakeLists.txt).
#
#   1. Writes the report for tests/data/bench_report_sample.jsonl: real goro,
#      Go and Tokio lines from this machine (skynet, pingpong, gcbench-18,
#      garbage, fanout with their "latency", "gc_pauses" and "phases"; Go's
#      binarytrees and gcbench-limit), plus lines made by hand to cover the
#      other documented shapes: goro gcbench-limit and binarytrees lines
#      derived from Go's (with pacer_state, limiter_on and pauses_ns, before
#      those goro workloads landed) and "garbage-hist" (latency_ns with
#      buckets, pauses_ns arrays, a phases object); and bench/run's network
#      rows from this machine (Go and Tokio servers under wrk, the echo
#      client and the idle-connection client: latency_us, server CPU,
#      rss_per_conn_bytes, no ops/s for idle-conns).
#   2. Recomputes the medians and ratios here, independently of report.py,
#      and compares them with the medians and ratios tables of the page (the
#      data-value of each cell, and its text within the rounding shown), and
#      checks that every gcbench-limit run has its timeline with one point per
#      window and the pacer state shaded, and that the histograms are there.
#   3. Loads the page in headless Chromium: --dump-dom must give back the same
#      table numbers, and --screenshot must give a PNG of the asked size that
#      is not blank and shows the state shading, the limit line and the GC CPU
#      bars in their colours (so the SVG was drawn, not just parsed).
#
# Exit 0 = pass, 1 = fail, 77 = skipped because Chromium is not installed or
# cannot start here (the reason is printed). --keep DIR keeps the page and the
# screenshot; CHROMIUM=path picks the browser (CHROMIUM= for none).

import argparse
import html.parser
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import zlib

SKIP = 77
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


# --------------------------------------------------------------- the page --
class Tables(html.parser.HTMLParser):
    """Tables by id -> [(tr attributes, [(cell text, data-value or None)])]; svg ids -> their markup."""

    def __init__(self):
        super().__init__()
        self.tables, self.svgs = {}, {}
        self._table = self._row = self._cell = None
        self._svg_id, self._svg = None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id") or f"anon{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._row = (a, [])
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ["", a.get("data-value")]
        elif tag == "svg":
            self._svg_id, self._svg = a.get("id"), []
        if self._svg_id is not None:
            self._svg.append((tag, a))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row[1].append((self._cell[0].strip(), self._cell[1]))
            self._cell = None
        elif tag == "table":
            self._table = self._row = None
        elif tag == "svg" and self._svg_id is not None:
            self.svgs[self._svg_id] = self._svg
            self._svg_id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data


def parse_page(text):
    p = Tables()
    p.feed(text)
    return p


def rows_by_key(table, *keys):
    """{(attr values...): {header: (text, value)}} for the rows that carry those attributes."""
    header = [t for t, _ in table[0][1]]
    out = {}
    for attrs, cells in table[1:]:
        if all(k in attrs for k in keys):
            out[tuple(attrs[k] for k in keys)] = dict(zip(header, cells))
    return out


SUFFIX = {"k": 1e3, "M": 1e6, "G": 1e9, "ns": 1, "µs": 1e3, "ms": 1e6, "s": 1e9, "KiB": 1024}


def shows(text, want):
    """Whether a cell's text ('2.97M', '145.2 µs', '0.832', '12') is want rounded as shown."""
    m = re.fullmatch(r"(-?[0-9]+)(?:\.([0-9]+))?\s*(k|M|G|ns|µs|ms|s|KiB)?", text)
    if not m:
        return False
    scale = SUFFIX.get(m.group(3) or "", 1)
    decimals = len(m.group(2) or "")
    shown = float(m.group(1) + "." + (m.group(2) or "0")) * scale
    return abs(shown - want) <= 0.5 * 10**-decimals * scale * (1 + 1e-9)


def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


# ----------------------------------------------------- expected, by hand --
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def expected(lines):
    """{(label, impl): {header: value}} and {(label, peer): ops ratio}, straight from the lines."""
    by = {}
    for r in lines:
        by.setdefault((r.get("label") or r["workload"], r["impl"]), []).append(r)
    exp = {}
    for key, rs in by.items():
        e = {
            "n": len(rs),
            "ops/s": med([r["ops_per_s"] for r in rs]),
            "wall s": med([r["wall_s"] for r in rs]),
            "CPU s": med([r["cpu_s"] for r in rs]),
            "peak RSS MiB": med([r["peak_rss_bytes"] / 2**20 for r in rs]),
            "GC cycles": med([r.get("gc_cycles") for r in rs]),
            "GC CPU %": med([r["gc_cpu_fraction"] * 100 if r.get("gc_cpu_fraction") is not None else None
                             for r in rs]),
            "p99": med([r["latency_ns"]["p99"] if "latency_ns" in r
                        else r["latency_us"]["p99"] * 1e3 if "latency_us" in r else r["latency"]["p99_ms"] * 1e6
                        for r in rs if "latency_ns" in r or "latency_us" in r or "latency" in r]),
            "RSS/conn": med([r.get("rss_per_conn_bytes") for r in rs]),
            "max pause": med([max(r["pauses_ns"]) if r.get("pauses_ns") else r["gc_pauses"]["max_ms"] * 1e6
                              for r in rs if r.get("pauses_ns") or r.get("gc_pauses")]),
        }
        exp[key] = e
    ratios = {}
    for (label, impl), e in exp.items():
        g = exp.get((label, "goro"))
        if impl != "goro" and g:
            ratios[(label, impl)] = g["ops/s"] / e["ops/s"]
    return exp, ratios


def check_tables(page, exp, ratios, where):
    med_rows = rows_by_key(page.tables.get("medians", [[{}, []]]), "data-label", "data-impl")
    check(set(med_rows) == set(exp), f"{where}: medians table rows {sorted(med_rows)} != {sorted(exp)}")
    for key, e in exp.items():
        row = med_rows.get(key)
        if row is None:
            continue
        for col, want in e.items():
            text, value = row.get(col, ("<no column>", None))
            if want is None:
                check(text in ("-", "<no column>"), f"{where}: {key} {col}: expected no value, page shows {text!r}")
                continue
            if not check(value is not None, f"{where}: {key} {col}: no data-value (text {text!r}, want {want})"):
                continue
            check(close(float(value), want, 1e-9), f"{where}: {key} {col}: data-value {value} != {want}")
            check(shows(text, want), f"{where}: {key} {col}: cell text {text!r} does not show {want}")
    rat_rows = rows_by_key(page.tables.get("ratios", [[{}, []]]), "data-label", "data-peer")
    check(set(rat_rows) == set(ratios), f"{where}: ratio rows {sorted(rat_rows)} != {sorted(ratios)}")
    for key, want in ratios.items():
        if key in rat_rows:
            text, value = rat_rows[key].get("ops/s", ("", None))
            check(value is not None and close(float(value), want, 1e-9) and shows(text, want),
                  f"{where}: ratio {key}: page {text!r}/{value}, want {want:.4f}")


def check_charts(page, lines):
    timelines = {}
    for r in lines:
        if r.get("windows"):
            key = (r["label"], r["impl"])
            timelines.setdefault(key, []).append(r)
    check(timelines, "the sample has no gcbench-limit runs: the fixture is wrong")
    for label in {lab for lab, _ in timelines}:
        table = page.tables.get(f"pacer-{label}")
        if not check(table, f"no pacer table for {label}"):
            continue
        header = [t for t, _ in table[0][1]]
        got = {(cells[0][0], cells[1][0]): dict(zip(header, cells)) for _, cells in table[1:]}
        want = [(impl, i, r) for (lab, impl), rs in timelines.items() if lab == label for i, r in enumerate(rs, 1)]
        check(len(got) == len(want), f"pacer table {label}: {len(got)} rows for {len(want)} runs")
        for impl, i, r in want:
            gc = [w["gc_cpu_fraction"] * 100 for w in r["windows"] if w.get("gc_cpu_fraction", -1) >= 0]
            cell = got.get((impl, str(i)), {}).get("max window GC CPU %", ("", None))
            check(cell[1] is not None and close(float(cell[1]), max(gc), 1e-9),
                  f"pacer table {label} {impl} run {i}: max window GC CPU {cell}, want {max(gc)}")
    for (label, impl), rs in timelines.items():
        for i, r in enumerate(rs, 1):
            sid = f"timeline-{label}-{impl}-{i}"
            svg = page.svgs.get(sid)
            if not check(svg is not None, f"no timeline chart {sid}"):
                continue
            polys = {a.get("class"): a.get("points", "").split() for t, a in svg if t == "polyline"}
            for cls in ("heap", "goal", "live"):
                check(len(polys.get(cls, [])) == len(r["windows"]),
                      f"{sid}: {cls} line has {len(polys.get(cls, []))} points for {len(r['windows'])} windows")
            check(any(t == "line" and a.get("class") == "limit" for t, a in svg), f"{sid}: no memory-limit line")
            gc_windows = sum(1 for w in r["windows"] if w.get("gc_cpu_fraction", -1) >= 0)
            bars = sum(1 for t, a in svg if t == "rect" and a.get("class") == "gccpu")
            check(bars == gc_windows, f"{sid}: {bars} GC CPU bars for {gc_windows} windows with a value")
            shaded = sum(1 for t, a in svg if t == "rect" and (a.get("class") or "").startswith("state-"))
            want = sum(1 for w in r["windows"] if w.get("pacer_state") in ("pressure", "spiral"))
            check(shaded == want, f"{sid}: {shaded} shaded windows, {want} windows in pressure or spiral")
    # Lines with only percentiles ("latency", "gc_pauses" objects) get the percentile chart.
    for kind, key in (("latency", "latency"), ("pause", "gc_pauses")):
        for label in {r["label"] for r in lines if r.get(key)}:
            svg = page.svgs.get(f"pct-{kind}-{label}")
            if check(svg is not None, f"no {kind} percentile chart for {label}"):
                for impl in {r["impl"] for r in lines if r["label"] == label and r.get(key)}:
                    bars = [a for t, a in svg if t == "rect" and a.get("class") == f"bar-{impl}"]
                    check(len(bars) >= 3, f"{kind} percentile chart of {label}: {len(bars)} bars for {impl}")
    # gcbench's phases: one row per phase and depth, the median of each implementation's runs.
    for label in {r["label"] for r in lines if r.get("phases")}:
        table = page.tables.get(f"phases-{label}")
        if not check(table, f"no phases table for {label}"):
            continue
        header = [t for t, _ in table[0][1]]
        got = {cells[0][0]: dict(zip(header, cells)) for _, cells in table[1:]}
        for impl in {r["impl"] for r in lines if r["label"] == label and r.get("phases")}:
            per = {}
            for r in lines:
                if r["label"] == label and r["impl"] == impl and isinstance(r.get("phases"), list):
                    for ph in r["phases"]:
                        per.setdefault(f"{ph['phase']} depth {ph['depth']}", []).append(ph["s"])
            for name, xs in per.items():
                cell = got.get(name, {}).get(f"{impl} s")
                check(cell is not None and cell[1] is not None and close(float(cell[1]), med(xs), 1e-9),
                      f"phases {label} {name} {impl}: page {cell}, want {med(xs)}")
    for kind, key in (("latency", "latency_ns"), ("pause", "pauses_ns")):
        for label in {r["label"] for r in lines if r.get(key)}:
            svg = page.svgs.get(f"hist-{kind}-{label}")
            if check(svg is not None, f"no {kind} histogram for {label}"):
                impls = {r["impl"] for r in lines if r["label"] == label and r.get(key)}
                for impl in impls:
                    check(any(t == "rect" and a.get("class") == f"bar-{impl}" for t, a in svg),
                          f"{kind} histogram of {label} has no bars for {impl}")


# -------------------------------------------------------------------- PNG --
def read_png(path):
    """(width, height, rows of (r, g, b) tuples) for 8-bit RGB/RGBA PNGs."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def hex_rgb(h):
    return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))


# --------------------------------------------------------------- chromium --
def find_chromium():
    if "CHROMIUM" in os.environ:  # a browser to use instead, or "" for none
        return shutil.which(os.environ["CHROMIUM"]) if os.environ["CHROMIUM"] else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


def chromium(binary, profile, *args):
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
           "--no-first-run", "--mute-audio", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)


def check_runner(src, goro_peers, tmp):
    """bench/run's smoke set with goro alone: JSON lines per rep, notes for rows goro cannot run, a report."""
    out = os.path.join(tmp, "smoke")
    p = subprocess.run([sys.executable, os.path.join(src, "bench", "run"), "smoke", out, "--no-build", "--impls", "goro",
                        "--goro-bin", goro_peers, "--reps", "2", "--peers-work", os.path.join(tmp, "peers")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if not check(p.returncode == 0, f"bench/run smoke exited {p.returncode}: {p.stderr.strip()[-400:]}"):
        return
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as fh:
        got = [json.loads(ln) for ln in fh]
    with open(os.path.join(out, "run.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    listed = subprocess.run([goro_peers, "list"], stdout=subprocess.PIPE, text=True).stdout.split()
    # A network row needs the netpeers client, which --no-build with a fresh
    # --peers-work does not have: the row must be skipped with a note naming it.
    net = [r for r in got if r.get("label") == "http-hello-small"]
    check(not net and any(n.startswith("http-hello-small:") and "netpeers" in n for n in meta.get("notes", [])),
          f"bench/run smoke: http-hello-small: expected a note that netpeers is missing, got {meta.get('notes')} / {net}")
    for label, workload in (("skynet-small", "skynet"), ("pingpong-small", "pingpong"), ("binarytrees-10", "binarytrees"),
                            ("gc-steady-small", "gcbench-limit")):
        runs = [r for r in got if r.get("label") == label]
        if workload in listed:
            check(sorted(r.get("rep") for r in runs) == [1, 2], f"bench/run smoke: {label}: reps {[r.get('rep') for r in runs]}")
            check(all(r.get("impl") == "goro" and str(r.get("check")).startswith("ok") and "cpu_avail_probe" in r
                      for r in runs), f"bench/run smoke: {label}: bad lines {runs}")
        else:
            check(not runs and any(label in n and workload in n for n in meta.get("notes", [])),
                  f"bench/run smoke: {label}: goro has no {workload}, expected a note, got {meta.get('notes')}")
    page = os.path.join(out, "report.html")
    if check(os.path.isfile(page), "bench/run smoke wrote no report.html"):
        with open(page, encoding="utf-8") as fh:
            exp, ratios = expected(got)
            check_tables(parse_page(fh.read()), exp, ratios, "bench/run smoke report")
    check("skynet-small" in p.stdout and "Report:" in p.stdout, "bench/run smoke printed no summary")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--keep", help="folder to keep the page and the screenshot in")
    ap.add_argument("--goro-peers", help="also run bench/run's smoke set with this goro-peers binary")
    args = ap.parse_args()
    src = args.source_dir
    sample = os.path.join(src, "tests", "data", "bench_report_sample.jsonl")
    with open(sample, encoding="utf-8") as fh:
        lines = [json.loads(ln) for ln in fh if ln.startswith("{")]
    tmp = tempfile.mkdtemp(prefix="goro-report-check-")
    out = args.keep or tmp
    try:
        p = subprocess.run([sys.executable, os.path.join(src, "bench", "report.py"), out, sample],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        if p.returncode != 0:
            print(f"FAIL: report.py exited {p.returncode}: {p.stderr.strip()}")
            return 1
        check("Medians per row" in p.stdout and "gc-spiral" in p.stdout, "report.py printed no text table")
        page_path = os.path.join(out, "report.html")
        with open(page_path, encoding="utf-8") as fh:
            text = fh.read()
        check(not re.search(r"<script|https?://(?!www\.w3\.org/2000/svg)", text),
              "the page must be self-contained: no script, no network address")
        if args.goro_peers:
            check_runner(src, args.goro_peers, tmp)
        exp, ratios = expected(lines)
        page = parse_page(text)
        check_tables(page, exp, ratios, "report.html")
        check_charts(page, lines)

        browser = find_chromium()
        if browser is None:
            report_failures()
            print("SKIP: chromium is not installed (apt-get install chromium); the page itself was checked")
            return 1 if failures else SKIP
        profile = os.path.join(tmp, "profile")
        url = "file://" + os.path.abspath(page_path)
        # Loading the page is also the probe: a browser that gives back no
        # document at all cannot run here (the page cannot make it fail).
        err = ""
        try:
            dom = chromium(browser, profile, "--dump-dom", url)
        except (OSError, subprocess.TimeoutExpired) as e:
            dom, err = None, str(e)
        if dom is None or dom.returncode != 0 or "<html" not in dom.stdout:
            report_failures()
            why = err if dom is None else (dom.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"SKIP: chromium cannot run here: {why}")
            return 1 if failures else SKIP
        check_tables(parse_page(dom.stdout), exp, ratios, "chromium's DOM")
        shot = os.path.join(out, "report.png")
        size = (1400, 3000)
        s = chromium(browser, profile, f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}", url)
        if check(s.returncode == 0 and os.path.isfile(shot), f"chromium --screenshot failed: {s.stderr.strip()[-300:]}"):
            w, h, rows = read_png(shot)
            check((w, h) == size, f"screenshot is {w}x{h}, asked for {size[0]}x{size[1]}")
            colours = {}
            for row in rows[::2]:
                for px in row[::2]:
                    colours[px] = colours.get(px, 0) + 1
            total = sum(colours.values())
            white = colours.get((255, 255, 255), 0)
            check(total - white > total * 0.05, f"screenshot is almost blank ({(total - white) / total:.1%} non-white)")
            sys.path.insert(0, os.path.join(src, "bench"))
            sys.dont_write_bytecode = True
            import report  # the colours the page promises in its legend
            for name, colour in (("pressure shading", report.STATE_COLOUR["pressure"]),
                                 ("spiral shading", report.STATE_COLOUR["spiral"]),
                                 ("goro row background", "#eef5fc"), ("GC CPU bars", "#8e5bb5")):
                rgb = hex_rgb(colour)
                n = sum(c for px, c in colours.items() if max(abs(px[i] - rgb[i]) for i in range(3)) <= 3)
                check(n > 400, f"screenshot: {name} ({colour}) not visible ({n} of the sampled pixels)")
        if args.keep:
            print(f"kept {page_path} and {shot}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report_failures()
    if failures:
        return 1
    print("PASS: report tables match the JSON lines; chromium renders the page")
    return 0


def report_failures():
    for f in failures:
        print("FAIL:", f)


if __name__ == "__main__":
    sys.exit(main())
