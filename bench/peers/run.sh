#!/usr/bin/env bash
# Peer benchmarks for goro (the driver PEERS.md's tables were measured with;
# bench/run is the suite that runs goro beside them and writes the report):
# builds the Go (go/, binary gopeers) and the Rust/tokio (tokio/) peers, runs every
# workload REPS times (implementations interleaved inside each repetition, so
# they share the machine's moment-to-moment state), stores one JSON line per
# run and prints a table of medians plus the GC timelines.
#
#   ./run.sh                 # everything
#   ./run.sh 'skynet|gc-'    # only rows whose label matches the regex
#
# Environment:
#   REPS=3        repetitions per row
#   OUT=FILE      JSONL output (default $PEERS_WORK/results/run-<timestamp>.jsonl)
#   COOLDOWN=0    seconds to sleep before each run (the shared VM throttles
#                 sustained 2-core use; see RESULTS.md)
#   THREADS=2     GOMAXPROCS for Go, worker_threads for tokio
#   GORO_BIN=...  optional: a goro benchmark binary that accepts the Go peer's
#                 command line (workload name + Go-style flags, plus -procs N
#                 and -label L) and prints the same JSON line; it is run in
#                 every row next to the peers.
#   SKIP_BUILD=1  reuse bin/ as is
set -euo pipefail
# Sources stay where they are (they may be read-only); builds and results go to
# a work folder: PEERS_WORK, default ${TMPDIR:-/tmp}/goro-peers.
SRC=$(cd "$(dirname "$0")" && pwd)
WORK=${PEERS_WORK:-${TMPDIR:-/tmp}/goro-peers}
mkdir -p "$WORK"
rm -rf "$WORK/go" "$WORK/rust/src" "$WORK/rust/.cargo"
cp -r "$SRC/go" "$WORK/go"
mkdir -p "$WORK/rust"
cp -r "$SRC/tokio/src" "$SRC/tokio/.cargo" "$SRC/tokio/Cargo.toml" "$WORK/rust/"
if [[ -n "${GORO_BIN:-}" && "$GORO_BIN" != /* ]]; then GORO_BIN="$PWD/$GORO_BIN"; fi
cd "$WORK"

REPS=${REPS:-3}
THREADS=${THREADS:-2}
COOLDOWN=${COOLDOWN:-0}
FILTER=${1:-.}
mkdir -p bin results
OUT=${OUT:-results/run-$(date +%Y%m%d-%H%M%S).jsonl}
: > "$OUT"

log() { printf '%s\n' "$*" >&2; }

# ------------------------------------------------------------------ build --
HAVE_RUST=1
if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "== building go peer ($(go version | awk '{print $3}'))"
  (cd go && GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=0 go build -trimpath -o ../bin/gopeers .)

  log "== building rust/tokio peer (offline, Debian crates)"
  if ! ls -d /usr/share/cargo/registry/tokio-1.* >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      log "   librust-tokio-dev missing: installing it with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librust-tokio-dev >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librust-tokio-dev >/dev/null; } \
        || true
    fi
  fi
  if (cd rust && cargo build --release --offline --quiet) && cp rust/target/release/tokio-peers bin/tokio-peers; then
    :
  else
    log "!! rust peer did not build (needs: apt-get install librust-tokio-dev); continuing with Go only"
    HAVE_RUST=0
  fi
else
  [[ -x bin/tokio-peers ]] || HAVE_RUST=0
fi

# ------------------------------------------------------------------- rows --
# label | go peer args (also goro's) | tokio peer args   (empty = not run)
ROWS=(
  "calib-start|calib|"
  "skynet|skynet -size 1000000 -div 10 -buf 0|skynet -size 1000000 -div 10 -buf 1"
  "skynet-buf10|skynet -size 1000000 -div 10 -buf 10|skynet -size 1000000 -div 10 -buf 10"
  "spawn|spawn -n 1000000|spawn -n 1000000"
  "yield|yield -n 1000 -k 10000|yield -n 1000 -k 10000"
  "pingpong|pingpong -m 2000000 -buf 0|pingpong -m 2000000 -mode mpsc -buf 1"
  "pingpong-buf1|pingpong -m 2000000 -buf 1|pingpong -m 2000000 -mode mpsc -buf 1"
  "pingpong-oneshot|pingpong -m 2000000 -mode oneshot -buf 0|pingpong -m 2000000 -mode oneshot -buf 1"
  "chain|chain -n 10000 -rounds 200|chain -n 10000 -rounds 200 -buf 1"
  "binarytrees-20|binarytrees -depth 20|"
  "gc-steady-1M|gcbench-limit -limit-mb 512 -live-pct 50 -gogc 100 -rate 1e6 -duration-s 8|"
  "gc-steady-2M|gcbench-limit -limit-mb 512 -live-pct 50 -gogc 100 -rate 2e6 -duration-s 8|"
  "gc-steady-gogcoff|gcbench-limit -limit-mb 512 -live-pct 50 -gogc off -rate 1e6 -duration-s 8|"
  "gc-steady-blob4k|gcbench-limit -limit-mb 256 -live-pct 50 -blob-bytes 4096 -gogc 100 -rate 1e6 -duration-s 8|"
  "gc-spiral|gcbench-limit -limit-mb 512 -live-pct 50 -grow-to-pct 110 -ramp-s 6 -gogc 100 -rate 2e6 -duration-s 9|"
  "calib-end|calib|"
)

# CPU availability probe: ~40 ms of 2-goroutine spinning just before each run;
# 2.0 = both vCPUs were really there, 1.0 = the VM was throttled to one.
probe() {
  bin/gopeers calib -n 20000000 -procs 2 2>/dev/null | sed -n 's/.*speedup=\([0-9.]*\).*/\1/p'
}

run_one() { # impl-name label cmd...
  local name=$1 label=$2; shift 2
  [[ "$COOLDOWN" != 0 ]] && sleep "$COOLDOWN"
  local line avail
  avail=$(probe)
  if line=$("$@" -label "$label" 2>"${TMPDIR:-/tmp}"/peers-stderr.$$); then
    if [[ -n "$avail" ]] && command -v jq >/dev/null; then
      line=$(jq -c --argjson a "$avail" '. + {cpu_avail_probe: $a}' <<<"$line")
    fi
    printf '%s\n' "$line" >> "$OUT"
    log "   $(printf '%-18s %-10s' "$label" "$name") avail=${avail:-?} $(jq -r '"wall=\(.wall_s*1000|round/1000)s ops/s=\(.ops_per_s|round) rss=\(.peak_rss_bytes/1048576|round)MiB gc=\(.gc_cycles // "-") \(.check)"' <<<"$line" 2>/dev/null || echo "$line")"
  else
    log "!! $name $label failed: $(tail -3 "${TMPDIR:-/tmp}"/peers-stderr.$$)"
  fi
  rm -f "${TMPDIR:-/tmp}"/peers-stderr.$$
}

log "== running (REPS=$REPS, THREADS=$THREADS, output $OUT)"
for row in "${ROWS[@]}"; do
  IFS='|' read -r label goargs rsargs <<<"$row"
  [[ "$label" =~ $FILTER ]] || continue
  for ((rep = 1; rep <= REPS; rep++)); do
    # shellcheck disable=SC2086
    [[ -n "$goargs" ]] && run_one go "$label" bin/gopeers $goargs -procs "$THREADS"
    # shellcheck disable=SC2086
    [[ -n "$rsargs" && $HAVE_RUST == 1 ]] && run_one tokio "$label" bin/tokio-peers $rsargs -threads "$THREADS"
    # shellcheck disable=SC2086
    [[ -n "${GORO_BIN:-}" && -n "$goargs" && "$label" != calib* ]] && run_one goro "$label" "$GORO_BIN" $goargs -procs "$THREADS"
  done
done

# ---------------------------------------------------------------- report --
echo
echo "## Medians ($REPS runs each; $(nproc) CPUs; $(go version | awk '{print $3}'); results in $OUT)"
echo
bin/gopeers summarize "$OUT"
for tl in gc-steady-2M gc-spiral; do
  if grep -q "\"label\":\"$tl\"" "$OUT"; then
    echo
    echo "## Timeline: $tl"
    echo
    bin/gopeers timeline -label "$tl" "$OUT"
  fi
done
