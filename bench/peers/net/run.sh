#!/usr/bin/env bash
# Network peer benchmarks for goro (the driver README.md's tables were
# measured with; bench/run has the same rows with goro in them): builds the Go (net/http) and the Rust
# (tokio + hyper 0.14) servers, loads each one on 127.0.0.1 with wrk (HTTP) or
# the netpeers echo client (TCP echo), REPS times per row with the
# implementations interleaved inside each repetition, stores one JSON line per
# run and prints a table of medians.
#
#   ./run.sh                 # every row
#   ./run.sh 'hello'         # only rows whose label matches the regex
#   PIN=split ./run.sh       # server on its own CPU (see PIN below)
#
# Rows (label | server | what is loaded | connections):
#   hello-c64     http  wrk -t1 -c64  GET /hello        (13-byte text/plain)
#   hello-c256    http  wrk -t1 -c256 GET /hello
#   alloc100-c64  http  wrk -t1 -c64  GET /alloc?n=100  (100 x 128-byte objects + 1 KiB body)
#   echo64-c64    echo  netpeers echoload -c 64 -size 64 (64-byte ping-pong per connection)
#
# Each run: start a fresh server (pinned with taskset), check its responses
# (netpeers check), WARMUP s of unmeasured load, DURATION s measured, read the
# server's VmHWM (peak RSS) and CPU time from /proc/PID, stop it by its PID.
#
# Environment:
#   REPS=3          repetitions per row
#   DURATION=10     seconds per measured run (wrk -d)
#   WARMUP=1        seconds of unmeasured load before each measured run
#   PIN=shared      shared: server -procs <nproc> and the one-thread client both
#                   on all CPUs (on 2 vCPUs: server GOMAXPROCS / worker_threads 2,
#                   wrk -t1, and the scheduler shares the two CPUs between them);
#                   split: server -procs <nproc-1> pinned to CPUs 1.., client
#                   pinned to CPU 0 (on 2 vCPUs: one core each, no sharing).
#   PROCS, SERVER_CPUS, CLIENT_CPUS   override what PIN chose (taskset lists)
#   CLIENT_PROCS=1  GOMAXPROCS of the echo client (the counterpart of wrk -t1)
#   PORT=18080      first port; each run uses PORT + (run number mod 100)
#   OUT=FILE        JSONL output (default $WORK/results/net-<timestamp>.jsonl)
#   NICE=0          nice level of servers and clients (e.g. NICE=-20, as root, when
#                   other niced jobs share the machine; every JSON line records the
#                   machine's busy / niced / steal CPU during the run)
#   AUTOGROUP_NICE= e.g. -20 (root): run the whole benchmark in its own session
#                   (setsid) and give that session's scheduler autogroup this nice
#                   level. With kernel.sched_autogroup_enabled=1 (Debian's default)
#                   CFS first shares the CPUs between sessions, so another session's
#                   `nice -n 19` job still gets an equal share; plain NICE does not
#                   help against it, the autogroup's nice does.
#   COOLDOWN=0      seconds to sleep before each run (the VM throttles sustained
#                   2-core use; see ../RESULTS.md)
#   IMPLS="go tokio"  which peers to run
#   GORO_NET_BIN=.. optional: a goro server binary with the same command lines
#                   (`http -addr A -procs N`, `echo -addr A -procs N`, same
#                   routes); it is run in every row next to the peers.
#   SKIP_BUILD=1    reuse $WORK/bin as is;  BUILD_ONLY=1  build and stop
#   BUILD_NICE=0    nice level for the builds
#   PEERS_NET_WORK  work folder (default ${TMPDIR:-/tmp}/goro-peers-net)
set -euo pipefail
if [[ -n "${AUTOGROUP_NICE:-}" && -z "${NET_PEERS_OWN_SESSION:-}" ]]; then
  NET_PEERS_OWN_SESSION=1 exec setsid -w "$0" "$@" # own session => own autogroup
fi
if [[ -n "${AUTOGROUP_NICE:-}" ]]; then
  echo "$AUTOGROUP_NICE" >/proc/self/autogroup || { echo "could not set the autogroup's nice" >&2; exit 1; }
