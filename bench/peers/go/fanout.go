package main

import (
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// fanout: requests arrive on a channel and each fans out to -fanout
// goroutines that allocate, as bench/peers/fanout.cpp: a generator sends
// request i, scheduled at start + i/-rate, on a channel of capacity -buf;
// the server loop starts one goroutine per request, which starts -fanout
// goroutines that each build a list of -work 40-byte nodes (48 allocated)
// and return its sum, waits for them and checks the total. Latency runs
// from the request's scheduled time to the end of its handler.

type item struct {
	next  *item
	value int64
	pad   [3]uint64
}

type request struct {
	id  int64
	due time.Time
}

func part(id, k, work int64) int64 {
	var list *item
	for i := int64(0); i < work; i++ {
		list = &item{next: list, value: id + k + i}
		list.pad[0] = uint64(i)
	}
	sum := int64(0)
	for it := list; it != nil; it = it.next {
		sum += it.value
	}
	return sum
}

func expectedTotal(id, fanout, work int64) int64 {
	return fanout*work*id + work*fanout*(fanout-1)/2 + fanout*work*(work-1)/2
}

func runFanout(fs *flag.FlagSet, args []string) {
	rate := fs.Int("rate", 4000, "offered load, requests per second")
	duration := fs.Int("duration-s", 3, "seconds of requests (rate x duration requests)")
	fanout := fs.Int("fanout", 16, "goroutines each request fans out to")
	work := fs.Int("work", 64, "nodes each fan-out goroutine allocates (48 B each)")
	buf := fs.Int("buf", 128, "capacity of the request channel")
	inv := parse(fs, args)
	if *rate < 1 || *rate > 10000000 {
		fail(fs, fmt.Sprintf("want 1 <= -rate <= 10000000, got %d", *rate))
	}
	if *duration < 1 || *duration > 3600 {
		fail(fs, fmt.Sprintf("want 1 <= -duration-s <= 3600, got %d", *duration))
	}
	if *fanout < 1 || *fanout > 100000 {
		fail(fs, fmt.Sprintf("want 1 <= -fanout <= 100000, got %d", *fanout))
	}
	if *work < 1 || *work > 100000000 {
		fail(fs, fmt.Sprintf("want 1 <= -work <= 100000000, got %d", *work))
	}
	if *buf < 0 || *buf > 1000000 {
		fail(fs, fmt.Sprintf("want 0 <= -buf <= 1000000, got %d", *buf))
	}
	total := int64(*rate) * int64(*duration)
	fan, wk := int64(*fanout), int64(*work)
	latency := make([]int64, total)
	for i := range latency {
		latency[i] = -1
	}
	var failed int64
	var handlers sync.WaitGroup
	handle := func(q request) {
		defer handlers.Done()
		results := make([]int64, fan)
		var parts sync.WaitGroup
		parts.Add(int(fan))
		for k := int64(0); k < fan; k++ {
			go func(k int64) {
				defer parts.Done()
				results[k] = part(q.id, k, wk)
			}(k)
		}
		parts.Wait()
		sum := int64(0)
		for _, v := range results {
			sum += v
		}
		if sum != expectedTotal(q.id, fan, wk) {
			atomic.AddInt64(&failed, 1)
		}
		latency[q.id] = int64(time.Since(q.due))
	}

	r := newReport("fanout", inv)
	r.begin()
	incoming := make(chan request, *buf)
	genDone := make(chan struct{})
	go func(start time.Time) {
		defer close(genDone)
		for i := int64(0); i < total; i++ {
			due := start.Add(scheduleOffset(i, int64(*rate)))
			paceUntil(due)
			incoming <- request{i, due}
		}
		close(incoming)
	}(time.Now())
	received := int64(0)
	for q := range incoming {
		handlers.Add(1)
		go handle(q)
		received++
	}
	<-genDone
	handlers.Wait()
	unanswered := 0
	for _, ns := range latency {
		if ns < 0 {
			unanswered++
		}
	}
	f := atomic.LoadInt64(&failed)
	r.end(float64(received), "requests", verdict(received == total && f == 0 && unanswered == 0,
		fmt.Sprintf("requests=%d failed=%d", received, f)))
	r.add("latency", latencyJSON(latency))
	r.add("offered_rate", *rate)
	r.add("tasks", received*(fan+1))
	r.print()
}
