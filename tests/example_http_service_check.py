#!/usr/bin/env python3
"""examples/http_service.cpp from outside: the binary on a loopback socket.

usage: example_http_service_check.py EXAMPLE_HTTP_SERVICE CASE
CASE is one of:
  api       POST /orders (good and bad bodies), GET /stats, /slow, /healthz,
            an unknown route and a wrong method, each answer checked
  metrics   GET /metrics passes `promtool check metrics` (Debian package
            prometheus; exit 77, skipped, without it), has goro's runtime
            families and the service's own, and counts the requests made
  sigterm   SIGTERM while a slow request is in flight: the request completes
            with its answer, new connections are refused, the drain is
            logged, the process exits 0 within the shutdown deadline
  deadline  SIGTERM with a request slower than --shutdown-timeout: the
            deadline cuts it off, exit 1, the log says so
  badflags  a bad --addr (and other bad flags) exit 2 with a message
            naming the value and the accepted form
The server listens on 127.0.0.1 port 0 (it prints the port it got) and is
always stopped by its PID.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time


class service:
    def __init__(self, binary, *args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen([binary, "--addr", "127.0.0.1:0", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=e)
        self.first = self.p.stdout.readline()
        m = re.match(r"http_service: listening on 127\.0\.0\.1:(\d+) pid=(\d+) procs=\d+ memlimit=",
                     self.first)
        if not m:
            self.stop()
            raise AssertionError(f"no listening line: {self.first!r} {self.p.stderr.read()!r}")
        self.port = int(m.group(1))
        assert int(m.group(2)) == self.p.pid, self.first

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)

    def request(self, method, path, body=None, conn=None):
        c = conn or self.conn()
        c.request(method, path, body=body,
                  headers={"Content-Type": "application/json"} if body is not None else {})
        r = c.getresponse()
        data = r.read().decode()
        if conn is None:
            c.close()
        return r.status, r.getheader("Content-Type"), data

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def start_slow(s, ms):
    """GET /slow?ms=MS on a thread; returns once the request is in its handler
    (in_flight counts the /stats request too). The thread's outcome lands in
    the dict returned with it: "r" (status, type, body) or "e" (the error)."""
    result = {}

    def slow():
        try:
            result["r"] = s.request("GET", f"/slow?ms={ms}")
        except Exception as e:  # noqa: BLE001 - the caller judges it
            result["e"] = e
    t = threading.Thread(target=slow)
    t.start()
    deadline = time.monotonic() + 10
    while json.loads(s.request("GET", "/stats")[2])["in_flight"] < 2:
        check(time.monotonic() < deadline, "the slow request never started")
        time.sleep(0.02)
    return t, result


ORDER = {"id": "o-17", "customer": "ada", "items": [
    {"sku": "tea", "qty": 2, "price": 3.5},
    {"sku": "cake", "qty": 1, "price": 4.25},
    {"sku": "tea", "qty": 1, "price": 3.5},
    {"sku": "jam", "qty": 3, "price": 0.99}]}


def case_api(binary):
    s = service(binary, env={"GORO_MEMLIMIT": "64MiB"})
    try:
        check("memlimit=64 MiB (GORO_MEMLIMIT)" in s.first, f"GORO_MEMLIMIT not in the log: {s.first!r}")
        c = s.conn()  # one keep-alive connection for many requests
        for _ in range(200):  # enough garbage graphs for the collector to run
            st, ct, body = s.request("POST", "/orders", json.dumps(ORDER), conn=c)
            check(st == 200 and ct == "application/json", f"{st} {ct} {body}")
        got = json.loads(body)
        want = {"id": "o-17", "customer": "ada", "lines": 4, "units": 7, "distinct_skus": 3,
                "total": 17.72, "largest_line": {"sku": "tea", "amount": 7.0}}
        check(got == want, f"summary {got} != {want}")
        # Unicode and escapes survive the trip through the GC strings.
        o = {"id": "o-\u00e9\"1", "customer": "\u6771\u4eac", "items": [
            {"sku": "a\nb", "qty": 1, "price": 0}]}
        st, _, body = s.request("POST", "/orders", json.dumps(o, ensure_ascii=False).encode())
        got = json.loads(body)
        check(st == 200 and got["id"] == o["id"] and got["customer"] == o["customer"] and
              got["largest_line"]["sku"] == "a\nb" and got["total"] == 0, body)
        bad = [
            ('{"id":"x",', "invalid JSON at byte"),
            ('{"id":"x"} trailing', "data after the value"),
            ("[" * 100 + "]" * 100, "nested deeper than 32"),
            ("[1,2]", "must be a JSON object"),
            ('{"customer":"a","items":[]}', '"id" must be a string'),
            ('{"id":"x","customer":"a","items":[]}', '"items" must hold 1 to 1000 items, not 0'),
            ('{"id":"x","customer":"a","items":{}}', '"items" must be an array'),
            ('{"id":"x","customer":"a","items":[{"sku":"t","qty":0,"price":1}]}',
             'items[0]: "qty" must be a whole number'),
            ('{"id":"x","customer":"a","items":[{"sku":"t","qty":1,"price":1},{"sku":"u","qty":1}]}',
             'items[1]: "price" must be a number'),
            ('{"id":"x","customer":"a","items":[{"sku":"t","qty":1,"price":-1}]}',
             '"price" must be 0 to 1e9'),
            (b'{"id":"\xff","customer":"a","items":[]}', "invalid JSON"),
        ]
        for b, msg in bad:
            st, ct, body = s.request("POST", "/orders", b, conn=c)
            check(st == 400 and ct == "application/json", f"{b!r}: {st} {ct} {body}")
            check(msg in json.loads(body)["error"], f"{b!r}: {body!r} lacks {msg!r}")
        st, _, body = s.request("POST", "/orders", "x" * (65 << 10))
        check(st == 413, f"a 65 KiB body: {st} {body}")
        st, _, body = s.request("GET", "/stats", conn=c)
        stats = json.loads(body)
        check(st == 200 and stats["orders"] == 201 and stats["in_flight"] == 1 and
              abs(stats["revenue"] - 200 * 17.72) < 1e-6, body)
        st, _, body = s.request("GET", "/slow?ms=50", conn=c)
        check((st, body) == (200, "slept 50 ms\n"), f"{st} {body!r}")
        st, _, body = s.request("GET", "/slow?ms=99999", conn=c)
        check(st == 400 and "0 to 30000" in body and "ms=99999" in body, f"{st} {body!r}")
        check(s.request("GET", "/healthz", conn=c)[::2] == (200, "ok\n"), "healthz")
        check(s.request("GET", "/nope", conn=c)[0] == 404, "unknown route")
        check(s.request("GET", "/orders", conn=c)[0] == 405, "GET /orders")
        c.close()
        check(s.p.poll() is None, "the service died")
    finally:
        s.stop()
    return 0


def case_metrics(binary):
    promtool = shutil.which("promtool")
    if not promtool:
        print("SKIP: promtool is not installed (Debian package prometheus)")
        return 77
    s = service(binary)
    try:
        for _ in range(20):
            check(s.request("POST", "/orders", json.dumps(ORDER))[0] == 200, "order")
        check(s.request("POST", "/orders", "{")[0] == 400, "bad order")
        st, ct, text = s.request("GET", "/metrics")
        check(st == 200 and ct.startswith("text/plain; version=0.0.4"), f"{st} {ct}")
        lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                              text=True)
        check(lint.returncode == 0, f"promtool: {lint.stdout} {lint.stderr}")
        for family in ["# TYPE goro_sched_latencies_seconds histogram",
                       "# TYPE goro_gc_cycles_total counter",
                       "# TYPE goro_memory_classes_total_bytes gauge",
                       "# TYPE http_service_requests_total counter",
                       "# TYPE http_service_request_duration_seconds histogram",
                       "# TYPE http_service_requests_in_flight gauge"]:
            check(family in text, f"/metrics lacks {family!r}")
        check('http_service_requests_total{code="200",route="/orders"} 20\n' in text, text)
        check('http_service_requests_total{code="400",route="/orders"} 1\n' in text, text)
        check('http_service_request_duration_seconds_count{route="/orders"} 21\n' in text, text)
        check("http_service_order_items_total 80\n" in text, "items counted")
        check("http_service_requests_in_flight 1\n" in text, "the scrape itself is in flight")
    finally:
        s.stop()
    return 0


def case_sigterm(binary):
    s = service(binary, "--shutdown-timeout", "10")
    try:
        idle = socket.create_connection(("127.0.0.1", s.port))  # an idle keep-alive connection
        t, result = start_slow(s, 3000)
        t0 = time.monotonic()
        os.kill(s.p.pid, signal.SIGTERM)
        # The listener closes: new connections are refused (retry a moment
        # for the signal to arrive). A connection the kernel queued just before
        # the close is reset with the listener (as Go's and hyper's are): that
        # one is tried again, since only a refusal shows nothing listens.
        refused = False
        while time.monotonic() < t0 + 1.4 and not refused:
            try:
                socket.create_connection(("127.0.0.1", s.port), timeout=1).close()
                time.sleep(0.02)
            except ConnectionResetError:
                continue
            except ConnectionRefusedError:
                refused = True
        check(refused, "still accepting after SIGTERM")
        # The idle connection is closed by the server (EOF), not left open.
        idle.settimeout(5)
        check(idle.recv(1) == b"", "the idle connection was not closed")
        t.join(10)
        check("r" in result, f"the slow request failed: {result.get('e')}")
        check(result["r"][0] == 200 and result["r"][2] == "slept 3000 ms\n", result["r"])
        rc = s.p.wait(timeout=10)
        elapsed = time.monotonic() - t0
        out = s.p.stdout.read()
        check(rc == 0, f"exit {rc}: {out} {s.p.stderr.read()}")
        check(elapsed < 10, f"exited after {elapsed:.1f} s, past the 10 s deadline")
        check(re.search(r"signal received: shutting down \(listener closed, \d+ connections open, "
                        r"1 requests in flight, deadline 10 s\)", out), out)
        check(re.search(r"drained in \d+ ms: 1 requests finished during the drain, "
                        r"all connections closed", out), out)
        print(f"ok: drained and exited {elapsed:.2f} s after SIGTERM")
    finally:
        s.stop()
    return 0


def case_deadline(binary):
    s = service(binary, "--shutdown-timeout", "1")
    try:
        t, result = start_slow(s, 20000)  # cut off by the 1 s deadline
        t0 = time.monotonic()
        os.kill(s.p.pid, signal.SIGINT)
        rc = s.p.wait(timeout=15)
        elapsed = time.monotonic() - t0
        t.join(10)
        out = s.p.stdout.read()
        check(rc == 1, f"exit {rc}, want 1: {out}")
        check(elapsed < 10, f"exited {elapsed:.1f} s after SIGINT with a 1 s deadline")
        check("e" in result, f"the cut-off request got an answer: {result}")
        check(re.search(r"deadline passed after \d+ ms", out), out)
    finally:
        s.stop()
    return 0


def case_badflags(binary):
    cases = [
        (["--addr", "nope"], ['--addr: goro::net: address "nope"', "host:port"]),
        (["--addr", "127.0.0.1:99999"], ['"127.0.0.1:99999"', "port 0-65535"]),
        (["--addr", "::1:80"], ['"::1:80"', "IPv6 host needs brackets"]),
        (["--addr"], ["--addr needs a value", "usage:"]),
        (["--procs", "zero"], ['--procs "zero": want a whole number from 1 to 1024']),
        (["--shutdown-timeout", "-1"], ['--shutdown-timeout "-1"']),
        (["--port", "80"], ['unknown argument "--port"', "usage:"]),
    ]
    for args, msgs in cases:
        p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
        check(p.returncode == 2, f"{args}: exit {p.returncode}, want 2 ({p.stderr!r})")
        for m in msgs:
            check(m in p.stderr, f"{args}: stderr {p.stderr!r} lacks {m!r}")
        check("listening" not in p.stdout, f"{args}: it listened: {p.stdout!r}")
    return 0


def main():
    binary, case = sys.argv[1], sys.argv[2]
    rc = {"api": case_api, "metrics": case_metrics, "sigterm": case_sigterm,
          "deadline": case_deadline, "badflags": case_badflags}[case](binary)
    if rc == 0:
        print(f"ok: {case}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
