package main

import (
	"flag"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// garbage: a service-shaped heap at a fixed request rate, as
// bench/peers/garbage.cpp: an old generation of -old-mb MiB (entries of 16
// pointer-rich 56-byte nodes, 64 bytes allocated each) in a table of atomic
// pointers; -concurrency connections share a schedule of -rate requests per
// second for -duration-s seconds (connection c owns requests c, c+n, ...);
// a request builds a balanced tree of -req-kb KiB of 40-byte nodes (48
// allocated) pointing into the old generation, yields, walks and checks
// it, and replaces -replace old entries. Latency runs from the request's
// scheduled start.

type oldNode struct {
	next    *oldNode
	peer    *oldNode // the entry's middle node, from the nodes after it
	slot    uint64
	version uint64
	payload [3]uint64
}

const (
	entryNodes   = 16
	entryBytes   = entryNodes * 64
	reqNodeBytes = 48
)

type reqNode struct {
	left, right *reqNode
	ref         *oldNode
	index       uint64
	slot        uint64
}

// xorshift64 (Marsaglia), as the goro version: same seeds, same slots.
type xorshift struct{ s uint64 }

func (x *xorshift) next() uint64 {
	x.s ^= x.s << 13
	x.s ^= x.s >> 7
	x.s ^= x.s << 17
	return x.s
}

func newEntry(slot, version uint64) *oldNode {
	var head, mid *oldNode
	for k := 0; k < entryNodes; k++ {
		head = &oldNode{next: head, peer: mid, slot: slot, version: version}
		head.payload[0] = uint64(k)
		head.payload[1] = slot ^ version
		if k == entryNodes/2 {
			mid = head
		}
	}
	return head
}

type garbageShared struct {
	table    []atomic.Pointer[oldNode]
	entries  uint64
	reqNodes int64
	replace  int64
	rate     int64
	total    int64
	conns    int
	start    time.Time
}

func (sh *garbageShared) build(lo, hi uint64, rng *xorshift) *reqNode {
	if lo >= hi {
		return nil
	}
	mid := lo + (hi-lo)/2
	slot := rng.next() % sh.entries
	n := &reqNode{ref: sh.table[slot].Load(), index: mid, slot: slot}
	n.left = sh.build(lo, mid, rng)
	n.right = sh.build(mid+1, hi, rng)
	return n
}

type treeSum struct {
	indexSum uint64
	nodes    int64
	badRefs  int64
}

func (s *treeSum) walk(n *reqNode) {
	for ; n != nil; n = n.right {
		s.indexSum += n.index
		s.nodes++
		e := n.ref
		if e == nil || e.slot != n.slot || e.next == nil || e.next.slot != n.slot {
			s.badRefs++
		}
		s.walk(n.left)
	}
}

func (sh *garbageShared) handle(rng *xorshift, version *uint64) bool {
	n := uint64(sh.reqNodes)
	root := sh.build(0, n, rng)
	runtime.Gosched() // the request waits on something, its tree live
	var s treeSum
	s.walk(root)
	for k := int64(0); k < sh.replace; k++ {
		slot := rng.next() % sh.entries
		*version++
		sh.table[slot].Store(newEntry(slot, *version))
	}
	return s.indexSum == n*(n-1)/2 && s.nodes == sh.reqNodes && s.badRefs == 0
}

// scheduleOffset is when request i of a schedule of rate per second is due.
func scheduleOffset(i, rate int64) time.Duration {
	return time.Duration((i/rate)*1e9 + (i%rate)*1e9/rate)
}

// paceUntil sleeps until t (returns at once if t has passed).
func paceUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}

func (sh *garbageShared) connection(c int, lat *[]int64, failed *int64) {
	rng := xorshift{0x9E3779B97F4A7C15 * uint64(c+1)}
	version := uint64(c) << 40
	for i := int64(c); i < sh.total; i += int64(sh.conns) {
		due := sh.start.Add(scheduleOffset(i, sh.rate))
		paceUntil(due)
		if !sh.handle(&rng, &version) {
			*failed++
		}
		*lat = append(*lat, int64(time.Since(due)))
	}
}

