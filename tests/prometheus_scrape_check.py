#!/usr/bin/env python3
"""A real Prometheus scrapes a goro program and finds goro's metrics.

usage: prometheus_scrape_check.py GORO_PROM_TARGET

Starts the target (tests/tools/prom_target.cpp: goro's runtime collector
on prometheus-cpp's Exposer, 127.0.0.1, a free port, load running), then
Debian's prometheus with its own temporary config and data directory
(scrape interval 1 s, listening on 127.0.0.1 only), waits until the target
is up and scraped a few times, and asks Prometheus' HTTP API for
goro_gc_cycles_total_gc_cycles_total (present, >= 1, growing) and for
histogram_quantile(0.9, goro_sched_latencies_seconds_bucket) (a finite
latency between 0 and 1 s). Both processes are stopped by their PIDs.
About 15 s; gives up after 45 s. Exit 77 (skipped) when prometheus is not
installed (Debian package prometheus; scripts/test installs it).
"""
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

DEADLINE = time.monotonic() + 45


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read().decode())


def query(base, q):
    r = get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    if r.get("status") != "success":
        raise RuntimeError(f"query {q!r}: {r}")
    return r["data"]["result"]


def wait_for(what, fn, period=0.5):
    last = None
    while time.monotonic() < DEADLINE:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # not up yet
            last = e
        time.sleep(period)
    raise RuntimeError(f"timed out waiting for {what} (last error: {last})")


def stop(p):
    if p and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    target_bin = sys.argv[1]
    prom_bin = shutil.which("prometheus")
    if not prom_bin:
        print("SKIP: prometheus is not installed (Debian package prometheus)")
        return 77
    work = tempfile.mkdtemp(prefix="goro-prom-")
    target = prom = None
    try:
        target = subprocess.Popen([target_bin, "--addr", "127.0.0.1:0", "--seconds", "40"],
                                  stdout=subprocess.PIPE, text=True)
        line = target.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            raise RuntimeError(f"target did not print its port: {line}")
        tport = int(line[1])
        # The target serves the text itself: check it once before Prometheus does.
        with urllib.request.urlopen(f"http://127.0.0.1:{tport}/metrics", timeout=5) as r:
            body = r.read().decode()
        assert "goro_sched_latencies_seconds_bucket" in body, body[:2000]

        pport = free_port()
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
                    "scrape_configs:\n"
                    "  - job_name: goro\n"
                    f"    static_configs: [{{targets: ['127.0.0.1:{tport}']}}]\n")
        log = open(os.path.join(work, "prometheus.log"), "w")
        prom = subprocess.Popen([prom_bin, f"--config.file={cfg}",
                                 f"--storage.tsdb.path={os.path.join(work, 'data')}",
                                 f"--web.listen-address=127.0.0.1:{pport}"],
                                stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{pport}"

        def target_up():
            ts = get(base + "/api/v1/targets")["data"]["activeTargets"]
            if ts and ts[0]["health"] == "down":
                print("target down:", ts[0].get("lastError"))
            return ts and ts[0]["health"] == "up" and ts[0]["lastError"] == ""
        wait_for("the target to be scraped (health up)", target_up)

        first = wait_for("goro_gc_cycles_total_gc_cycles_total",
                         lambda: query(base, "goro_gc_cycles_total_gc_cycles_total"))
        c1 = float(first[0]["value"][1])
        assert c1 >= 1, f"no collections counted: {first}"
        # A few scrapes later the counter has grown (the target keeps collecting).
        grown = wait_for("goro_gc_cycles_total_gc_cycles_total to grow", lambda: float(
            query(base, "goro_gc_cycles_total_gc_cycles_total")[0]["value"][1]) > c1)
        assert grown

        q = "histogram_quantile(0.9, goro_sched_latencies_seconds_bucket)"
        res = wait_for(q, lambda: query(base, q))
        p90 = float(res[0]["value"][1])
        assert math.isfinite(p90) and 0 < p90 < 1, f"{q} = {p90}"
        up = query(base, "up{job='goro'}")
        assert up and up[0]["value"][1] == "1", up
        samples = float(query(base, "scrape_samples_scraped")[0]["value"][1])
        print(f"ok: gc cycles {c1:.0f} -> more, p90 scheduling latency {p90 * 1e6:.1f} us, "
              f"{samples:.0f} samples per scrape")
        return 0
    finally:
        stop(prom)
        stop(target)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
