#!/usr/bin/env bash
# Where B's time goes: consumerd draining a RECORDS backlog (as in throughput.sh) under
# `perf record -e cpu-clock` (software clock sampling: works where hardware counters are "not supported"),
# then `perf report` by symbol, self time, all threads. Needs linux-perf (apt-get install linux-perf).
# Output: scripts/bench/results/profile-<time>.txt (top symbols) and the same grouped by thread (comm).
source "$(dirname "$0")/lib.sh"
RECORDS="${RECORDS:-300000}"
STAMP="$(date +%Y%m%d-%H%M%S)"
RAW="$RESULTS/profile-$STAMP.txt"
build
backlog "$RECORDS" >&2
start_cluster 64 ticks.features bench.b bench.b.dlq
load_backlog > /dev/null
out="$WORK/profile-daemon.out"
METRICS_PORT=0 METRICS_HOST=127.0.0.1 KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" KAFKA_GROUP_ID="bench-prof-$STAMP" \
    OUTPUT_TOPIC=bench.b DLQ_TOPIC=bench.b.dlq LOG_LEVEL=warning MODEL_PATH="$MODEL" \
    perf record -e cpu-clock -F 2000 -g -o "$WORK/perf.data" "$CONSUMERD" > "$out" 2> "$WORK/profile-daemon.err" &
pid=$!; PIDS+=("$pid")
metrics=""
for _ in $(seq 1 200); do metrics="$(sed -n 's/^METRICS=//p' "$out" | head -n1)"; [ -n "$metrics" ] && break; sleep 0.05; done
while :; do
    body="$(curl -s "http://$metrics/metrics" || true)"
    n=$(( $(metric_sum "$body" volatility_consumer_predictions_made_total) + $(metric_sum "$body" volatility_consumer_records_skipped_total) + $(metric_sum "$body" volatility_consumer_dlq_records_total) ))
    [ "$n" -ge "$RECORDS" ] && break
    sleep 0.1
done
kill -INT "$pid"; wait "$pid" 2>/dev/null || true
set +o pipefail
{
    echo "# perf record -e cpu-clock of consumerd draining $RECORDS records (load $(load)); self time by symbol"
    perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -60 | cut -c1-160
    echo
    echo "# by thread"
    perf report -i "$WORK/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -20
} > "$RAW"
cat "$RAW"
log "profile: $RAW"