fi
SRC=$(cd "$(dirname "$0")" && pwd)
WORK=${PEERS_NET_WORK:-${TMPDIR:-/tmp}/goro-peers-net}
if [[ -n "${GORO_NET_BIN:-}" && "$GORO_NET_BIN" != /* ]]; then GORO_NET_BIN="$PWD/$GORO_NET_BIN"; fi
if [[ -n "${OUT:-}" && "$OUT" != /* ]]; then OUT="$PWD/$OUT"; fi
mkdir -p "$WORK"
# Sources stay where they are (they may be read-only); copies are built in WORK.
rm -rf "$WORK/go" "$WORK/rust/src" "$WORK/rust/.cargo"
cp -r "$SRC/go" "$WORK/go"
mkdir -p "$WORK/rust"
cp -r "$SRC/rust/src" "$SRC/rust/Cargo.toml" "$WORK/rust/"
cp -r "$SRC/rust/.cargo" "$WORK/rust/.cargo" # offline: Debian crate directory replaces crates.io
cp "$SRC/wrk-report.lua" "$WORK/"
cd "$WORK"

REPS=${REPS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
PIN=${PIN:-shared}
PORT=${PORT:-18080}
COOLDOWN=${COOLDOWN:-0}
NICE=${NICE:-0}
CLIENT_PROCS=${CLIENT_PROCS:-1}
IMPLS=${IMPLS:-go tokio}
BUILD_NICE=${BUILD_NICE:-0}
FILTER=${1:-.}
NCPU=$(nproc)
case $PIN in
  shared) def_procs=$NCPU; def_srv="0-$((NCPU - 1))"; def_cli="0-$((NCPU - 1))" ;;
  split) def_procs=$((NCPU > 1 ? NCPU - 1 : 1)); def_srv="$((NCPU > 1 ? 1 : 0))-$((NCPU - 1))"; def_cli=0 ;;
  *) echo "PIN must be shared or split" >&2; exit 2 ;;
esac
PROCS=${PROCS:-$def_procs}
SERVER_CPUS=${SERVER_CPUS:-$def_srv}
CLIENT_CPUS=${CLIENT_CPUS:-$def_cli}
mkdir -p bin results logs
OUT=${OUT:-$WORK/results/net-$(date +%Y%m%d-%H%M%S).jsonl}

log() { printf '%s\n' "$*" >&2; }

need_pkg() { # command-or-crate-dir package
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "   $2 missing: installing it with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null; } \
      || true
  fi
}
command -v wrk >/dev/null || need_pkg wrk wrk
command -v jq >/dev/null || need_pkg jq jq
for c in wrk jq taskset; do command -v $c >/dev/null || { log "!! $c is required"; exit 1; }; done

# ------------------------------------------------------------------ build --
HAVE_RUST=1
if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "== building go peer ($(go version | awk '{print $3}'))"
  (cd go && GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=0 nice -n "$BUILD_NICE" go build -trimpath -o ../bin/netpeers .)

  log "== building rust tokio+hyper peer (offline, Debian crates)"
  ls -d /usr/share/cargo/registry/tokio-1.* >/dev/null 2>&1 || need_pkg tokio librust-tokio-dev
  ls -d /usr/share/cargo/registry/hyper-0.14.* >/dev/null 2>&1 || need_pkg hyper librust-hyper-dev
  if (cd rust && nice -n "$BUILD_NICE" cargo build --release --offline --quiet) \
    && cp rust/target/release/tokio-net-peers bin/tokio-net-peers; then
    :
  else
    log "!! rust peer did not build (needs: apt-get install librust-tokio-dev librust-hyper-dev); continuing without it"
    HAVE_RUST=0
  fi
else
  [[ -x bin/tokio-net-peers ]] || HAVE_RUST=0
fi
[[ -n "${BUILD_ONLY:-}" ]] && { log "== built: $WORK/bin"; exit 0; }

GO_VERSION="$(go version | awk '{print $3}') net/http"
RUST_VERSION="rustc $(rustc --version 2>/dev/null | awk '{print $2}'); $(
  [[ -f rust/Cargo.lock ]] && awk '/^name = "(tokio|hyper)"$/{n=$3; getline; printf "%s %s ", n, $3}' rust/Cargo.lock | tr -d '"')(Debian crates)"

# ------------------------------------------------------------------- rows --
# label | server subcommand | path (http) or message bytes (echo) | connections
ROWS=(
  "hello-c64|http|/hello|64"
  "hello-c256|http|/hello|256"
  "alloc100-c64|http|/alloc?n=100|64"
  "echo64-c64|echo|64|64"
)

SPID=
stop_server() {
  if [[ -n "$SPID" ]]; then
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=
  fi
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

server_bin() {
  case $1 in
    go) echo bin/netpeers ;;
    tokio) echo bin/tokio-net-peers ;;
    goro) echo "$GORO_NET_BIN" ;;
  esac
}

# start_server impl kind addr: sets SPID; returns 1 if it does not listen in 5 s
start_server() {
  local bin port=${3##*:} i
  bin=$(server_bin "$1")
  nice -n "$NICE" taskset -c "$SERVER_CPUS" "$bin" "$2" -addr "$3" -procs "$PROCS" >logs/server.log 2>&1 &
  SPID=$!
  for ((i = 0; i < 250; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.02
  done
  log "!! $1 $2 server did not start: $(tail -3 logs/server.log)"
  stop_server
  return 1
}

# user+system CPU seconds of process $1 (all threads), from /proc/PID/stat
cpu_s() {
  local s a
  read -r s <"/proc/$1/stat"
  s=${s##*) }
  read -ra a <<<"$s"
  awk -v u="${a[11]}" -v s="${a[12]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f\n", (u + s) / hz }'
}
CLK_TCK=$(getconf CLK_TCK)
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# whole-machine CPU counters (jiffies): "busy nice steal" from the cpu line of /proc/stat
sys_ticks() {
  local _c u n s _i _w irq sirq st _r
  read -r _c u n s _i _w irq sirq st _r </proc/stat
  echo "$((u + n + s + irq + sirq)) $n $st"
}
# sys_json "before" "after" seconds: busy / niced / steal CPU over the window, in cores
sys_json() {
  awk -v a="$1" -v b="$2" -v t="$3" -v hz="$CLK_TCK" 'BEGIN {
    split(a, x, " "); split(b, y, " ");
    printf "{\"window_s\":%.2f,\"busy_cores\":%.3f,\"nice_cores\":%.3f,\"steal_cores\":%.3f}\n",
      t, (y[1]-x[1])/hz/t, (y[2]-x[2])/hz/t, (y[3]-x[3])/hz/t }'
}

RUNNO=0
run_one() { # impl label kind arg conns rep
  local impl=$1 label=$2 kind=$3 arg=$4 conns=$5 rep=$6
  local addr port avail cpu0 cpu1 hwm rss ccpu wj line tag client version st0 st1 t0 t1 sysj
  RUNNO=$((RUNNO + 1))
  port=$((PORT + RUNNO % 100))
  addr=127.0.0.1:$port
  tag="logs/$label-$impl-$rep"
  [[ "$COOLDOWN" != 0 ]] && sleep "$COOLDOWN"
  avail=$(nice -n "$NICE" bin/netpeers probe -procs "$NCPU")
  start_server "$impl" "$kind" "$addr" || return 0
  if ! bin/netpeers check -addr "$addr" -mode "$kind" >"$tag.check" 2>&1; then
    log "!! $impl $label: check failed: $(cat "$tag.check")"
    stop_server
    return 0
  fi
  if [[ $kind == http ]]; then
    client="wrk -t1 -c$conns -d${DURATION}s --latency"
    nice -n "$NICE" taskset -c "$CLIENT_CPUS" wrk -t1 -c"$conns" -d"${WARMUP}s" "http://$addr$arg" >"$tag.warmup" 2>&1 || true
    cpu0=$(cpu_s "$SPID")
    st0=$(sys_ticks) t0=$(date +%s.%N)
    { TIMEFORMAT='%U %S'; time nice -n "$NICE" taskset -c "$CLIENT_CPUS" wrk -t1 -c"$conns" -d"${DURATION}s" --latency \
      -s wrk-report.lua "http://$addr$arg" >"$tag.out" 2>&1; } 2>"$tag.time" || true
    cpu1=$(cpu_s "$SPID")
    st1=$(sys_ticks) t1=$(date +%s.%N)
    ccpu=$(awk '{print $1 + $2}' "$tag.time")
    wj=$(sed -n 's/^WRKJSON //p' "$tag.out")
  else
    client="netpeers echoload -c $conns -size $arg -d ${DURATION}s -warmup ${WARMUP}s -procs $CLIENT_PROCS"
    # the client's warm-up is built in; it reads its own and the server's CPU time
    # (/proc/PID/stat) at the start and end of the measured part
    cpu0=0 cpu1=0
    st0=$(sys_ticks) t0=$(date +%s.%N)
    nice -n "$NICE" taskset -c "$CLIENT_CPUS" bin/netpeers echoload -addr "$addr" -c "$conns" -size "$arg" \
      -d "${DURATION}s" -warmup "${WARMUP}s" -procs "$CLIENT_PROCS" -server-pid "$SPID" >"$tag.out" 2>&1 || true
    st1=$(sys_ticks) t1=$(date +%s.%N)
    wj=$(grep '^{' "$tag.out" || true)
  fi
  sysj=$(sys_json "$st0" "$st1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
  hwm=$(status_kb "$SPID" VmHWM)
  rss=$(status_kb "$SPID" VmRSS)
  stop_server
  if [[ -z "$wj" ]]; then
    log "!! $impl $label: no result: $(tail -3 "$tag.out")"
    return 0
  fi
  version=$GO_VERSION
  [[ $impl == tokio ]] && version=$RUST_VERSION
  [[ $impl == goro ]] && version=$GORO_NET_BIN
  line=$(jq -c -n --argjson w "$wj" --argjson sys "$sysj" --arg impl "$impl" --arg version "$version" --arg lbl "$label" \
    --arg kind "$kind" --arg arg "$arg" --argjson conns "$conns" --argjson rep "$rep" \
    --arg pin "$PIN" --argjson nice "$NICE" --arg agroup "$(cat /proc/self/autogroup 2>/dev/null || true)" --argjson procs "$PROCS" --arg scpus "$SERVER_CPUS" --arg ccpus "$CLIENT_CPUS" \
    --arg client "$client" --argjson avail "${avail:-0}" --argjson cpu0 "$cpu0" --argjson cpu1 "$cpu1" \
    --argjson hwm "${hwm:-0}" --argjson rss "${rss:-0}" --argjson ccpu "${ccpu:-null}" \
    --argjson dur "$DURATION" --argjson warm "$WARMUP" --arg ts "$(date -u +%FT%TZ)" '
    (if $kind == "http" then
       {ops: $w.requests, ops_unit: "requests", duration_s: ($w.duration_us / 1e6),
        p50_us: $w.p50_us, p90_us: $w.p90_us, p99_us: $w.p99_us, p999_us: $w.p999_us,
        lat_mean_us: $w.lat_mean_us, lat_max_us: $w.lat_max_us,
        errors: ($w.err_connect + $w.err_read + $w.err_write + $w.err_status + $w.err_timeout),
        server_cpu_s: ($cpu1 - $cpu0), client_cpu_s: $ccpu}
     else
       {ops: $w.msgs, ops_unit: "round trips", duration_s: $w.duration_s,
        p50_us: $w.p50_us, p90_us: $w.p90_us, p99_us: $w.p99_us, p999_us: $w.p999_us,
        lat_mean_us: $w.lat_mean_us, lat_max_us: $w.lat_max_us, errors: $w.errors,
        server_cpu_s: $w.server_cpu_s, client_cpu_s: $w.client_cpu_s}
     end) as $m
    | {impl: $impl, version: $version, "label": $lbl, server: $kind,
       path: (if $kind == "http" then $arg else null end),
       msg_bytes: (if $kind == "echo" then ($arg | tonumber) else null end),
       conns: $conns, rep: $rep, pin: $pin, nice: $nice, autogroup: $agroup, procs: $procs, server_cpus: $scpus, client_cpus: $ccpus,
       client: $client, ts: $ts, cpu_avail_probe: $avail}
      + $m
      + {ops_per_s: ($m.ops / $m.duration_s),
         peak_rss_bytes: ($hwm * 1024), end_rss_bytes: ($rss * 1024),
         machine: $sys, client_raw: $w}')
  printf '%s\n' "$line" >>"$OUT"
  log "   $(jq -r '"\(.label|.+"              "|.[0:14]) \(.impl|.+"      "|.[0:6]) rep \(.rep)  probe=\(.cpu_avail_probe)  \(.ops_per_s|round) \(.ops_unit)/s  p50=\(.p50_us)us p99=\(.p99_us)us  rss=\(.peak_rss_bytes/1048576*10|round/10)MiB  srv_cpu=\(.server_cpu_s*100|round/100)s client_cpu=\(.client_cpu_s*100|round/100)s  machine busy=\(.machine.busy_cores) nice=\(.machine.nice_cores) steal=\(.machine.steal_cores)  errors=\(.errors)"' <<<"$line")"
}

impls=()
for i in $IMPLS; do
  [[ $i == tokio && $HAVE_RUST == 0 ]] && continue
  impls+=("$i")
done
[[ -n "${GORO_NET_BIN:-}" ]] && impls+=(goro)

log "== running (REPS=$REPS, PIN=$PIN: server procs $PROCS on CPUs $SERVER_CPUS, client on CPUs $CLIENT_CPUS, nice $NICE, $(cat /proc/self/autogroup 2>/dev/null || true); output $OUT)"
for row in "${ROWS[@]}"; do
  IFS='|' read -r label kind arg conns <<<"$row"
  [[ "$label" =~ $FILTER ]] || continue
  for ((rep = 1; rep <= REPS; rep++)); do
    order=("${impls[@]}")
    if ((rep % 2 == 0)); then # alternate the order: no implementation always runs first
      order=()
      for ((k = ${#impls[@]} - 1; k >= 0; k--)); do order+=("${impls[k]}"); done
    fi
    for impl in "${order[@]}"; do
      run_one "$impl" "$label" "$kind" "$arg" "$conns" "$rep"
    done
  done
done

# ---------------------------------------------------------------- report --
echo
echo "## Medians ($REPS runs each; $NCPU CPUs; PIN=$PIN; NICE=$NICE; AUTOGROUP_NICE=${AUTOGROUP_NICE:-unset}; results in $OUT)"
echo
bin/netpeers summarize "$OUT"
