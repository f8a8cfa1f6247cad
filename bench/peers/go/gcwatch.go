package main

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What the collector did, read at the start and end of a run.
//
// gc_cycles comes from runtime/metrics (/gc/cycles/total:gc-cycles). GC CPU
// comes from /cpu/classes/gc/total:cpu-seconds where the runtime has it (Go
// 1.20 and later); Go 1.19 (Debian's) has only MemStats.GCCPUFraction, the
// GC's share of GOMAXPROCS x time from the runtime's start to the end of the
// last cycle, so GC CPU seconds are that share times GOMAXPROCS times that
// span. The start is approximated by this package's initialisation, a few
// milliseconds late, which shifts begin and end alike.

const (
	metricCycles = "/gc/cycles/total:gc-cycles"
	metricGCCPU  = "/cpu/classes/gc/total:cpu-seconds"
	metricHeap   = "/memory/classes/heap/objects:bytes"
)

var runtimeStart = time.Now()

var gcCPUSource = func() string {
	for _, d := range metrics.All() {
		if d.Name == metricGCCPU {
			return "runtime/metrics"
		}
	}
	return "memstats"
}()

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
	snap := gcSnapshot{cycles: readUint64Metric(metricCycles)}
	if gcCPUSource == "runtime/metrics" {
		s := []metrics.Sample{{Name: metricGCCPU}}
		metrics.Read(s)
		snap.gcCPUSeconds = s[0].Value.Float64()
		return snap
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms) // stops the world briefly: only at begin and end
	if ms.NumGC > 0 {
		span := time.Unix(0, int64(ms.LastGC)).Sub(runtimeStart).Seconds()
		if span > 0 {
			snap.gcCPUSeconds = ms.GCCPUFraction * float64(runtime.GOMAXPROCS(0)) * span
		}
	}
	return snap
}

// heapObjectsBytes is the heap's object bytes; right after runtime.GC() it
// is the live heap.
func heapObjectsBytes() uint64 { return readUint64Metric(metricHeap) }

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

func statusKB(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key+":") {
			continue
		}
		rest := line[len(key)+1:]
		parts := strings.Fields(rest)
		if len(parts) == 0 {
			return -1
		}
		v, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil {
			return -1
		}
		return v
	}
	return -1
}

// peakRSSBytes is VmHWM (whole process lifetime), -1 if unreadable.
func peakRSSBytes() int64 {
	kb := statusKB("VmHWM")
	if kb < 0 {
		return -1
	}
	return kb * 1024
}

func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