func runGarbage(fs *flag.FlagSet, args []string) {
	oldMB := fs.Int("old-mb", 64, "old generation in MiB (1 KiB entries of 16 nodes)")
	rate := fs.Int("rate", 2000, "offered load, requests per second")
	duration := fs.Int("duration-s", 3, "seconds of requests (rate x duration requests)")
	concurrency := fs.Int("concurrency", 16, "connections, each with its share of the schedule")
	reqKB := fs.Int("req-kb", 64, "KiB each request allocates as one tree")
	replace := fs.Int("replace", 1, "old-generation entries each request replaces")
	inv := parse(fs, args)
	if *oldMB < 1 || *oldMB > 1<<20 {
		fail(fs, fmt.Sprintf("want 1 <= -old-mb <= 1048576, got %d", *oldMB))
	}
	if *rate < 1 || *rate > 10000000 {
		fail(fs, fmt.Sprintf("want 1 <= -rate <= 10000000, got %d", *rate))
	}
	if *duration < 1 || *duration > 3600 {
		fail(fs, fmt.Sprintf("want 1 <= -duration-s <= 3600, got %d", *duration))
	}
	if *concurrency < 1 || *concurrency > 100000 {
		fail(fs, fmt.Sprintf("want 1 <= -concurrency <= 100000, got %d", *concurrency))
	}
	if *reqKB < 1 || *reqKB > 1<<20 {
		fail(fs, fmt.Sprintf("want 1 <= -req-kb <= 1048576, got %d", *reqKB))
	}
	if *replace < 0 || *replace > 1000000 {
		fail(fs, fmt.Sprintf("want 0 <= -replace <= 1000000, got %d", *replace))
	}

	sh := &garbageShared{
		entries:  uint64(int64(*oldMB) << 20 / entryBytes),
		reqNodes: int64(*reqKB) * 1024 / reqNodeBytes,
		replace:  int64(*replace),
		rate:     int64(*rate),
		total:    int64(*rate) * int64(*duration),
		conns:    *concurrency,
	}
	sh.table = make([]atomic.Pointer[oldNode], sh.entries)
	for s := range sh.table {
		sh.table[s].Store(newEntry(uint64(s), 0))
	}

	r := newReport("garbage", inv)
	r.begin()
	sh.start = time.Now()
	lats := make([][]int64, sh.conns)
	fails := make([]int64, sh.conns)
	var wg sync.WaitGroup
	for c := 0; c < sh.conns; c++ {
		lats[c] = make([]int64, 0, sh.total/int64(sh.conns)+1)
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			sh.connection(c, &lats[c], &fails[c])
		}(c)
	}
	wg.Wait()
	latencies := make([]int64, 0, sh.total)
	var failed int64
	for c := range lats {
		latencies = append(latencies, lats[c]...)
		failed += fails[c]
	}
	done := int64(len(latencies))
	r.end(float64(done), "requests", verdict(failed == 0 && done == sh.total,
		fmt.Sprintf("requests=%d failed=%d", done, failed)))

	// The live heap the collector had to mark: collected once more after the run.
	runtime.GC()
	liveMB := float64(heapObjectsBytes()) / (1 << 20)
	pauseSum, pauseMax := 0.0, 0.0
	for _, ns := range r.pauses {
		pauseSum += float64(ns)
		pauseMax = math.Max(pauseMax, float64(ns))
	}
	meanMs := 0.0
	if len(r.pauses) > 0 {
		meanMs = pauseSum / float64(len(r.pauses)) / 1e6
	}
	perMB := func(ms float64) float64 {
		if liveMB <= 0 {
			return 0
		}
		return math.Round(ms/liveMB*1e4) / 1e4
	}
	r.add("latency", latencyJSON(latencies))
	r.add("offered_rate", *rate)
	r.add("live_mb", math.Round(liveMB*10)/10)
	r.add("pause_ms_per_live_mb", perMB(meanMs))
	r.add("max_pause_ms_per_live_mb", perMB(pauseMax/1e6))
	r.print()
	runtime.KeepAlive(sh)
}
