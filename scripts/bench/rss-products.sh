#!/usr/bin/env bash
# RSS with PRODUCTS live products (issue 7, §4; goal ≤ 64 MiB at 10,000): consumerd on a fresh mock cluster is fed
# LINES records cycling through ≥ PRODUCTS product ids at RATE/s (event times = send times, so every window is live),
# then RSS (VmRSS, VmHWM) and volatility_consumer_state_keys are read. SKIP_BUILD=1.
source "$(dirname "$0")/lib.sh"
PRODUCTS="${PRODUCTS:-10000}"
LINES="${LINES:-50000}"
RATE="${RATE:-10000}"
STAMP="$(date +%Y%m%d-%H%M%S)"
RAW="$RESULTS/rss-products-$STAMP.txt"
build
# Lanes so that LINES lines cover PRODUCTS ids: each pass over the 2,827 bundled lines adds LANES products.
LANES=$(( (PRODUCTS * 2827 + LINES - 1) / LINES + 1 ))
SOURCE="$WORK/products-$PRODUCTS.ndjson"
python3 "$BENCH/make_preload.py" "$TICKS" "$LINES" "$SOURCE" "$LANES" > "$WORK/products.txt"
start_cluster 16 ticks.features ticks.predictions ticks.features.dlq
out="$WORK/rss-daemon.out"
METRICS_PORT=0 METRICS_HOST=127.0.0.1 KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" KAFKA_GROUP_ID="bench-rss-$STAMP" \
    LOG_LEVEL=warning MODEL_PATH="$MODEL" "$CONSUMERD" > "$out" 2> "$WORK/rss-daemon.err" &
pid=$!; PIDS+=("$pid")
metrics=""
for _ in $(seq 1 200); do metrics="$(sed -n 's/^METRICS=//p' "$out" | head -n1)"; [ -n "$metrics" ] && break; sleep 0.05; done
for _ in $(seq 1 300); do curl -sf "http://$metrics/readyz" > /dev/null && break; sleep 0.05; done
rss_ready="$(proc_rss_kib "$pid")"
"$CONSUMERD" replay "$SOURCE" --rate "$RATE" --bootstrap-servers "$BOOTSTRAP" > /dev/null 2> "$WORK/rss-replay.err"
for _ in $(seq 1 100); do
    body="$(curl -s "http://$metrics/metrics")"
    done_count=$(( $(metric_sum "$body" volatility_consumer_messages_processed_total) ))
    [ "$done_count" -ge "$LINES" ] && break
    sleep 0.1
done
sleep 1
body="$(curl -s "http://$metrics/metrics")"
echo "products=$(metric_sum "$body" volatility_consumer_state_keys) processed=$(metric_sum "$body" volatility_consumer_messages_processed_total) rss_ready_kib=$rss_ready rss_kib=$(proc_rss_kib "$pid") hwm_kib=$(proc_hwm_kib "$pid") load=$(load) $(cat "$WORK/products.txt")" | tee "$RAW"
