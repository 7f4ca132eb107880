#!/usr/bin/env bash
# End-to-end throughput, side by side on ONE standalone mock cluster (issue 7, §2):
#   A  Passthrough (Benchmarks/Sources/Passthrough): consumerd's StreamProcessor, handler copies bytes; the ceiling
#   B  consumerd, full pipeline, at-least-once (fresh group id, KAFKA_AUTO_OFFSET_RESET=earliest)
#   C  consumerd, exactly-once (PROCESSING_GUARANTEE=exactly_once; the mock runs the transactions but does not
#      store their offsets, so C is a throughput figure only); SKIP_EOS=1 skips it
#   D  the Python original's consumer path (scripts/bench/python_consumer.py in a venv)
# Each measures records/s from its first handled record to its last delivery report (the engine's catch-up summary).
#
# Environment: RECORDS (default 300000), PARTITIONS (64), REPEATS (5, for A, B and C), PY_RECORDS (20000: D is
# slow, so it processes the first PY_RECORDS of the same backlog), SKIP_BUILD=1, SKIP_PYTHON=1.
# Output: a table on stdout; raw runs in scripts/bench/results/throughput-<time>.txt.
source "$(dirname "$0")/lib.sh"

RECORDS="${RECORDS:-300000}"
PARTITIONS="${PARTITIONS:-64}"
REPEATS="${REPEATS:-5}"
PY_RECORDS="${PY_RECORDS:-20000}"
STAMP="$(date +%Y%m%d-%H%M%S)"
RAW="$RESULTS/throughput-$STAMP.txt"

build
[ "${SKIP_PYTHON:-0}" = 1 ] || ensure_venv

{
    echo "# throughput $STAMP records=$RECORDS partitions=$PARTITIONS repeats=$REPEATS py_records=$PY_RECORDS"
    echo "# host: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "# git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
} > "$RAW"

backlog "$RECORDS" >> "$RAW"

# Outputs of every run go to one topic per kind (64 partitions, so the mock's ~5 MiB/partition retention keeps
# memory bounded; nobody reads them back).
start_cluster "$PARTITIONS" ticks.features bench.a bench.b bench.b.dlq bench.d
log "preloading $RECORDS records (load $(load))"
load_backlog | tee -a "$RAW" >&2

# CPU seconds the mock cluster used since $1 (a proc_cpu reading): what the broker side cost during a run.
cluster_cpu_since() { awk -v a="$1" -v b="$(proc_cpu "$CLUSTER_PID")" 'BEGIN { printf "%.2f", b - a }'; }

# CPU seconds of the thread named $2 in process $1 (0 if there is none): consumerd's handler stage and its
# processing loop (decode → … → produce, delivery reports).
named_thread_cpu() {
    thread_cpu "$1" | awk -F'\t' -v n="$2" '$1 == n && !found { print $2; found = 1 } END { if (!found) print 0 }'
}

run_a() {
    local i="$1" line cluster0
    cluster0="$(proc_cpu "$CLUSTER_PID")"
    line="$("$PASSTHROUGH" --bootstrap-servers "$BOOTSTRAP" --expect "$RECORDS" --output bench.a \
        --group "bench-a-$STAMP-$i" 2> "$WORK/a-$i.err")"
    echo "A run=$i load=$(load) $line cluster_cpu_seconds=$(cluster_cpu_since "$cluster0")" >> "$RAW"
    sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<< "$line"
}

# B: consumerd with a fresh group. It logs "caught up" (records, seconds, cpu_seconds) when every partition is at
# its end and every output is acknowledged: the engine's own first-handled-record-to-last-delivery-report figure,
# the same code path that A reports. Nothing samples consumerd while it runs (an earlier version curled /metrics
# every 20 ms: ~20 ms of CPU per sample, a tax on B that A did not pay); the log is checked every 0.25 s.
run_b() {
    local i="$1" label="${2:-B}"
    local out="$WORK/$label-$i.out" err="$WORK/$label-$i.err" pid metrics line hwm cluster0 loop_cpu stage_cpu
    cluster0="$(proc_cpu "$CLUSTER_PID")"
    local extra=()
    [ "$label" = C ] && extra=(PROCESSING_GUARANTEE=exactly_once KAFKA_TRANSACTIONAL_ID="bench-c-$STAMP-$i")
    rm -f "$out" "$err"  # never read the previous run's log
    b_env "bench-$label-$STAMP-$i"
    env "${extra[@]}" "${B_ENV[@]}" "$CONSUMERD" > "$out" 2> "$err" &
    pid=$!
    PIDS+=("$pid")
    while :; do
        line="$(grep -m1 "records=$RECORDS .*caught up" "$err" 2>/dev/null || true)"
        [ -n "$line" ] && break
        kill -0 "$pid" 2>/dev/null || { log "consumerd exited early"; cat "$err" >&2; return 1; }
        sleep 0.25
    done
    hwm="$(proc_hwm_kib "$pid")"
    # The loop's thread is "consumerd-loop" (ProcessorService). (Until session 16 this column read "the busiest
    # thread", which is the stage: both columns showed the stage.)
    loop_cpu="$(named_thread_cpu "$pid" consumerd-loop)"
    stage_cpu="$(named_thread_cpu "$pid" handler-stage)"
    metrics="$(sed -n 's/^METRICS=//p' "$out" | head -n1)"
    local body seconds rate cpu
    body="$(curl -s "http://$metrics/metrics" || true)"
    seconds="$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<< "$line")"
    cpu="$(sed -n 's/.* cpu_seconds=\([0-9.]*\).*/\1/p' <<< "$line")"
    rate="$(awk -v n="$RECORDS" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')"
    echo "$label run=$i load=$(load) records=$RECORDS seconds=$seconds rate=$rate cpu_seconds=$cpu cpu_s_per_M=$(awk -v c="$cpu" -v n="$RECORDS" 'BEGIN { printf "%.2f", c / n * 1e6 }') max_rss_kib=$hwm predictions=$(metric_sum "$body" volatility_consumer_predictions_made_total) dlq=$(metric_sum "$body" volatility_consumer_dlq_records_total) skipped=$(metric_sum "$body" volatility_consumer_records_skipped_total) loop_thread_cpu_seconds=$loop_cpu stage_thread_cpu_seconds=$stage_cpu cluster_cpu_seconds=$(cluster_cpu_since "$cluster0")" >> "$RAW"
    stop_pid "$pid"
    echo "$rate"
}

