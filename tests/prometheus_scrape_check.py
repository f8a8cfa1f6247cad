#!/usr/bin/env python3
"""A real Prometheus scrapes a goro service under load and finds goro's metrics.

usage: prometheus_scrape_check.py EXAMPLE_HTTP_SERVICE

Starts the example service (examples/http_service.cpp: GET /metrics renders
goro's runtime collector and the service's own registry with prometheus-cpp's
TextSerializer) on 127.0.0.1 port 0, loads it with two threads posting
orders over keep-alive connections (each order becomes a graph of GC
objects, so collections happen and the scheduling-latency histogram fills),
then
Debian's prometheus with its own temporary config and data directory
(scrape interval 1 s, listening on 127.0.0.1 only), waits until the target
is up and scraped a few times, and asks Prometheus' HTTP API for
goro_gc_cycles_total (present, >= 1, growing) and for
histogram_quantile(0.9, goro_sched_latencies_seconds_bucket) (a finite
latency between 0 and 1 s), and for the service's own request counter
(rate of answered orders > 0). Both processes are stopped by their PIDs;
the load stops with them.
About 15 s; gives up after 60 s. Exit 77 (skipped) when prometheus is not
installed (Debian package prometheus; scripts/test installs it).
"""
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

DEADLINE = time.monotonic() + 60


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


ORDER = json.dumps({"id": "o-1", "customer": "ada", "items": [
    {"sku": f"sku-{i}", "qty": i + 1, "price": 1.25 * i} for i in range(20)]})


LOAD_ERRORS = []


def load(port, stop_event):
    """Posts orders over one keep-alive connection until stop_event is set."""
    while not stop_event.is_set():
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            while not stop_event.is_set():
                c.request("POST", "/orders", body=ORDER,
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    LOAD_ERRORS.append(f"POST /orders: {r.status}")
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)  # the service is going away


def main():
    target_bin = sys.argv[1]
    prom_bin = shutil.which("prometheus")
    if not prom_bin:
        print("SKIP: prometheus is not installed (Debian package prometheus)")
        return 77
    work = tempfile.mkdtemp(prefix="goro-prom-")
    target = prom = None
    stop_load = threading.Event()
    try:
        target = subprocess.Popen([target_bin, "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                  text=True)
        line = target.stdout.readline()
        m = re.match(r"http_service: listening on 127\.0\.0\.1:(\d+) ", line)
        if not m:
            raise RuntimeError(f"the service did not print its port: {line!r}")
        tport = int(m.group(1))
        for _ in range(2):
            threading.Thread(target=load, args=(tport, stop_load), daemon=True).start()
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

        first = wait_for("goro_gc_cycles_total",
                         lambda: query(base, "goro_gc_cycles_total"))
        c1 = float(first[0]["value"][1])
        assert c1 >= 1, f"no collections counted: {first}"
        # A few scrapes later the counter has grown (the target keeps collecting).
        grown = wait_for("goro_gc_cycles_total to grow", lambda: float(
            query(base, "goro_gc_cycles_total")[0]["value"][1]) > c1)
        assert grown

        q = "histogram_quantile(0.9, goro_sched_latencies_seconds_bucket)"
        res = wait_for(q, lambda: query(base, q))
        p90 = float(res[0]["value"][1])
        assert math.isfinite(p90) and 0 < p90 < 1, f"{q} = {p90}"
        q = 'rate(http_service_requests_total{route="/orders",code="200"}[5s])'
        orders = wait_for(q, lambda: query(base, q) and float(query(base, q)[0]["value"][1]) > 0)
        assert orders
        # The network layer's part of the catalog: the service's own
        # connections (the load clients' and Prometheus'), accepted and
        # requests served as counters.
        q = "rate(goro_net_http_requests_total[5s])"
        served = wait_for(q, lambda: query(base, q) and float(query(base, q)[0]["value"][1]) > 0)
        assert served
        accepted = float(query(base, "goro_net_conns_accepted_total")[0]["value"][1])
        assert accepted >= 1, accepted
        open_conns = float(query(base, "goro_net_conns_open")[0]["value"][1])
        assert open_conns >= 1, f"Prometheus' own scrape connection is open: {open_conns}"
        assert not LOAD_ERRORS, LOAD_ERRORS[:3]
        up = query(base, "up{job='goro'}")
        assert up and up[0]["value"][1] == "1", up
        samples = float(query(base, "scrape_samples_scraped")[0]["value"][1])
        print(f"ok: gc cycles {c1:.0f} -> more, p90 scheduling latency {p90 * 1e6:.1f} us, "
              f"{samples:.0f} samples per scrape")
        return 0
    finally:
        stop_load.set()
        stop(prom)
        stop(target)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
