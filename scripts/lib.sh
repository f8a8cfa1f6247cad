# Shared set-up for scripts/test and scripts/demo (sourced, not run).
# Installs the Debian packages goro needs, only those missing, running
# apt-get update first only when something must be installed.

goro_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

goro_need_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "== installing missing Debian packages: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Build dependencies of every preset.
goro_build_packages=(g++ cmake ninja-build pkg-config libgc-dev libmimalloc-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libhttp-parser-dev
  prometheus-cpp-dev rapidjson-dev
  libdw-dev zlib1g-dev)  # debug/: symbolizing, gzip'd pprof

# What the patched-collector build (-DGORO_PATCHED_GC=ON, preset "patched")
# needs beside the build: third_party/bdwgc/fetch gets Debian's libgc source
# package with apt-get source and unpacks it with dpkg-source (dpkg-dev);
# third_party/bdwgc/build applies goro's patches and runs libgc's configure.
goro_patched_gc_packages=(dpkg-dev patch make gcc)

# What bench/run needs beside the build to show every column (scripts/demo):
# the Tokio peers build offline against Debian's crates, wrk loads the HTTP
# servers. Go (golang-go) and cargo are added by the caller when missing.
goro_bench_packages=(python3 wrk librust-tokio-dev librust-hyper-dev)

# What the tests need beyond the build: bench_report renders the benchmark
# report in headless Chromium (tests/bench_report_check.py); clang-14's
# libFuzzer builds the HTTP fuzz target (scripts/fuzz-http); the metrics
# tests lint with promtool and scrape with a real Prometheus (both in the
# prometheus package); scripts/test checks the format with clang-format (14);
# scripts/tidy runs clang-tidy; the debug tests read the pprof profiles back
# with `go tool pprof` (golang-go).
goro_test_packages=(python3 chromium clang-14 libclang-rt-14-dev prometheus clang-format clang-tidy
  golang-go)

goro_build() { # preset
  local preset=$1
  cmake --preset "$preset" -S "$goro_root" >/dev/null
  cmake --build "$goro_root/build/${2:-$preset}" --parallel "$(nproc)"
}
