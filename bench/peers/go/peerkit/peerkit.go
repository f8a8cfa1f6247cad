// Package peerkit is what the Go peers share: gopeers (bench/peers/go, the
// scheduler and GC workloads) and netpeers (bench/peers/net/go, the network
// servers and their load clients) read JSON result lines, take medians,
// print rates and read a process's RSS and CPU time from /proc the same
// way. netpeers reaches it through a replace directive in its go.mod
// (../../go), so both build offline from the source tree with GOPROXY=off.
package peerkit

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// ReadJSONLines calls fn with every line of the files (stdin when there are
// none) that starts with '{', trimmed; other lines (a build's or a tool's
// chatter) are passed over. An unreadable file ends the program.
func ReadJSONLines(files []string, fn func(line []byte)) {
	read := func(r io.Reader) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, "{") {
				fn([]byte(line))
			}
		}
	}
	if len(files) == 0 {
		read(os.Stdin)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		read(fh)
		fh.Close()
	}
}

// Median of xs (0 for none); xs is not reordered.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Human prints a rate or count short: 1.25G, 3.40M, 56.7k, 12.5.
func Human(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2fG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.1f", x)
}

func procPath(pid int, file string) string {
	if pid <= 0 {
		return "/proc/self/" + file
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}

// ProcStatusBytes reads a "Key:   N kB" field (VmRSS, VmHWM) of
// /proc/PID/status in bytes (pid 0: this process); -1 if unreadable.
func ProcStatusBytes(pid int, key string) int64 {
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			if f := strings.Fields(v); len(f) > 0 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return -1
}

// ProcCPUSeconds is the user+system CPU time of process pid (all its
// threads) from /proc/PID/stat, assuming USER_HZ = 100 (Linux on x86-64 and
// arm64); 0 if pid is 0 or unreadable.
func ProcCPUSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s) // f[0] is field 3 (state); utime, stime are fields 14, 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

// CPUSeconds is this process's user+system CPU time.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// Spin runs n steps of an LCG from seed: CPU work the compiler cannot drop,
// for the probes that measure how many CPUs the machine gives right now.
//
//go:noinline
func Spin(n int, seed uint64) uint64 {
	x := seed
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}
