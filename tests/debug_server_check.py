#!/usr/bin/env python3
"""The debug server (debug/server/server.hpp) from outside, in the example
HTTP service started with GORO_DEBUG_ADDR (and GORO_DEBUG_TOKEN), over
loopback, with curl as an operator would use it.

usage: debug_server_check.py EXAMPLE_HTTP_SERVICE CASE [SOURCE_DIR]
CASE is one of:
  auth     every endpoint without, with a wrong and with the right token:
           401, 401, 200 (a 404 for an unknown path only with the token);
           the 401 body says nothing about the program; the token appears
           nowhere in the program's output
  gc       GET /debug/gc, POST gc_percent and memory_limit (numbers, "off",
           query and form body), bad values -> 400 naming the value and the
           accepted form, and the state changing as asked
  refuse   a non-loopback GORO_DEBUG_ADDR without a token, a malformed
           address and a bad token: exit 2 with one line naming the
           variable, and nothing listening; without GORO_DEBUG_ADDR no debug
           server starts; a loopback address without a token serves
  profiles every profile fetched over HTTP and read by `go tool pprof -top`
           (exit 77, skipped, without go) with the functions expected in
           it; goroutine?debug=1 and 2 as text; the trace as JSON; bad
           parameters -> 400
  load     the debug server keeps answering /debug/gc and /metrics while
           wrk loads the service's POST /orders (exit 77, skipped, without
           wrk)
  trace    GORO_TRACE=FILE in the service, requests, then SIGTERM: the
           service drains, exits 0, and FILE is a complete trace
           (tests/debug_trace_check.py: well-formed, task slices, flows)
Under ThreadSanitizer (GORO_TEST_SANITIZE=thread, set by tests/CMakeLists.txt)
profiles, load and trace exit 77: SIGPROF and Boehm's stop signals are
deferred by TSan, so CPU samples show TSan's frames and collections stall.
The programs are stopped by their PID.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

TOKEN = "k3y-" + os.urandom(8).hex()
ENDPOINTS = ["/metrics", "/debug/pprof/", "/debug/gc", "/debug/pprof/profile?seconds=1",
             "/debug/pprof/heap", "/debug/pprof/allocs", "/debug/pprof/goroutine",
             "/debug/pprof/goroutine?debug=1", "/debug/pprof/goroutine?debug=2",
             "/debug/pprof/block", "/debug/pprof/mutex", "/debug/pprof/trace?seconds=1"]


class service:
    """The example service with the debug server on a free loopback port."""

    def __init__(self, binary, env):
        e = {k: v for k, v in os.environ.items() if not k.startswith("GORO_")}
        e.update(env)
        self.p = subprocess.Popen([binary, "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=e)
        self.debug_line = self.p.stderr.readline()
        m = re.match(r"goro: debug server on http://127\.0\.0\.1:(\d+)/debug/pprof/ \((.*)\)\n$",
                     self.debug_line)
        if not m:
            self.stop()
            raise AssertionError(f"no debug server line: {self.debug_line!r}")
        self.debug_port = int(m.group(1))
        self.first = self.p.stdout.readline()
        m = re.match(r"http_service: listening on 127\.0\.0\.1:(\d+) ", self.first)
        if not m:
            self.stop()
            raise AssertionError(f"no listening line: {self.first!r}")
        self.port = int(m.group(1))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        out, err = self.p.communicate()
        return self.first + out, self.debug_line + err


def curl(port, path, token=None, method="GET", data=None, timeout=10):
    """(status, body) of one request made with curl."""
    args = ["curl", "-s", "-S", "--max-time", str(timeout), "-o", "-", "-w", "\n%{http_code}",
            "-X", method]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    for d in data or []:
        args += ["--data", d]
    args.append(f"http://127.0.0.1:{port}{path}")
    r = subprocess.run(args, capture_output=True, text=True, errors="replace",
                       timeout=timeout + 5)
    if r.returncode != 0:
        raise AssertionError(f"curl {path}: exit {r.returncode}: {r.stderr}")
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def case_auth(binary):
    s = service(binary, {"GORO_DEBUG_ADDR": "127.0.0.1:0", "GORO_DEBUG_TOKEN": TOKEN})
    try:
        check("bearer token required" in s.debug_line, s.debug_line)
        unauthorized = None
        for path in ENDPOINTS + ["/debug/gc?gc_percent=50", "/no/such/path"]:
            for method in ["GET", "POST"] if path.startswith("/debug/gc") else ["GET"]:
                for tok in [None, "wrong", TOKEN[:-1], TOKEN + "x", "bearer"]:
                    code, body = curl(s.debug_port, path, tok, method)
                    check(code == 401, f"{method} {path} token={tok!r}: {code}")
                    unauthorized = unauthorized or body
                    check(body == unauthorized, f"{path}: 401 body differs: {body!r}")
        check(unauthorized == "401 Unauthorized\n", repr(unauthorized))
        # The other scheme spellings and a Basic header are refused too.
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                            f"Authorization: Basic {TOKEN}",
                            f"http://127.0.0.1:{s.debug_port}/debug/gc"],
                           capture_output=True, text=True, timeout=15)
        check(r.stdout == "401", f"Basic: {r.stdout}")
        for path in ENDPOINTS:
            code, body = curl(s.debug_port, path, TOKEN)
            check(code == 200, f"GET {path} with the token: {code} {body[:200]!r}")
        code, _ = curl(s.debug_port, "/no/such/path", TOKEN)
        check(code == 404, f"unknown path with the token: {code}")
        code, body = curl(s.debug_port, "/metrics", TOKEN)
        check("# TYPE goro_gc_cycles_total counter" in body, body[:300])
        code, body = curl(s.debug_port, "/debug/pprof/", TOKEN)
        check('href="/debug/gc"' in body, body)
        # The service itself is not behind the token, and not on this port.
        code, _ = curl(s.port, "/healthz")
        check(code == 200, f"/healthz {code}")
    finally:
        out, err = s.stop()
    check(TOKEN not in out and TOKEN not in err, "the token was printed")
    print("auth: ok")


def case_gc(binary):
    s = service(binary, {"GORO_DEBUG_ADDR": "127.0.0.1:0", "GORO_DEBUG_TOKEN": TOKEN,
                         "GORO_GC": "100"})
    try:
        code, body = curl(s.debug_port, "/debug/gc", TOKEN)
        check(code == 200, f"GET {code}")
        st = json.loads(body)
        for k in ["gc_percent", "memory_limit", "memory_limit_source", "heap_goal",
                  "pressure_state", "limiter_on", "heap_live", "cycles", "next_trigger"]:
            check(k in st, f"no {k} in {body}")
        check(st["gc_percent"] == 100 and st["memory_limit"] == 2**63 - 1, body)
        check(st["pressure_state"] in ("normal", "pressure", "spiral"), body)
        check(isinstance(st["limiter_on"], bool), body)
        goal100 = st["heap_goal"]

        code, body = curl(s.debug_port, "/debug/gc?gc_percent=50&memory_limit=64MiB", TOKEN,
                          "POST")
        check(code == 200, f"POST {code} {body}")
        st = json.loads(body)
        check(st["gc_percent"] == 50 and st["memory_limit"] == 64 << 20, body)
        check(st["memory_limit_source"] == "set_memory_limit", body)
        check(st["heap_goal"] is not None and st["heap_goal"] < goal100,
              f"goal {st['heap_goal']} not below {goal100}")
        # GET sees what POST set.
        st = json.loads(curl(s.debug_port, "/debug/gc", TOKEN)[1])
        check(st["gc_percent"] == 50 and st["memory_limit"] == 64 << 20, str(st))

        # A form body, and "off" for both.
        code, body = curl(s.debug_port, "/debug/gc", TOKEN, "POST",
                          ["gc_percent=off", "memory_limit=off"])
        check(code == 200, f"form POST {code} {body}")
        st = json.loads(body)
        check(st["gc_percent"] == -1 and st["memory_limit"] == 2**63 - 1, body)
        check(st["heap_goal"] is None, body)

        bad = {
            "gc_percent=lots":
                'gc_percent=\\"lots\\": want off or a percentage in [0, 1000000000] '
                '(e.g. gc_percent=100)',
            "gc_percent=-5": 'gc_percent=\\"-5\\": want off',
            "memory_limit=1.5GiB":
                'memory_limit=\\"1.5GiB\\": want off or a byte count with an optional B, KiB, '
                'MiB, GiB or TiB suffix (e.g. memory_limit=900MiB)',
            "memory_limit=": 'memory_limit=\\"\\": want off or a byte count',
            "gc_percent=80&memory_limit=12XB": 'memory_limit=\\"12XB\\"',
            "gcpercent=80": 'unknown parameter \\"gcpercent\\": want gc_percent and/or memory_limit',
            "": "no setting given: want gc_percent=N|off and/or memory_limit=BYTES|off",
        }
        for q, want in bad.items():
            code, body = curl(s.debug_port, "/debug/gc?" + q, TOKEN, "POST")
            check(code == 400, f"POST {q}: {code} {body}")
            check(want in body, f"POST {q}: {body!r} lacks {want!r}")
        # Nothing was applied by a request with a bad value in it.
        st = json.loads(curl(s.debug_port, "/debug/gc", TOKEN)[1])
        check(st["gc_percent"] == -1 and st["memory_limit"] == 2**63 - 1, str(st))
        # A wrong method on /debug/gc: 405.
        code, _ = curl(s.debug_port, "/debug/gc", TOKEN, "DELETE")
        check(code == 405, f"DELETE {code}")
    finally:
        s.stop()
    print("gc: ok")


def run_env(binary, env, timeout=20):
    e = {k: v for k, v in os.environ.items() if not k.startswith("GORO_")}
    e.update(env)
    p = subprocess.Popen([binary, "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=e)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"{env}: still running: {out!r} {err!r}")
    return p.returncode, out, err


def case_refuse(binary):
    # Non-loopback without a token: refused before the service starts.
    for addr in ["0.0.0.0:0", ":0", "[::]:0"]:
        code, out, err = run_env(binary, {"GORO_DEBUG_ADDR": addr})
        check(code == 2, f"{addr}: exit {code}: {err!r}")
        check(err.startswith(f'goro: GORO_DEBUG_ADDR="{addr}": ') and
              "not a loopback address and no token is set" in err and err.count("\n") == 1,
              f"{addr}: {err!r}")
        check("listening" not in out, out)
    # Malformed values: the settings table's line.
    code, out, err = run_env(binary, {"GORO_DEBUG_ADDR": "127.0.0.1"})
    check(code == 2 and err == 'goro: GORO_DEBUG_ADDR="127.0.0.1": want host:port with a port in '
          '[0, 65535], a loopback host unless GORO_DEBUG_TOKEN is set (e.g. '
          'GORO_DEBUG_ADDR=127.0.0.1:6060)\n', f"{code} {err!r}")
    secret = "has space " + TOKEN
    code, out, err = run_env(binary, {"GORO_DEBUG_ADDR": "127.0.0.1:0",
                                      "GORO_DEBUG_TOKEN": secret})
    check(code == 2 and "GORO_DEBUG_TOKEN (" in err and "not shown" in err, f"{code} {err!r}")
    check(TOKEN not in err and TOKEN not in out, "the bad token was printed")
    # A port that is taken: exit 2, naming the address.
    import socket
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    addr = f"127.0.0.1:{taken.getsockname()[1]}"
    code, out, err = run_env(binary, {"GORO_DEBUG_ADDR": addr})
    taken.close()
    check(code == 2 and f'GORO_DEBUG_ADDR="{addr}": cannot start the debug server' in err,
          f"{code} {err!r}")
    # Loopback without a token: serves, without asking for one.
    s = service(binary, {"GORO_DEBUG_ADDR": "127.0.0.1:0"})
    try:
        check("no token: loopback only" in s.debug_line, s.debug_line)
        for path in ENDPOINTS:
            code, _ = curl(s.debug_port, path)
            check(code == 200, f"{path} without a token on loopback: {code}")
    finally:
        s.stop()
    # Without GORO_DEBUG_ADDR there is no debug server (a token alone does nothing).
    e = {k: v for k, v in os.environ.items() if not k.startswith("GORO_")}
    e["GORO_DEBUG_TOKEN"] = TOKEN
    p = subprocess.Popen([binary, "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=e)
    first = p.stdout.readline()
    check(first.startswith("http_service: listening on"), first)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=15)
    check(p.returncode == 0 and "debug server" not in err, f"{p.returncode} {err!r}")
    print("refuse: ok")


def fetch(port, path, dest):
    r = subprocess.run(["curl", "-s", "-S", "--max-time", "30", "-o", dest, "-w", "%{http_code}",
                        "-H", f"Authorization: Bearer {TOKEN}", f"http://127.0.0.1:{port}{path}"],
                       capture_output=True, text=True, timeout=40)
    check(r.returncode == 0 and r.stdout == "200", f"{path}: {r.stdout} {r.stderr}")


def pprof_top(path, *flags):
    r = subprocess.run(["go", "tool", "pprof", "-top", *flags, path], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, HOME=os.path.dirname(path)))
    check(r.returncode == 0, f"go tool pprof {path}: {r.stderr}")
    return r.stdout


def case_profiles(binary):
    import tempfile
    if not shutil.which("go"):
        print("go is not installed: skipped")
        sys.exit(77)
    s = service(binary, {"GORO_DEBUG_ADDR": "127.0.0.1:0", "GORO_DEBUG_TOKEN": TOKEN})
    tmp = tempfile.mkdtemp(prefix="goro-debug-server-")
    try:
        # Orders while the CPU profile runs, so it and the heap profile have
        # the service's own functions in them.
        order = json.dumps({"id": "o-1", "customer": "ada", "items": [
            {"sku": f"s{i}", "qty": 1, "price": 1.5} for i in range(200)]})
        stop = threading.Event()

        def post_orders():
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
            while not stop.is_set():
                c.request("POST", "/orders", body=order,
                          headers={"Content-Type": "application/json"})
                c.getresponse().read()
            c.close()

        def fresh_connections():
            # A connection each: its task is spawned by the accept loop, so
            # the trace has spawn arrows (the keep-alive ones are woken by
            # the poller, which draws none).
            while not stop.is_set():
                curl(s.port, "/healthz")
                time.sleep(0.05)

        workers = [threading.Thread(target=post_orders) for _ in range(2)]
        workers.append(threading.Thread(target=fresh_connections))
        for w in workers:
            w.start()
        try:
            fetch(s.debug_port, "/debug/pprof/profile?seconds=3", f"{tmp}/cpu.pb.gz")
            fetch(s.debug_port, "/debug/pprof/trace?seconds=1", f"{tmp}/trace.json")
        finally:
            stop.set()
            for w in workers:
                w.join()
        top = pprof_top(f"{tmp}/cpu.pb.gz")
        check("Type: cpu" in top and "worker_main" in top, top)
        for kind, want in [("heap", "Type: inuse_space"), ("allocs", "Type: alloc_space")]:
            fetch(s.debug_port, f"/debug/pprof/{kind}", f"{tmp}/{kind}.pb.gz")
            top = pprof_top(f"{tmp}/{kind}.pb.gz")
            check(want in top, top)
        top = pprof_top(f"{tmp}/allocs.pb.gz", "-sample_index=alloc_space")
        check("post_order" in top or "summarize" in top or "parse_json" in top, top)
        fetch(s.debug_port, "/debug/pprof/goroutine", f"{tmp}/goroutine.pb.gz")
        top = pprof_top(f"{tmp}/goroutine.pb.gz")
        check("server::serve" in top, top)
        for kind, knob in [("block", "set_block_profile_rate"),
                           ("mutex", "set_mutex_profile_fraction")]:
            fetch(s.debug_port, f"/debug/pprof/{kind}", f"{tmp}/{kind}.pb.gz")
            pprof_top(f"{tmp}/{kind}.pb.gz")
            # Off by default (as Go): an empty profile, and a header that
            # says it is off and how to turn it on.
            r = subprocess.run(["curl", "-s", "-S", "-o", "/dev/null", "-D", "-", "-H",
                                f"Authorization: Bearer {TOKEN}",
                                f"http://127.0.0.1:{s.debug_port}/debug/pprof/{kind}"],
                               capture_output=True, text=True, timeout=15)
            check(re.search(r"^X-Goro-Profile-Off: .*is 0: call goro::debug::" + knob,
                            r.stdout, re.M | re.I), f"{kind}: {r.stdout}")
        code, text = curl(s.debug_port, "/debug/pprof/goroutine?debug=1", TOKEN)
        check(code == 200 and text.startswith("goroutine profile: total ") and
              "serve_task" in text and "created by" in text, text)
        code, text = curl(s.debug_port, "/debug/pprof/goroutine?debug=2", TOKEN)
        check(code == 200 and re.search(r"^task \d+ \[io wait", text, re.M) and
              "serve_task" in text, text)
        # The trace taken while orders were posted: well formed, with the
        # connections' runs in it (it once came back with none).
        r = subprocess.run([sys.executable, os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "debug_trace_check.py"), f"{tmp}/trace.json",
            "--min-tasks", "3"], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"trace over HTTP: {r.stdout[-2000:]} {r.stderr[-500:]}")
        with open(f"{tmp}/trace.json") as f:
            runs = [e for e in json.load(f)["traceEvents"] if e.get("cat") == "task"]
        check(any("connection::run" in e["name"] for e in runs),
              f"no connection runs in the trace: {[e['name'] for e in runs][:5]}")
        for q, want in [("/debug/pprof/goroutine?debug=3", 'debug=\"3\": want an integer in [0, 2]'),
                        ("/debug/pprof/profile?seconds=0", 'seconds=\"0\": want an integer in [1, '),
                        ("/debug/pprof/trace?seconds=x", 'seconds=\"x\"'),
                        ("/debug/pprof/heap?gc=2", 'gc=\"2\"')]:
            code, body = curl(s.debug_port, q, TOKEN)
            check(code == 400 and want in body, f"{q}: {code} {body!r}")
        code, _ = curl(s.debug_port, "/debug/pprof/nosuch", TOKEN)
        check(code == 404, f"/debug/pprof/nosuch: {code}")
    finally:
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("profiles: ok")


def case_load(binary, source_dir):
    if not shutil.which("wrk"):
        print("wrk is not installed: skipped")
        sys.exit(77)
    s = service(binary, {"GORO_DEBUG_ADDR": "127.0.0.1:0", "GORO_DEBUG_TOKEN": TOKEN})
    wrk = None
    try:
        script = os.path.join(source_dir, "examples", "http_service_wrk.lua")
        # wrk runs until the debug answers are in (SIGINT makes it stop and
        # report): the test counts answers, not answers per second, so a
        # slow (sanitized, loaded) machine only makes it take longer.
        wrk = subprocess.Popen(["wrk", "-t1", "-c32", "-d120s", "-s", script,
                                f"http://127.0.0.1:{s.port}/orders"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        answers, slowest = 0, 0.0
        start = time.monotonic()
        while answers < 10 or time.monotonic() - start < 4:
            check(time.monotonic() - start < 100 and wrk.poll() is None,
                  f"wrk ended before 10 debug answers ({answers})")
            for path in ["/debug/gc", "/metrics"]:
                t0 = time.monotonic()
                code, body = curl(s.debug_port, path, TOKEN, timeout=10)
                slowest = max(slowest, time.monotonic() - t0)
                check(code == 200, f"{path} under load: {code}")
                if path == "/debug/gc":
                    json.loads(body)
                answers += 1
            time.sleep(0.05)
        wrk.send_signal(signal.SIGINT)
        out, err = wrk.communicate(timeout=30)
        m = re.search(r"(\d+) requests in", out)
        check(m and int(m.group(1)) > 1000, f"wrk made little load: {out}")
        print(f"load: ok ({answers} debug answers during {m.group(1)} service requests, "
              f"slowest {slowest * 1000:.0f} ms)")
    finally:
        if wrk is not None and wrk.poll() is None:
            wrk.kill()
            wrk.wait()
        s.stop()


def case_trace(binary, source_dir):
    import tempfile
    tmp = tempfile.mkdtemp(prefix="goro-trace-sigterm-")
    path = os.path.join(tmp, "trace.json")
    s = service(binary, {"GORO_DEBUG_ADDR": "127.0.0.1:0", "GORO_DEBUG_TOKEN": TOKEN,
                         "GORO_TRACE": path})
    try:
        order = json.dumps({"id": "o-1", "customer": "ada", "items": [
            {"sku": f"s{i}", "qty": 1, "price": 1.5} for i in range(20)]})
        for _ in range(20):
            code, _ = curl(s.port, "/healthz")
            check(code == 200, f"/healthz {code}")
            code, body = curl(s.port, "/orders", method="POST", data=[order])
            check(code in (200, 201), f"POST /orders {code} {body[:200]!r}")
        check(not os.path.exists(path), "the trace was written before the service exited")
        # The graceful path: SIGTERM, the drain, main returns, the trace is
        # written at exit.
        s.p.send_signal(signal.SIGTERM)
        try:
            rc = s.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            s.p.kill()
            raise AssertionError("the service did not exit within 60 s of SIGTERM")
        out, err = s.p.communicate()
        check(rc == 0, f"exit {rc} after SIGTERM: {out[-500:]} {err[-500:]}")
        check("drained" in out + err, f"no drain logged: {out[-500:]} {err[-500:]}")
        check(os.path.exists(path), f"no trace file after SIGTERM: {err[-500:]}")
        r = subprocess.run([sys.executable, os.path.join(source_dir, "tests",
                                                         "debug_trace_check.py"),
                            path, "--min-tasks", "10"], capture_output=True, text=True,
                           timeout=120)
        check(r.returncode == 0, f"trace after SIGTERM: {r.stdout[-2000:]} {r.stderr[-500:]}")
        with open(path) as f:
            doc = json.load(f)
        check(isinstance(doc, dict) and doc.get("traceEvents"), "no traceEvents")
        print(f"trace: ok ({r.stdout.strip()})")
    finally:
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    binary, case = sys.argv[1], sys.argv[2]
    source_dir = sys.argv[3] if len(sys.argv) > 3 else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    if not shutil.which("curl"):
        print("curl is not installed: skipped")
        sys.exit(77)
    if os.environ.get("GORO_TEST_SANITIZE") == "thread" and case in ("profiles", "load",
                                                                      "trace"):
        print(f"{case}: skipped under ThreadSanitizer (it defers SIGPROF and Boehm's stop "
              "signals: CPU samples show TSan's frames, collections stall)")
        sys.exit(77)
    {"auth": lambda: case_auth(binary), "gc": lambda: case_gc(binary),
     "refuse": lambda: case_refuse(binary), "profiles": lambda: case_profiles(binary),
     "load": lambda: case_load(binary, source_dir),
     "trace": lambda: case_trace(binary, source_dir)}[case]()


if __name__ == "__main__":
    main()
