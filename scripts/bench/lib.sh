# Shared helpers for scripts/bench/*.sh (sourced, not run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH="$ROOT/scripts/bench"
# Separate build folders so a benchmark never locks (or is locked by) a developer's `.build`.
SCRATCH="${SCRATCH:-$ROOT/.build-bench}"
BENCH_SCRATCH="${BENCH_SCRATCH:-$ROOT/Benchmarks/.build}"
CONSUMERD="$SCRATCH/release/consumerd"
PASSTHROUGH="$BENCH_SCRATCH/release/Passthrough"
PROBE="$BENCH_SCRATCH/release/LatencyProbe"
RESULTS="${RESULTS:-$BENCH/results}"
WORK="${WORK:-$BENCH/work}"
VENV="${VENV:-$BENCH/.venv}"
MODEL="${MODEL:-$ROOT/config/models/xgb-volatility-5feat.json}"  # MODEL=path: another model (e.g. one without its reference profile)
TICKS="$ROOT/config/demo/coinbase-btc-usd-ticker.ndjson"
mkdir -p "$RESULTS" "$WORK"

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

build() {
    if [ "${SKIP_BUILD:-0}" != 1 ]; then
        log "building consumerd (release, $SCRATCH) and the bench tools ($BENCH_SCRATCH)"
        (cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH" --product consumerd >&2)
        (cd "$ROOT/Benchmarks" && swift build -c release --scratch-path "$BENCH_SCRATCH" --product Passthrough >&2)
        (cd "$ROOT/Benchmarks" && swift build -c release --scratch-path "$BENCH_SCRATCH" --product LatencyProbe >&2)
    fi
}

# backlog RECORDS: sets PRELOAD to the backlog file of RECORDS records (the bundled ticks spread over products,
# made once by make_preload.py and kept in $WORK); the maker's summary goes to stdout.
backlog() {
    PRELOAD="$WORK/preload-$1.ndjson"
    [ -s "$PRELOAD" ] || python3 "$BENCH/make_preload.py" "$TICKS" "$1" "$PRELOAD"
}

# load_backlog: replays $PRELOAD into ticks.features on $BOOTSTRAP, Kafka timestamps kept; its summary on stdout.
load_backlog() {
    "$CONSUMERD" replay "$PRELOAD" --keep-timestamps --bootstrap-servers "$BOOTSTRAP" --topic ticks.features \
        2> "$WORK/replay.err"
}

# preloaded_b_cluster RECORDS PARTITIONS: a cluster with ticks.features (the RECORDS backlog loaded, summaries
# discarded) and B's output topics, bench.b and bench.b.dlq.
preloaded_b_cluster() {
    backlog "$1" > /dev/null
    start_cluster "$2" ticks.features bench.b bench.b.dlq
    load_backlog > /dev/null
}

# b_env GROUP: sets B_ENV to the environment of a consumerd run as B on $BOOTSTRAP — group GROUP, from the log's
# start, outputs to bench.b and bench.b.dlq, metrics on a free port. Callers put their own variables after it.
b_env() {
    B_ENV=(METRICS_PORT=0 METRICS_HOST=127.0.0.1 KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" KAFKA_AUTO_OFFSET_RESET=earliest
        OUTPUT_TOPIC=bench.b DLQ_TOPIC=bench.b.dlq LOG_LEVEL=info MODEL_PATH="$MODEL" KAFKA_GROUP_ID="$1")
}

# start_cluster PARTITIONS TOPIC... : starts `consumerd mock-cluster`, sets BOOTSTRAP and CLUSTER_PID.
start_cluster() {
    local partitions="$1"; shift
    local args=() t
    for t in "$@"; do args+=(--topic "$t"); done
    local out="$WORK/cluster.out"
    : > "$out"
    "$CONSUMERD" mock-cluster --partitions "$partitions" "${args[@]}" < /dev/null > "$out" 2> "$WORK/cluster.err" &
    CLUSTER_PID=$!
    PIDS+=("$CLUSTER_PID")
    local i
    for i in $(seq 1 100); do
        BOOTSTRAP="$(sed -n 's/^BOOTSTRAP=//p' "$out" | head -n1)"
        [ -n "$BOOTSTRAP" ] && break
        sleep 0.1
    done
    [ -n "$BOOTSTRAP" ] || { log "mock cluster did not start"; cat "$WORK/cluster.err" >&2; exit 1; }
    log "mock cluster $BOOTSTRAP ($partitions partitions: $*)"
}

stop_pid() {
    local pid="$1"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# metric BODY NAME : sum of all samples of NAME (any labels) in a Prometheus text body.
metric_sum() {
    awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }' <<< "$1"
}

# proc_cpu PID : user+system CPU seconds of a process; proc_rss_kib PID : peak RSS (VmHWM) in KiB.
# thread_cpu PID: one line per thread of PID, its name and its CPU seconds, tab-separated.
thread_cpu() {
    local t
    for t in /proc/"$1"/task/*; do
        awk -v hz="$(getconf CLK_TCK)" -v n="$(cat "$t/comm" 2>/dev/null)" '{ printf "%s\t%.2f\n", n, ($14 + $15) / hz }' "$t/stat" 2>/dev/null || true
    done
}
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
proc_hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
proc_rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# median [DECIMALS]: the median of the numbers on stdin (blank lines skipped; "nan" for none). Without DECIMALS
# an odd count's middle value as given and an even count's mean rounded to an integer (records/s); with it, either
# printed to that many decimals.
median() {
    sort -g | awk -v d="${1:-}" 'NF { a[++n] = $1 } END {
        if (!n) { print "nan"; exit }
        m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        if (d != "") printf "%." d "f\n", m; else if (n % 2) print m; else printf "%.0f\n", m
    }'
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import confluent_kafka, xgboost, sklearn' 2>/dev/null; then
        log "creating the Python venv $VENV (confluent-kafka, xgboost, scikit-learn from PyPI)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q confluent-kafka==2.16.1 xgboost-cpu==3.2.0 scikit-learn >&2 \
            || "$VENV/bin/pip" install -q confluent-kafka xgboost scikit-learn >&2
    fi
}
