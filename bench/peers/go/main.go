// Command gopeers: the Go side of goro's benchmark suite (bench/run). One
// module, one binary: the scheduler rows (skynet, spawn, yield, pingpong,
// chain), binarytrees and gcbench-limit, which report through Run (run.go)
// with the heap timeline sampler; and goro's Go versions of its allocation
// workloads (gcbench, garbage, fanout, timers), which do what
// bench/peers/<name>.cpp does in goro (same flags, defaults, allocation
// shapes, sizes and checks) and report through report (report.go) with
// every GC pause (gcwatch.go). Every workload prints one JSON line with the
// shared fields (impl ... check) and then its own.
//
//	gopeers <workload> [-flag value ...] [-procs N] [-label L]
//	gopeers list                         the workloads
//	gopeers summarize [file...]          medians of JSONL results (stdin if no files), markdown
//	gopeers timeline -label L [file...]  per-window table of the median run of label L
//	gopeers compare A.jsonl B.jsonl      median ops/s of two result files side by side
//	gopeers ratios [-base go] [file...]  each impl's median ops/s over the base impl's
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
)

type workload struct {
	name string
	desc string
	run  func(fs *flag.FlagSet, args []string)
}

var workloads = []workload{
	{"skynet", "1M-leaf goroutine tree (div-ary), sums leaf indices over channels", runSkynet},
	{"spawn", "spawn N goroutines doing trivial work; WaitGroup", runSpawn},
	{"yield", "N goroutines x K runtime.Gosched", runYield},
	{"pingpong", "two goroutines bounce a message M times (buf=0 unbuffered, >0 buffered)", runPingPong},
	{"chain", "chain of N goroutines passing a token R rounds", runChain},
	{"binarytrees", "benchmarks-game binary-trees, depths in parallel", runBinaryTrees},
	{"gcbench-limit", "live set + fixed-rate churn under GOGC/GOMEMLIMIT, timeline", runGCBenchLimit},
	{"gcbench", "Ellis/Kovac/Boehm GCBench: trees of depth 4-20 top-down and bottom-up, long-lived tree", runGCBench},
	{"garbage", "service heap: old generation + request trees at a fixed rate; latency and pauses", runGarbage},
	{"fanout", "requests on a channel fan out to 16 allocating goroutines at a fixed rate; latency", runFanout},
	{"timers", "N goroutines sleep 1-10 ms in a loop: sleeps/s and wake-up lateness", runTimers},
	{"calib", "not a peer workload: measures available parallel CPU (speedup over 1 goroutine)", runCalib},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gopeers <workload> [flags] | list | summarize [files] | timeline -label L [files] | compare A B | ratios [-base go] [files]")
	for _, w := range workloads {
		fmt.Fprintf(os.Stderr, "  %-14s %s\n", w.name, w.desc)
	}
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "list":
		for _, w := range workloads {
			fmt.Printf("%-14s %s\n", w.name, w.desc)
		}
		return
	case "summarize":
		summarize(os.Args[2:])
		return
	case "timeline":
		timeline(os.Args[2:])
		return
	case "compare":
		compare(os.Args[2:])
		return
	case "ratios":
		ratios(os.Args[2:])
		return
	case "-h", "--help", "help":
		usage()
	}
	for _, w := range workloads {
		if w.name == os.Args[1] {
			fs := flag.NewFlagSet(w.name, flag.ExitOnError)
			fs.String("label", "", "free-form label echoed in the JSON (used by summarize)")
			fs.Int("procs", 0, "GOMAXPROCS (0 = leave as is)")
			w.run(fs, os.Args[2:])
			return
		}
	}
	fmt.Fprintf(os.Stderr, "unknown workload %q\n", os.Args[1])
	usage()
}

// invocation is what every workload's command line shares.
type invocation struct {
	label  string
	params map[string]interface{}
}

// parse parses the workload's flags plus -label and -procs, applies -procs,
// and returns the label and every workload flag's value (the JSON params).
func parse(fs *flag.FlagSet, args []string) invocation {
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fail(fs, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	procs := fs.Lookup("procs").Value.(flag.Getter).Get().(int)
	if procs < 0 {
		fail(fs, fmt.Sprintf("want -procs >= 0, got %d", procs))
	}
	if procs > 0 {
		runtime.GOMAXPROCS(procs)
	}
	inv := invocation{label: fs.Lookup("label").Value.String(), params: map[string]interface{}{}}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "label" && f.Name != "procs" {
			inv.params[f.Name] = f.Value.(flag.Getter).Get()
		}
	})
	return inv
}

// fail prints a bad command line's error and the usage and exits 2, as
// flag.ExitOnError does.
func fail(fs *flag.FlagSet, msg string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", fs.Name(), msg)
	fs.Usage()
	os.Exit(2)
}

func verdict(ok bool, detail string) string {
	if ok {
		return "ok " + detail
	}
	return "MISMATCH " + detail
}

// percentile is the nearest-rank percentile of sorted values (0 if none),
// as bench/peers/distribution.cpp.
func percentile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func ceil(x float64) float64 {
	i := float64(int64(x))
	if i < x {
		return i + 1
	}
	return i
}

// nsToMs is nanoseconds as milliseconds rounded to the microsecond.
func nsToMs(ns float64) float64 {
	us := ns / 1e3
	if us >= 0 {
		return float64(int64(us+0.5)) / 1e3
	}
	return float64(int64(us-0.5)) / 1e3
}

func sortInt64(v []int64) { sort.Slice(v, func(i, j int) bool { return v[i] < v[j] }) }

// latencyJSON is the "latency" object of request latencies in ns.
func latencyJSON(ns []int64) object {
	sortInt64(ns)
	sum := 0.0
	for _, v := range ns {
		sum += float64(v)
	}
	mean, max := 0.0, 0.0
	if len(ns) > 0 {
		mean = nsToMs(sum / float64(len(ns)))
		max = nsToMs(float64(ns[len(ns)-1]))
	}
	return object{
		{"count", len(ns)},
		{"mean_ms", mean},
		{"p50_ms", nsToMs(float64(percentile(ns, 0.50)))},
		{"p99_ms", nsToMs(float64(percentile(ns, 0.99)))},
		{"p999_ms", nsToMs(float64(percentile(ns, 0.999)))},
		{"max_ms", max},
	}
}
