#!/usr/bin/env bash
# The figures behind deploy/kubernetes/deployment.yaml's resource requests: the packaged (release, static Swift
# stdlib) consumerd on librdkafka's mock cluster, fed LINES records over PRODUCTS products at RATE records/s by
# `consumerd replay`; prints the daemon's CPU (cores = CPU seconds / wall seconds while it works through the
# records), RSS when ready, RSS and peak RSS (VmHWM) after the load. The mock cluster and the replayer share the
# machine's cores, so CPU is the daemon's own /proc/PID/stat time, not the machine's load.
#   scripts/deploy/measure-resources.sh         (after scripts/package; RATE=5000 LINES=150000 PRODUCTS=1000)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
export SCRATCH="${SCRATCH:-$ROOT/.build-package}" SKIP_BUILD=1
export RESULTS="${RESULTS:-${TMPDIR:-/tmp}/consumerd-measure}" WORK="${WORK:-${TMPDIR:-/tmp}/consumerd-measure/work}"
source "$ROOT/scripts/bench/lib.sh"
RATE="${RATE:-5000}"
LINES="${LINES:-150000}"
PRODUCTS="${PRODUCTS:-1000}"
[ -x "$CONSUMERD" ] || { echo "no release build at $CONSUMERD: run scripts/package first" >&2; exit 1; }
LANES=$(( (PRODUCTS * 2827 + LINES - 1) / LINES + 1 ))
SOURCE="$WORK/measure-$PRODUCTS.ndjson"
python3 "$BENCH/make_preload.py" "$TICKS" "$LINES" "$SOURCE" "$LANES" > "$WORK/measure-products.txt"
start_cluster 16 ticks.features ticks.predictions ticks.features.dlq
out="$WORK/measure-daemon.out"
METRICS_PORT=0 METRICS_HOST=127.0.0.1 KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" KAFKA_GROUP_ID="measure-$$" \
    LOG_LEVEL=warning "$CONSUMERD" > "$out" 2> "$WORK/measure-daemon.err" &
pid=$!; PIDS+=("$pid")
metrics=""
for _ in $(seq 1 600); do metrics="$(sed -n 's/^METRICS=//p' "$out" | head -n1)"; [ -n "$metrics" ] && break; sleep 0.1; done
for _ in $(seq 1 600); do curl -sf "http://$metrics/readyz" > /dev/null && break; sleep 0.1; done
rss_ready="$(proc_rss_kib "$pid")"
cpu0="$(proc_cpu "$pid")"; t0="$(date +%s.%N)"
"$CONSUMERD" replay "$SOURCE" --rate "$RATE" --bootstrap-servers "$BOOTSTRAP" > /dev/null 2> "$WORK/measure-replay.err"
for _ in $(seq 1 1200); do
    body="$(curl -s "http://$metrics/metrics")"
    [ "$(metric_sum "$body" volatility_consumer_messages_processed_total)" -ge "$LINES" ] && break
    sleep 0.1
done
cpu1="$(proc_cpu "$pid")"; t1="$(date +%s.%N)"
body="$(curl -s "http://$metrics/metrics")"
cores="$(python3 -c "print(f'{($cpu1 - $cpu0) / ($t1 - $t0):.3f}')")"
echo "rate=$RATE lines=$LINES products=$(metric_sum "$body" volatility_consumer_state_keys) processed=$(metric_sum "$body" volatility_consumer_messages_processed_total) wall_s=$(python3 -c "print(f'{$t1 - $t0:.1f}')") cpu_s=$(python3 -c "print(f'{$cpu1 - $cpu0:.2f}')") cores=$cores rss_ready_kib=$rss_ready rss_kib=$(proc_rss_kib "$pid") hwm_kib=$(proc_hwm_kib "$pid") load=$(load)"
