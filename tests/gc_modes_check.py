#!/usr/bin/env python3
# Checks bench/gc-modes (CTest: gc_modes; tests/CMakeLists.txt):
#
#   1. The verdict logic (bench/gc_modes.py) on canned JSON lines:
#      tests/data/gc_modes_sample.jsonl holds one real line per row and
#      implementation from a QUICK=1 run on this machine (goro-stw,
#      goro-concurrent, go; heap_bench's 2-thread BM_gc_new as one line).
#      From it the test makes a set that meets every target, checks that
#      each target's table says "met", then for each target a copy that
#      misses it (and only it) and checks that exactly that verdict turns
#      to "no". Also: the spiral's window selection (a hot window before
#      the limiter has been on for 1 s does not count; Go's limiter from
#      /gc/limiter/last-enabled), the mode check (a "concurrent" run that
#      ran stw raises), and the rendered markdown.
#   2. With --goro-peers and --heap-bench (built with the benchmarks): both
#      binaries say in their JSON which mode ran (gc_mode, gc_mode_reason),
#      and bench/gc-modes on a tiny row either runs (patched libgc on a
#      kernel with userfaultfd write-protection: exit 0, both modes in its
#      results) or stops with exit 3 when concurrent falls back to stw.
#      Without them the driver still runs against a stand-in goro-peers that
#      reports stw whatever it is asked (the packaged libgc): exit 3.
#
# Python 3 standard library only; a few seconds.

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
ARGS = argparse.Namespace(goro_peers=None, heap_bench=None)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(SRC, "bench"))
import gc_modes as gm  # noqa: E402

SAMPLE = os.path.join(HERE, "data", "gc_modes_sample.jsonl")
SECTIONS = ["Pauses and latency (garbage)", "Pauses against the live heap", "Throughput",
            "gcbench-limit spiral", "gcbench-limit steady rows", "RSS"]


def recs(records, row, impl):
    return [r for r in records if r["row"] == row and r["impl"] == impl]


def put(records, row, impl, path, value):
    """Sets rec[path...] = value on every record of (row, impl)."""
    found = recs(records, row, impl)
    assert found, (row, impl)
    for r in found:
        d = r
        for k in path[:-1]:
            d = d.setdefault(k, {})
        d[path[-1]] = value


def scale(records, row, impl, path, factor, base_impl=gm.STW):
    """(row, impl)'s value at path = base_impl's value there x factor."""
    base = recs(records, row, base_impl)[0]
    v = base
    for k in path:
        v = v[k]
    put(records, row, impl, path, v * factor)


def set_windows_gc(records, row, impl, fraction):
    for r in recs(records, row, impl):
        for w in r["windows"]:
            w["gc_cpu_fraction"] = fraction
            if "gc_thread_cpu_fraction" in w:
                w["gc_thread_cpu_fraction"] = fraction


def met_set():
    """The sample, edited so that the concurrent mode meets every target."""
    records = gm.load(SAMPLE)
    for row, conc_ms in (("garbage-64", 3.0), ("garbage-256", 4.0)):
        put(records, row, gm.STW, ["gc_pauses", "max_ms"], 30.0)
        put(records, row, gm.CONC, ["gc_pauses", "max_ms"], conc_ms)
        put(records, row, gm.GO, ["latency", "p99_ms"], 20.0)
        put(records, row, gm.CONC, ["latency", "p99_ms"], 19.0)
    for row in ("binarytrees", "gcbench"):
        scale(records, row, gm.CONC, ["ops_per_s"], 0.95)
    for r in recs(records, "alloc-2t", gm.CONC):
        stw = {b["name"]: b for b in recs(records, "alloc-2t", gm.STW)[0]["benchmarks"]}
        for b in r["benchmarks"]:
            b["items_per_second"] = stw[b["name"]]["items_per_second"] * 0.95
    set_windows_gc(records, "gc-spiral", gm.CONC, 0.5)
    for row in gm.STEADY_ROWS:
        for r in recs(records, row, gm.CONC):
            r["ops_per_s"] = r["params"]["rate"] * 0.99
            r["heap"]["peak_go_mem_over_limit"] = 0.98
    for row in {r["row"] for r in records}:
        scale(records, row, gm.CONC, ["peak_rss_bytes"], 1.05)
    return records


