package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"time"

	"goro/bench/peers/go/peerkit"
)

// object is a JSON object that keeps its keys in the order given (the
// shared peer's field order, then the workload's), unlike a Go map.
type object []field

type field struct {
	key   string
	value interface{}
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// report is one measured run: begin() and end() bracket the workload, as
// the shared peer's Run. The clock starts after a runtime.GC(), so every
// run starts from a collected heap; wall_s, cpu_s (getrusage, all threads),
// gc_cycles and gc_cpu_fraction cover begin..end; peak_rss_bytes is VmHWM.
// Every pause inside the window is recorded (gcwatch.go).
type report struct {
	workload string
	inv      invocation
	procs    int
	t0       time.Time
	cpu0     float64
	gc0      gcSnapshot
	watch    *pauseWatch
	fields   object
	pauses   []int64
}

func newReport(workload string, inv invocation) *report {
	return &report{workload: workload, inv: inv, procs: runtime.GOMAXPROCS(0)}
}

func (r *report) begin() {
	runtime.GC()
	r.watch = startPauseWatch()
	r.gc0 = readGCSnapshot()
	r.cpu0 = peerkit.CPUSeconds()
	r.t0 = time.Now()
}

// end stops the clock and builds the shared fields and "gc_pauses".
func (r *report) end(ops float64, unit, check string) {
	wall := time.Since(r.t0).Seconds()
	cpu := peerkit.CPUSeconds() - r.cpu0
	gc1 := readGCSnapshot()
	r.pauses, _ = r.watch.stop()
	dropped := r.watch.dropped
	opsPerS := 0.0
	if wall > 0 {
		opsPerS = ops / wall
	}
	gcFrac := 0.0
	if wall > 0 {
		gcFrac = (gc1.gcCPUSeconds - r.gc0.gcCPUSeconds) / (float64(r.procs) * wall)
	}
	r.fields = object{
		{"impl", "go"},
		{"version", runtime.Version()},
		{"label", r.inv.label},
		{"workload", r.workload},
		{"params", r.inv.params},
		{"procs", r.procs},
		{"wall_s", wall},
		{"ops", ops},
		{"ops_unit", unit},
		{"ops_per_s", opsPerS},
		{"cpu_s", float64(int64(cpu*1e6+0.5)) / 1e6},
		{"peak_rss_bytes", peakRSSBytes()},
		{"gc_cycles", gc1.cycles - r.gc0.cycles},
		{"gc_cpu_fraction", gcFrac},
		{"gc_cpu_source", gcCPUSource()},
		{"check", check},
		{"gc_pauses", pausesJSON(append([]int64(nil), r.pauses...), dropped)},
	}
}

// add appends a workload field after the shared ones.
func (r *report) add(key string, value interface{}) {
	r.fields = append(r.fields, field{key, value})
}

func (r *report) print() {
	b, err := json.Marshal(r.fields)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gopeers: encoding the result:", err)
		os.Exit(1)
	}
	fmt.Println(string(b))
}

// pausesJSON is the "gc_pauses" object, as bench/peers/distribution.cpp.
func pausesJSON(ns []int64, dropped uint64) object {
	sortInt64(ns)
	sum := 0.0
	for _, v := range ns {
		sum += float64(v)
	}
	max := 0.0
	if len(ns) > 0 {
		max = nsToMs(float64(ns[len(ns)-1]))
	}
	return object{
		{"count", len(ns)},
		{"total_ms", nsToMs(sum)},
		{"max_ms", max},
		{"p50_ms", nsToMs(float64(percentile(ns, 0.50)))},
		{"p99_ms", nsToMs(float64(percentile(ns, 0.99)))},
		{"dropped", dropped},
	}
}
