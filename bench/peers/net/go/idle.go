package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"goro/bench/peers/go/peerkit"
)

// ---------------------------------------------------------------- idle ----

type idleResult struct {
	Tool          string  `json:"tool"`
	Conns         int     `json:"conns"`
	Path          string  `json:"path"`
	ConnectS      float64 `json:"connect_s"`
	HoldS         float64 `json:"hold_s"`
	RSSBefore     int64   `json:"rss_before_bytes"`
	RSSAfter      int64   `json:"rss_after_bytes"`
	RSSPerConn    float64 `json:"rss_per_conn_bytes"`
	ServerCPUHold float64 `json:"server_cpu_hold_s"`
	ServerFDs     int     `json:"server_fds"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
}

// idleConns measures what an idle keep-alive connection costs a server: it
// reads the server's VmRSS, opens -c connections (at most -parallel dials in
// flight, so the listen backlog never overflows), sends one GET on each and
// reads the whole response, so every connection has been accepted and served
// and is now parked waiting for its next request; then it holds them all for
// -hold and reads VmRSS again. rss_per_conn_bytes = (after - before) / c.
// server_cpu_hold_s is the server's CPU time while it held the idle
// connections (an idle server should use none). Needs -server-pid.
func idleConns(fs *flag.FlagSet, args []string) {
	addr := fs.String("addr", "127.0.0.1:8080", "server address")
	conns := fs.Int("c", 10000, "connections")
	path := fs.String("path", "/hello", "request sent once on each connection")
	hold := fs.Duration("hold", time.Second, "how long the idle connections are held before RSS is read")
	parallel := fs.Int("parallel", 128, "dials in flight at once")
	spid := fs.Int("server-pid", 0, "the server's PID (required: its /proc/PID/status is read)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up if connecting takes longer")
	fs.Parse(args)
	if *spid <= 0 {
		fail("idle: -server-pid is required (got %d)", *spid)
	}
	if *conns < 1 {
		fail("idle: -c %d: want at least 1", *conns)
	}
	runtime.GOMAXPROCS(1)
	raiseNoFile(uint64(*conns) + 64)

	before := peerkit.ProcStatusBytes(*spid, "VmRSS")
	if before < 0 {
		fail("idle: cannot read /proc/%d/status", *spid)
	}
	req := []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", *path, *addr))
	cs := make([]net.Conn, *conns)
	var errs int64
	var firstErr atomic.Value
	deadline := time.Now().Add(*timeout)
	sem := make(chan struct{}, *parallel)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range cs {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := openIdle(*addr, req, deadline)
			if err != nil {
				if atomic.AddInt64(&errs, 1) == 1 {
					firstErr.Store(err.Error())
				}
				return
			}
			cs[i] = c
		}(i)
	}
	wg.Wait()
	connect := time.Since(t0).Seconds()
	cpu0 := peerkit.ProcCPUSeconds(*spid)
	t1 := time.Now()
	time.Sleep(*hold)
	hold1 := time.Since(t1).Seconds()
	cpu1 := peerkit.ProcCPUSeconds(*spid)
	after := peerkit.ProcStatusBytes(*spid, "VmRSS")
	fds := countFDs(*spid)
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
	res := idleResult{
		Tool: "netpeers idle", Conns: *conns, Path: *path, ConnectS: connect, HoldS: hold1,
		RSSBefore: before, RSSAfter: after, RSSPerConn: float64(after-before) / float64(*conns),
		ServerCPUHold: cpu1 - cpu0, ServerFDs: fds, Errors: errs,
	}
	if s, ok := firstErr.Load().(string); ok {
		res.FirstError = s
	}
	json.NewEncoder(os.Stdout).Encode(res)
	if errs > 0 {
		os.Exit(1)
	}
}

// openIdle dials addr, sends req, reads one whole response (Content-Length
// body) and returns the connection, left open and idle.
func openIdle(addr string, req []byte, deadline time.Time) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return nil, err
	}
	c.SetDeadline(deadline)
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 512)
	status, err := br.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("reading the status line: %v", err)
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != "200" {
		c.Close()
		return nil, fmt.Errorf("status line %q, want 200", strings.TrimSpace(status))
	}
	n := -1
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("reading headers: %v", err)
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "content-length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if n < 0 {
		c.Close()
		return nil, fmt.Errorf("response without Content-Length")
	}
	if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
		c.Close()
		return nil, fmt.Errorf("reading the body: %v", err)
	}
	if br.Buffered() != 0 {
		c.Close()
		return nil, fmt.Errorf("%d bytes after the response", br.Buffered())
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// raiseNoFile lifts the soft RLIMIT_NOFILE to at least want (up to the hard
// limit; Go 1.19 already raises it to the hard limit at start-up).
func raiseNoFile(want uint64) {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return
	}
	if rl.Cur < want {
		rl.Cur = want
		if rl.Cur > rl.Max {
			rl.Cur = rl.Max
		}
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// countFDs is the number of open fds of pid (-1 if unreadable).
func countFDs(pid int) int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