def verdicts(records):
    return dict(gm.render(records)[1])


class Verdicts(unittest.TestCase):
    def setUp(self):
        self.records = met_set()

    def assert_only_missed(self, records, section):
        v = verdicts(records)
        for s in SECTIONS:
            self.assertIs(v[s], s != section, f"{s}: {v[s]} (missed target: {section})")

    def test_sample_has_every_row_and_impl(self):
        for row, runner, _, _, has_go in gm.ROWS:
            for impl in (gm.STW, gm.CONC) + ((gm.GO,) if has_go else ()):
                self.assertTrue(recs(gm.load(SAMPLE), row, impl), (row, impl))

    def test_all_met(self):
        v = verdicts(self.records)
        self.assertEqual([s for s, _ in gm.render(self.records)[1]], SECTIONS)
        for s in SECTIONS:
            self.assertIs(v[s], True, s)

    def test_max_pause_64_missed(self):
        put(self.records, "garbage-64", gm.CONC, ["gc_pauses", "max_ms"], 5.5)
        put(self.records, "garbage-256", gm.CONC, ["gc_pauses", "max_ms"], 5.6)  # keep the growth met
        self.assert_only_missed(self.records, SECTIONS[0])

    def test_max_pause_256_missed(self):
        put(self.records, "garbage-64", gm.CONC, ["gc_pauses", "max_ms"], 4.9)
        put(self.records, "garbage-256", gm.CONC, ["gc_pauses", "max_ms"], 10.5)  # growth 2.1x: missed too
        v = verdicts(self.records)
        self.assertIs(v[SECTIONS[0]], False)
        self.assertIs(v[SECTIONS[1]], False)
        put(self.records, "garbage-64", gm.CONC, ["gc_pauses", "max_ms"], 9.0)  # 64 MiB missed too; growth met
        put(self.records, "garbage-256", gm.CONC, ["gc_pauses", "max_ms"], 10.5)
        self.assert_only_missed(self.records, SECTIONS[0])

    def test_max_pause_limit_is_inclusive(self):
        put(self.records, "garbage-64", gm.CONC, ["gc_pauses", "max_ms"], 5.0)
        put(self.records, "garbage-256", gm.CONC, ["gc_pauses", "max_ms"], 7.5)
        self.assertIs(verdicts(self.records)[SECTIONS[0]], True)

    def test_latency_p99_above_go_missed(self):
        put(self.records, "garbage-256", gm.CONC, ["latency", "p99_ms"], 21.0)
        self.assert_only_missed(self.records, SECTIONS[0])

    def test_pause_growth_missed(self):
        put(self.records, "garbage-64", gm.CONC, ["gc_pauses", "max_ms"], 2.0)
        put(self.records, "garbage-256", gm.CONC, ["gc_pauses", "max_ms"], 3.1)  # 1.55x
        self.assert_only_missed(self.records, SECTIONS[1])

    def test_binarytrees_throughput_missed(self):
        scale(self.records, "binarytrees", gm.CONC, ["ops_per_s"], 0.85)
        self.assert_only_missed(self.records, SECTIONS[2])

    def test_gcbench_throughput_missed(self):
        scale(self.records, "gcbench", gm.CONC, ["ops_per_s"], 0.89)
        self.assert_only_missed(self.records, SECTIONS[2])

    def test_allocation_rate_missed(self):
        r = recs(self.records, "alloc-2t", gm.CONC)[0]
        r["benchmarks"][-1]["items_per_second"] *= 0.5
        self.assert_only_missed(self.records, SECTIONS[2])

    def test_spiral_window_missed(self):
        r = recs(self.records, "gc-spiral", gm.CONC)[0]
        r["windows"][-1]["gc_cpu_fraction"] = 0.56
        self.assertEqual(gm.spiral_over(r), 1)
        self.assert_only_missed(self.records, SECTIONS[3])

    def test_spiral_thread_cpu_is_summed_not_judged_per_window(self):
        # goro's gc_thread_cpu_fraction charges a whole collection to the
        # window in which it ended: not a window's share, only the span's.
        r = recs(self.records, "gc-spiral", gm.CONC)[0]
        ws, _ = gm.spiral_windows(r)
        for w in r["windows"]:
            w["gc_thread_cpu_fraction"] = 0.0
        ws[-1]["gc_thread_cpu_fraction"] = 3.0
        self.assertIs(verdicts(self.records)[SECTIONS[3]], True)
        ends = [w["t_end_s"] for w in r["windows"]]
        i = ends.index(ws[-1]["t_end_s"])
        last_len = ends[i] - ends[i - 1]
        span = sum(w["t_end_s"] - ends[ends.index(w["t_end_s"]) - 1] for w in ws)
        self.assertAlmostEqual(gm.spiral_span_gc(r), 3.0 * last_len / span)

    def test_spiral_windows_before_the_limiter_has_been_on_1s(self):
        r = recs(self.records, "gc-spiral", gm.CONC)[0]
        ws = r["windows"]
        for w in ws:
            w["limiter_on"] = False
        first = len(ws) // 3
        for w in ws[first:]:
            w["limiter_on"] = True
        t_on = ws[first]["t_end_s"]
        for w in ws:
            if w["t_end_s"] < t_on + 1.0:
                w["gc_cpu_fraction"] = 0.9  # the limiter's first second: not judged
        self.assertEqual(gm.spiral_limiter_at(r), t_on)
        self.assertTrue(all(w["t_end_s"] >= t_on + 1.0 for w in gm.spiral_windows(r)[0]))
        self.assertIs(verdicts(self.records)[SECTIONS[3]], True)
        later = [w for w in ws if w["t_end_s"] >= t_on + 1.0]
        later[0]["gc_cpu_fraction"] = 0.6
        self.assert_only_missed(self.records, SECTIONS[3])

    def test_spiral_without_limiter_judges_all_after_1s(self):
        r = recs(self.records, "gc-spiral", gm.CONC)[0]
        for w in r["windows"]:
            w["limiter_on"] = False
        self.assertIsNone(gm.spiral_limiter_at(r))
        r["windows"][-1]["gc_cpu_fraction"] = 0.7
        self.assert_only_missed(self.records, SECTIONS[3])

    def test_go_limiter_from_last_enabled_cycle(self):
        ws = [{"t_end_s": 0.25 * (i + 1), "gc_cpu_fraction": -1, "limiter_last_enabled_cycle": c}
              for i, c in enumerate([0, 0, 3, 3, 3, 3, 3, 3, 3])]
        go = {"impl": "go", "windows": ws}
        self.assertEqual(gm.limiter_on_windows(go), [False, False] + [True] * 7)
        self.assertEqual(gm.spiral_limiter_at(go), 0.75)
        ws[8]["gc_cpu_fraction"] = 0.7
        ws[3]["gc_cpu_fraction"] = 0.9  # before the limiter's first second ended
        self.assertEqual(gm.spiral_worst(go), 0.7)
        self.assertEqual(gm.spiral_over(go), 1)

    def test_steady_rate_missed(self):
        r = recs(self.records, "gc-steady-2M", gm.CONC)[0]
        r["ops_per_s"] = r["params"]["rate"] * 0.9
        self.assert_only_missed(self.records, SECTIONS[4])

    def test_steady_over_limit_missed(self):
        put(self.records, "gc-steady-blob4k", gm.CONC, ["heap", "peak_go_mem_over_limit"], 1.02)
        self.assert_only_missed(self.records, SECTIONS[4])

    def test_rss_missed_on_one_row(self):
        scale(self.records, "gc-steady-1M", gm.CONC, ["peak_rss_bytes"], 1.2)
        self.assert_only_missed(self.records, SECTIONS[5])

    def test_medians_over_repetitions(self):
        # Three reps: the median decides, one bad rep does not.
        extra = []
        for rep, ms in ((2, 40.0), (3, 4.0)):
            for r in recs(self.records, "garbage-64", gm.CONC):
                c = copy.deepcopy(r)
                c["rep"], c["gc_pauses"]["max_ms"] = rep, ms
                extra.append(c)
        self.records += extra
        s = gm.stat(gm.group(self.records), "garbage-64", gm.CONC, gm.max_pause_ms)
        self.assertEqual((s.med, s.lo, s.hi, s.n), (4.0, 3.0, 40.0, 3))
        self.assertIs(verdicts(self.records)[SECTIONS[0]], True)

    def test_missing_row_is_not_met_nor_missed(self):
        records = [r for r in self.records if r["row"] != "gcbench"]
        v = verdicts(records)
        self.assertIsNone(v[SECTIONS[2]])

    def test_mode_check(self):
        conc = copy.deepcopy(recs(self.records, "garbage-64", gm.CONC)[0])
        gm.check_mode(conc, gm.CONC)
        conc["gc_mode"] = "stw"
        conc["gc_mode_reason"] = "concurrent asked for, but goro is built with the packaged libgc"
        with self.assertRaisesRegex(gm.ModeMismatch, "packaged libgc"):
            gm.check_mode(conc, gm.CONC)
        del conc["gc_mode"]
        with self.assertRaises(gm.ModeMismatch):
            gm.check_mode(conc, gm.CONC)
        hb = copy.deepcopy(recs(self.records, "alloc-2t", gm.CONC)[0])
        gm.check_mode(hb, gm.CONC)
        hb["context"]["gc_mode"] = "stw"
        with self.assertRaises(gm.ModeMismatch):
            gm.check_mode(hb, gm.CONC)
        gm.check_mode(recs(self.records, "alloc-2t", gm.STW)[0], gm.STW)
        gm.check_mode({"impl": "go"}, gm.GO)

    def test_render(self):
        text, _ = gm.render(self.records, "t")
        self.assertIn("| garbage-64: max pause (ms) |", text)
        self.assertIn("| Pauses and latency (garbage) | yes |", text)
        put(self.records, "garbage-64", gm.CONC, ["gc_pauses", "max_ms"], 5.5)
        put(self.records, "garbage-256", gm.CONC, ["gc_pauses", "max_ms"], 5.6)
        text, _ = gm.render(self.records, "t")
        line = next(x for x in text.splitlines() if x.startswith("| garbage-64: max pause"))
        self.assertTrue(line.endswith("| concurrent <= 5 ms | **no** |"), line)

    def test_report_command(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "r.jsonl")
            with open(p, "w") as f:
                for r in self.records:
                    f.write(json.dumps(r) + "\n")
            out = subprocess.run([sys.executable, os.path.join(SRC, "bench", "gc-modes"), "--report", p],
                                 stdout=subprocess.PIPE, text=True, check=True).stdout
        self.assertIn("| RSS | yes |", out)


