#!/usr/bin/env bash
# Start-up of `consumerd demo` (embedded mock cluster + bundled ticks; issue 7, §4): time from exec to the metrics
# endpoint listening (the `METRICS=` line, printed after bind) and to /readyz answering 200 (partitions assigned,
# broker reachable), plus RSS once ready. REPEATS (default 3) runs; SKIP_BUILD=1.
source "$(dirname "$0")/lib.sh"
REPEATS="${REPEATS:-3}"
STAMP="$(date +%Y%m%d-%H%M%S)"
RAW="$RESULTS/startup-$STAMP.txt"
build
echo "# startup $STAMP (embedded mock cluster + demo ticks)" > "$RAW"
now() { date +%s.%N; }
for i in $(seq 1 "$REPEATS"); do
    out="$WORK/startup.out"; : > "$out"
    t0="$(now)"
    (cd "$ROOT" && METRICS_PORT=0 METRICS_HOST=127.0.0.1 LOG_LEVEL=warning exec "$CONSUMERD" demo) > "$out" 2> "$WORK/startup.err" &
    pid=$!; PIDS+=("$pid")
    metrics=""
    while [ -z "$metrics" ]; do metrics="$(sed -n 's/^METRICS=//p' "$out" | head -n1)"; [ -n "$metrics" ] || sleep 0.005; done
    t1="$(now)"
    until curl -sf "http://$metrics/readyz" > /dev/null; do sleep 0.02; done
    t2="$(now)"
    rss="$(proc_rss_kib "$pid")"
    stop_pid "$pid"
    echo "run=$i load=$(load) listening_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') ready_s=$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.3f", b-a}') rss_ready_kib=$rss" | tee -a "$RAW"
done
log "raw runs: $RAW"
