#!/usr/bin/env bash
# Peak RSS of `consumerd audit` at several input sizes (issue 14, §3: the audit streams the topics in bounded
# memory). For each COUNT in COUNTS: a fresh mock cluster with PARTITIONS partitions per topic (enough that the
# mock's ~5 MiB per-partition retention keeps every record), COUNT ticks replayed over PRODUCTS product ids,
# consumerd run until it processed them all, then `/usr/bin/time -v consumerd audit` ("Maximum resident set
# size"). SKIP_BUILD=1 uses the existing release build; CONSUMERD_BIN=path uses another binary.
source "$(dirname "$0")/lib.sh"
COUNTS="${COUNTS:-200000 1000000}"
PARTITIONS="${PARTITIONS:-256}"
PRODUCTS="${PRODUCTS:-4096}"
STAMP="$(date +%Y%m%d-%H%M%S)"
RAW="$RESULTS/audit-memory-$STAMP.txt"
build
CONSUMERD="${CONSUMERD_BIN:-$CONSUMERD}"
for count in $COUNTS; do
    start_cluster "$PARTITIONS" ticks.features ticks.predictions ticks.features.dlq
    log "replaying $count records over $PRODUCTS products"
    "$CONSUMERD" replay "$TICKS" --loop --count "$count" --products "$PRODUCTS" --bootstrap-servers "$BOOTSTRAP" \
        > /dev/null 2> "$WORK/audit-replay.err"
    out="$WORK/audit-daemon.out"
    METRICS_PORT=0 METRICS_HOST=127.0.0.1 KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" KAFKA_GROUP_ID="bench-audit-$STAMP-$count" \
        LOG_LEVEL=warning MODEL_PATH="$MODEL" "$CONSUMERD" > "$out" 2> "$WORK/audit-daemon.err" &
    pid=$!; PIDS+=("$pid")
    metrics=""
    for _ in $(seq 1 600); do metrics="$(sed -n 's/^METRICS=//p' "$out" | head -n1)"; [ -n "$metrics" ] && break; sleep 0.1; done
    processed=0
    for _ in $(seq 1 6000); do
        processed=$(( $(metric_sum "$(curl -s "http://$metrics/metrics")" volatility_consumer_messages_processed_total) ))
        [ "$processed" -ge "$count" ] && break
        sleep 0.5
    done
    log "daemon processed $processed; stopping it"
    stop_pid "$pid"
    log "auditing"
    set +e
    /usr/bin/time -v "$CONSUMERD" audit --bootstrap-servers "$BOOTSTRAP" --timeout 1800 \
        > "$WORK/audit-$count.out" 2> "$WORK/audit-$count.err" &
    timer=$!
    # VmRSS every 5 s (MiB): a plateau, not a slope, is what bounded memory looks like.
    samples=()
    while kill -0 "$timer" 2>/dev/null; do
        child="$(pgrep -P "$timer" | head -n1 || true)"
        [ -n "$child" ] && kib="$(proc_rss_kib "$child" 2>/dev/null || true)" && [ -n "$kib" ] && samples+=("$(( kib / 1024 ))")
        sleep 5
    done
    wait "$timer"
    status=$?
    set -e
    rss="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/audit-$count.err")"
    wall="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/audit-$count.err")"
    summary="$(grep '^audit: ' "$WORK/audit-$count.err" | tail -n1)"
    echo "count=$count partitions=$PARTITIONS products=$PRODUCTS exit=$status max_rss_kib=$rss wall=$wall load=$(load) | $summary" | tee -a "$RAW"
    echo "rss_mib_every_5s=$(IFS=,; echo "${samples[*]:-}")" | tee -a "$RAW"
    grep -E '^(lost|truncated|mismatched|result) ' "$WORK/audit-$count.out" | tee -a "$RAW"
    stop_pid "$CLUSTER_PID"
done
