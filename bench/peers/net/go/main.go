// Command netpeers holds the Go network peers for goro's netpoller / TCP /
// HTTP benchmarks, plus the small tools the driver (bench/run) needs.
//
//	netpeers http -addr 127.0.0.1:PORT -procs N   net/http server: GET /hello, GET /alloc?n=K, POST /echo,
//	                                               POST /orders (examples/http_service.cpp's route)
//	netpeers echo -addr 127.0.0.1:PORT -procs N   TCP echo server, 4 KiB buffer per connection
//	netpeers echoload -addr A -c 64 -size 64 -d 10s [-warmup 1s] [-procs 1]
//	                                               echo client: C connections ping-ponging SIZE-byte
//	                                               messages; prints one JSON line (msgs/s, latency)
//	netpeers check -addr A -mode http|echo        functional check of a server (exit 1 on mismatch)
//	netpeers idle -addr A -c 10000 -server-pid PID [-hold 1s] [-path /hello]
//	                                               idle keep-alive connections: the server's RSS per
//	                                               connection and its CPU while they sit idle
//	netpeers probe [-procs 2]                      ~40 ms spin: parallel speedup the VM gives right now
//	netpeers summarize FILE.jsonl...               markdown table of medians of run.sh's JSON lines
//
// Standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: netpeers http|echo|echoload|idle|check|probe|summarize [flags]  (see the package comment)")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	switch cmd {
	case "http", "echo":
		addr := fs.String("addr", "127.0.0.1:8080", "listen address")
		procs := fs.Int("procs", runtime.NumCPU(), "GOMAXPROCS")
		buf := fs.Int("buf", 4096, "echo: read buffer bytes per connection")
		fs.Parse(args)
		runtime.GOMAXPROCS(*procs)
		var err error
		if cmd == "http" {
			err = serveHTTP(*addr)
		} else {
			err = serveEcho(*addr, *buf)
		}
		fmt.Fprintln(os.Stderr, "netpeers:", err)
		os.Exit(1)
	case "echoload":
		echoLoad(fs, args)
	case "idle":
		idleConns(fs, args)
	case "check":
		check(fs, args)
	case "probe":
		probe(fs, args)
	case "summarize":
		summarize(args)
	default:
		usage()
	}
}
