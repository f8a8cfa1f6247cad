package main

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// What the collector did, read at the start and end of a run: gc_cycles
// from runtime/metrics, GC CPU seconds from metrics.go's gcCPUSeconds (the
// same reading the timeline sampler uses).

type gcSnapshot struct {
	cycles       uint64
	gcCPUSeconds float64
}

func readUint64Metric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func readGCSnapshot() gcSnapshot {
	gc, _ := gcCPUSeconds()
	return gcSnapshot{cycles: readUint64Metric(mGCCycles), gcCPUSeconds: gc}
}

// heapObjectsBytes is the heap's object bytes; right after runtime.GC() it
// is the live heap.
func heapObjectsBytes() uint64 { return readUint64Metric(mHeapObjects) }

// pauseWatch collects every GC cycle's stop-the-world time (both pauses of
// a cycle, summed, as MemStats.PauseNs has it) while a run is measured:
// debug.ReadGCStats keeps the last 256 cycles and reads them under the heap
// lock without stopping the world, so polling it every few milliseconds
// sees each cycle once. Cycles that scrolled out of the ring between two
// polls are counted as dropped.
type pauseWatch struct {
	quit    chan struct{}
	done    chan struct{}
	stats   debug.GCStats
	lastNum int64
	pauses  []int64
	dropped uint64
}

const pausePoll = 5 * time.Millisecond

func startPauseWatch() *pauseWatch {
	w := &pauseWatch{quit: make(chan struct{}), done: make(chan struct{})}
	debug.ReadGCStats(&w.stats)
	w.lastNum = w.stats.NumGC
	go func() {
		defer close(w.done)
		t := time.NewTicker(pausePoll)
		defer t.Stop()
		for {
			select {
			case <-w.quit:
				w.poll()
				return
			case <-t.C:
				w.poll()
			}
		}
	}()
	return w
}

func (w *pauseWatch) poll() {
	debug.ReadGCStats(&w.stats)
	fresh := w.stats.NumGC - w.lastNum
	w.lastNum = w.stats.NumGC
	if fresh <= 0 {
		return
	}
	seen := fresh
	if seen > int64(len(w.stats.Pause)) {
		w.dropped += uint64(seen - int64(len(w.stats.Pause)))
		seen = int64(len(w.stats.Pause))
	}
	for i := seen - 1; i >= 0; i-- { // Pause is newest first
		w.pauses = append(w.pauses, int64(w.stats.Pause[i]))
	}
}

// stop ends the watch and returns the pauses (ns, oldest first).
func (w *pauseWatch) stop() ([]int64, uint64) {
	close(w.quit)
	<-w.done
	return w.pauses, w.dropped
}