class Driver(unittest.TestCase):
    """bench/gc-modes against a stand-in goro-peers that always runs stw
    (as one built on the packaged libgc does): it must stop with exit 3."""

    def test_stops_when_concurrent_ran_stw(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "bench"))
            line = {"impl": "goro", "label": "binarytrees", "workload": "binarytrees", "ops_per_s": 1.0,
                    "peak_rss_bytes": 1 << 20, "check": "ok", "gc_mode": "stw",
                    "gc_mode_reason": "concurrent asked for, but goro is built with the packaged libgc "
                                      "(GORO_PATCHED_GC=OFF); stw"}
            for name in ("goro-peers", "heap_bench"):
                path = os.path.join(d, "bench", name)
                with open(path, "w") as f:
                    f.write(f"#!/bin/sh\necho '{json.dumps(line)}'\n")
                os.chmod(path, 0o755)
            out = os.path.join(d, "out")
            p = subprocess.run([sys.executable, os.path.join(SRC, "bench", "gc-modes"), "--skip-build", "--no-go",
                                "--build-dir", d, "--only", "^binarytrees$", "--reps", "1", "--out", out],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("MODE MISMATCH", p.stderr)
            self.assertIn("packaged libgc", p.stderr)
            # The offending line is kept for a look.
            self.assertEqual([r["gc_mode"] for r in gm.load(os.path.join(out, "results.jsonl"))], ["stw", "stw"])


class Binaries(unittest.TestCase):
    def setUp(self):
        if not os.environ.get("GC_MODES_GORO_PEERS"):
            self.skipTest("goro-peers not built (--goro-peers)")

    def run_peers(self, mode):
        env = dict(os.environ, GORO_GC_MODE=mode)
        env.pop("GORO_DEBUG", None)
        p = subprocess.run([os.environ["GC_MODES_GORO_PEERS"], "binarytrees", "-depth", "6", "-procs", "1"],
                           env=env, stdout=subprocess.PIPE, text=True, timeout=120, check=True)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def test_peers_report_the_mode(self):
        stw = self.run_peers("stw")
        self.assertEqual((stw["gc_mode"], stw["gc_mode_reason"]), ("stw", "GORO_GC_MODE=stw"))
        gm.check_mode(stw, gm.STW)
        conc = self.run_peers("concurrent")
        self.assertIn(conc["gc_mode"], ("stw", "concurrent"))
        if conc["gc_mode"] == "stw":
            self.assertIn("concurrent asked for", conc["gc_mode_reason"])
            self.assertRaises(gm.ModeMismatch, gm.check_mode, conc, gm.CONC)
        else:
            gm.check_mode(conc, gm.CONC)

    def test_heap_bench_reports_the_mode(self):
        hb = os.environ.get("GC_MODES_HEAP_BENCH")
        if not hb:
            self.skipTest("no --heap-bench")
        env = dict(os.environ, GORO_GC_MODE="stw")
        p = subprocess.run([hb, "--benchmark_filter=^BM_gc_new<16>/real_time/threads:1$",
                            "--benchmark_min_time=0.01", "--benchmark_format=json"],
                           env=env, stdout=subprocess.PIPE, text=True, timeout=120, check=True)
        ctx = json.loads(p.stdout)["context"]
        self.assertEqual((ctx["gc_mode"], ctx["gc_mode_reason"]), ("stw", "GORO_GC_MODE=stw"))

    def test_driver_fails_loudly_or_runs(self):
        peers = os.environ["GC_MODES_GORO_PEERS"]
        hb = os.environ.get("GC_MODES_HEAP_BENCH")
        if not hb or os.path.dirname(hb) != os.path.dirname(peers):
            self.skipTest("needs goro-peers and heap_bench of one build")
        concurrent = self.run_peers("concurrent")["gc_mode"] == "concurrent"
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([sys.executable, os.path.join(SRC, "bench", "gc-modes"), "--skip-build", "--no-go",
                                "--build-dir", os.path.dirname(os.path.dirname(peers)), "--only", "^binarytrees$",
                                "--row", "binarytrees=binarytrees -depth 6", "--reps", "1", "--out", d],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
            if not concurrent:
                self.assertEqual(p.returncode, 3, p.stderr)
                self.assertIn("MODE MISMATCH", p.stderr)
                return
            self.assertEqual(p.returncode, 0, p.stderr)
            got = {(r["impl"], r["gc_mode"]) for r in gm.load(os.path.join(d, "results.jsonl"))}
            self.assertEqual(got, {(gm.STW, "stw"), (gm.CONC, "concurrent")})
            self.assertIn("## Throughput", p.stdout)
            self.assertIn("Load average", p.stdout)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--goro-peers")
    ap.add_argument("--heap-bench")
    a, rest = ap.parse_known_args()
    if a.goro_peers:
        os.environ["GC_MODES_GORO_PEERS"] = os.path.abspath(a.goro_peers)
    if a.heap_bench:
        os.environ["GC_MODES_HEAP_BENCH"] = os.path.abspath(a.heap_bench)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
