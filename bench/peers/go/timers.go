package main

import (
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// timers: -tasks goroutines each sleep a random -min-ms..-max-ms in a loop
// for -duration-s, as bench/peers/timers.cpp: sleeps completed per second
// and how late each sleeper woke (now - deadline), reported as
// "lateness_us" {p50, p99, p999, max} from 10 us buckets up to 100 ms.

const (
	lateBucketNs = 10_000
	lateBuckets  = 10_000
)

type lateHist struct {
	counts [lateBuckets + 1]uint64
	max    int64
}

func (h *lateHist) record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	b := ns / lateBucketNs
	if b > lateBuckets {
		b = lateBuckets
	}
	atomic.AddUint64(&h.counts[b], 1)
	for {
		m := atomic.LoadInt64(&h.max)
		if ns <= m || atomic.CompareAndSwapInt64(&h.max, m, ns) {
			return
		}
	}
}

func (h *lateHist) total() uint64 {
	n := uint64(0)
	for i := range h.counts {
		n += h.counts[i]
	}
	return n
}

func (h *lateHist) quantileUs(q float64) float64 {
	n := h.total()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	seen := uint64(0)
	for b := range h.counts {
		seen += h.counts[b]
		if seen >= rank {
			if b == lateBuckets {
				return float64(h.max) / 1e3
			}
			return float64((b+1)*lateBucketNs) / 1e3
		}
	}
	return float64(h.max) / 1e3
}

func runTimers(fs *flag.FlagSet, args []string) {
	tasks := fs.Int("tasks", 100000, "concurrently sleeping goroutines")
	minMs := fs.Int("min-ms", 1, "shortest sleep, ms")
	maxMs := fs.Int("max-ms", 10, "longest sleep, ms")
	duration := fs.Int("duration-s", 2, "how long every goroutine keeps sleeping, s")
	inv := parse(fs, args)
	if *tasks < 1 || *minMs < 1 || *maxMs < *minMs || *duration < 1 {
		fail(fs, fmt.Sprintf("want -tasks >= 1, 1 <= -min-ms <= -max-ms, -duration-s >= 1; got %d %d %d %d",
			*tasks, *minMs, *maxMs, *duration))
	}
	h := &lateHist{}
	var ops uint64
	r := newReport("timers", inv)
	r.begin()
	end := time.Now().Add(time.Duration(*duration) * time.Second)
	span := int64(*maxMs-*minMs) * 1e6
	var wg sync.WaitGroup
	wg.Add(*tasks)
	for i := 0; i < *tasks; i++ {
		go func(seed uint64) {
			defer wg.Done()
			x := seed * 0x9E3779B97F4A7C15 // splitmix64 stream, as the goro version
			next := func() uint64 {
				x += 0x9E3779B97F4A7C15
				z := x
				z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
				z = (z ^ (z >> 27)) * 0x94D049BB133111EB
				return z ^ (z >> 31)
			}
			n := uint64(0)
			for {
				d := int64(*minMs) * 1e6
				if span > 0 {
					d += int64(next() % uint64(span))
				}
				deadline := time.Now().Add(time.Duration(d))
				if deadline.After(end) {
					break
				}
				time.Sleep(time.Duration(d))
				h.record(int64(time.Since(deadline)))
				n++
			}
			atomic.AddUint64(&ops, n)
		}(uint64(i + 1))
	}
	wg.Wait()
	n := atomic.LoadUint64(&ops)
	ok := n == h.total() && n >= uint64(*tasks)
	verdict := "MISMATCH "
	if ok {
		verdict = "ok "
	}
	r.end(float64(n), "sleeps", fmt.Sprintf("%ssleeps=%d tasks=%d", verdict, n, *tasks))
	r.add("lateness_us", object{
		{"p50", h.quantileUs(0.50)},
		{"p99", h.quantileUs(0.99)},
		{"p999", h.quantileUs(0.999)},
		{"max", float64(h.max) / 1e3},
	})
	r.print()
}