run_d() {
    local line
    # OMP_NUM_THREADS=1: with the default (all cores) a 1-row predict_proba took ~14 ms here instead of ~1 ms
    # (OpenMP threads spinning against the broker and consumer on 2 cores): the kinder setting for Python.
    line="$(OMP_NUM_THREADS=1 "$VENV/bin/python" "$BENCH/python_consumer.py" "$BOOTSTRAP" "$MODEL" "$PY_RECORDS" ticks.features bench.d \
        2> "$WORK/d.err")"
    echo "D run=1 load=$(load) $line" >> "$RAW"
    sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<< "$line"
}

A=(); B=(); C=()
for i in $(seq 1 "$REPEATS"); do
    log "A run $i (load $(load))"; A+=("$(run_a "$i")")
    log "B run $i (load $(load))"; B+=("$(run_b "$i" B)")
    if [ "${SKIP_EOS:-0}" != 1 ]; then log "C run $i (load $(load))"; C+=("$(run_b "$i" C)"); fi
done
D=""
if [ "${SKIP_PYTHON:-0}" != 1 ]; then
    log "D (Python, $PY_RECORDS records; load $(load))"; D="$(run_d)"
fi

a_med="$(printf '%s\n' "${A[@]}" | median)"
b_med="$(printf '%s\n' "${B[@]}" | median)"
# Each round runs A then B back to back, so the host's slow and fast spells (on this 2-vCPU VM a run's rate moves
# ±30 % between rounds, A and B together) cancel in the round's own B/A: its median is printed beside the ratio
# of the two medians, which the acceptance figure uses.
ratios=()
for i in "${!B[@]}"; do ratios+=("$(awk -v b="${B[$i]}" -v a="${A[$i]}" 'BEGIN { printf "%.3f", b / a }')"); done
r_med="$(printf '%s\n' "${ratios[@]}" | median 2)"
{
    echo
    echo "| run | records/s (median of $REPEATS) | all runs | ratio |"
    echo "|---|---:|---|---|"
    echo "| A passthrough (StreamProcessor, copy) | $a_med | ${A[*]} | ceiling |"
    echo "| B consumerd, at-least-once | $b_med | ${B[*]} | B/A = $(awk -v b="$b_med" -v a="$a_med" 'BEGIN { printf "%.2f", b / a }') (per round: ${ratios[*]}; median $r_med) |"
    if [ "${#C[@]}" -gt 0 ]; then
        c_med="$(printf '%s\n' "${C[@]}" | median)"
        echo "| C consumerd, exactly-once | $c_med | ${C[*]} | C/A = $(awk -v c="$c_med" -v a="$a_med" 'BEGIN { printf "%.2f", c / a }') |"
    fi
    if [ -n "$D" ]; then
        echo "| D Python original style | $D | $D | B/D = $(awk -v b="$b_med" -v d="$D" 'BEGIN { printf "%.1f", b / d }') |"
    fi
    # CPU per record, the measure that does not depend on how many cores the broker and the two clients share
    # (process CPU over the catch-up / records). B − A is what consumerd's own work costs per record on top of the
    # engine and librdkafka: decoding, features, model, labels, drift, encoding and metrics.
    a_us="$(sed -n 's/^A run=.* cpu_seconds=\([0-9.]*\).*/\1/p' "$RAW" | awk -v n="$RECORDS" '{ print $1 / n * 1e6 }' | median 2)"
    b_us="$(sed -n 's/^B run=.* cpu_seconds=\([0-9.]*\).*/\1/p' "$RAW" | awk -v n="$RECORDS" '{ print $1 / n * 1e6 }' | median 2)"
    echo
    echo "CPU per record (median): A $a_us µs, B $b_us µs; B's own work (B − A) $(awk -v a="$a_us" -v b="$b_us" 'BEGIN { printf "%.2f", b - a }') µs"
    echo
    echo "load after: $(load)"
} | tee -a "$RAW"
log "raw runs: $RAW"
