#!/usr/bin/env python3
# Checks goro-peers' network servers on the wire (CTest: peers_net;
# tests/CMakeLists.txt), the way bench/run uses them:
#
#   goro-peers http -addr 127.0.0.1:PORT -procs 2
#     GET /hello -> 200, Content-Type text/plain, Content-Length 13, "Hello, World!"
#     GET /alloc?n=K -> 200, text/plain, the 1 KiB body of the Go peer's
#       allocWork(K) (bench/peers/net/go/servers.go, recomputed here; netpeers
#       check compares it with Go's own), for K = 0, 1, 100, 1000 and for
#       malformed, negative and huge K (queryInt's rules)
#     POST /echo -> the body, Content-Length and chunked
#     PUT /hello -> 405; GET /nothing -> 404
#     all on one keep-alive connection, then pipelined
#   goro-peers echo -addr 127.0.0.1:PORT -procs 2
#     every byte back, messages of 1 B to 100 KB, on several connections
#   both: listen within 5 s, exit with status 0 within 5 s of SIGTERM.
#
# Exit 0 = pass, 1 = fail.

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def alloc_work(n):
    """The Go peer's allocWork(n): the body only depends on the sum."""
    total = 0
    for i in range(n):
        # a fresh zeroed object: o[i%128] = byte(i); sum += o[(i*7)%128] + i
        total += ((i & 0xFF) if (i * 7) % 128 == i % 128 else 0) + i
    return bytes(ord("a") + (j + total) % 26 for j in range(1024))


def query_n(raw):
    """The Go peer's queryInt(raw, "n")."""
    for kv in raw.split("&"):
        k, sep, v = kv.partition("=")
        if sep and k == "n":
            try:
                if not v or not (v.isdigit() or (v[0] in "+-" and v[1:].isdigit())):
                    return 0
                n = int(v)
            except ValueError:
                return 0
            if n < 0 or n > 2**63 - 1:
                return 0
            return min(n, 1_000_000)
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, kind):
    port = free_port()
    p = subprocess.Popen([binary, kind, "-addr", f"127.0.0.1:{port}", "-procs", "2"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    t_end = time.time() + 5
    while time.time() < t_end:
        if p.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, port
        except OSError:
            time.sleep(0.02)
    p.kill()
    out = p.communicate()[0].decode(errors="replace")
    sys.exit(f"FAIL: goro-peers {kind} did not listen on 127.0.0.1:{port} within 5 s: {out[-300:]}")


def stop(p, kind):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=5)
        check(rc == 0, f"{kind}: exit status {rc} after SIGTERM, want 0")
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        check(False, f"{kind}: still running 5 s after SIGTERM")


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("latin-1")

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self):
        status = self.line().split(" ", 2)
        hdr = {}
        while True:
            ln = self.line()
            if not ln:
                break
            k, _, v = ln.partition(":")
            hdr[k.strip().lower()] = v.strip()
        if "content-length" in hdr:
            body = self.exact(int(hdr["content-length"]))
        elif hdr.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.line().split(";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    break
                body += self.exact(size)
                self.exact(2)
        else:
            body = b""
        return status, hdr, body

    def close(self):
        self.s.close()


def get(path):
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def check_http(binary):
    p, port = start(binary, "http")
    try:
        c = Conn(port)
        c.send(get("/hello"))
        st, hdr, body = c.response()
        check(st[:2] == ["HTTP/1.1", "200"], f"/hello: status line {st}")
        check(hdr.get("content-type", "").startswith("text/plain"), f"/hello: Content-Type {hdr.get('content-type')}")
        check(hdr.get("content-length") == "13" and body == b"Hello, World!",
              f"/hello: Content-Length {hdr.get('content-length')} body {body!r}")
        for q in ("n=0", "n=1", "n=100", "n=1000", "n=64", "x=5&n=129", "n=abc", "n=-3", "n=99999999999999999999",
                  "n=", "n", "", "n=5000000", "n=+5", "n=+-5", "n=%2B5"):
            c.send(get("/alloc?" + q if q else "/alloc"))
            st, hdr, body = c.response()
            want = alloc_work(query_n(q))
            check(st[1] == "200" and hdr.get("content-type", "").startswith("text/plain"),
                  f"/alloc?{q}: status {st} Content-Type {hdr.get('content-type')}")
            check("transfer-encoding" not in hdr, f"/alloc?{q}: chunked response, want Content-Length")
            check(body == want, f"/alloc?{q}: body {body[:20]!r}... differs from the Go peer's {want[:20]!r}...")
        payload = bytes(range(256)) * 40
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
        st, hdr, body = c.response()
        check(st[1] == "200" and body == payload, f"POST /echo (Content-Length): status {st}, {len(body)} bytes back")
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
        st, hdr, body = c.response()
        check(st[1] == "200" and body == b"hello, world", f"POST /echo (chunked): status {st}, body {body!r}")
        c.send(b"PUT /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        st, _, _ = c.response()
        check(st[1] == "405", f"PUT /hello: status {st}, want 405")
        c.send(get("/nothing"))
        st, _, _ = c.response()
        check(st[1] == "404", f"GET /nothing: status {st}, want 404")
        # Pipelined: three requests in one write, answers in order.
        c.send(get("/alloc?n=3") + get("/hello") + get("/alloc?n=7"))
        bodies = [c.response()[2] for _ in range(3)]
        check(bodies == [alloc_work(3), b"Hello, World!", alloc_work(7)], "pipelined: answers out of order or wrong")
        c.close()
    finally:
        stop(p, "http")


def check_echo(binary):
    p, port = start(binary, "echo")
    try:
        conns = [Conn(port) for _ in range(4)]
        for i, c in enumerate(conns):
            for n in (1, 64, 4096, 4097, 100_000):
                msg = bytes((i * 31 + k * 7) & 0xFF for k in range(n))
                c.send(msg)
                got = c.exact(n)
                check(got == msg, f"echo: connection {i}: a {n}-byte message came back different")
        for c in conns:
            c.close()
    finally:
        stop(p, "echo")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("goro_peers", help="the goro-peers binary")
    args = ap.parse_args()
    if not os.access(args.goro_peers, os.X_OK):
        sys.exit(f"FAIL: {args.goro_peers} is not an executable")
    check_http(args.goro_peers)
    check_echo(args.goro_peers)
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print("PASS: goro-peers http and echo answer as the Go peer on the wire and stop on SIGTERM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
