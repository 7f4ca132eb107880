#!/usr/bin/env bash
# Where the mock broker's time goes at a fixed rate, without consumerd: `consumerd replay --rate RATE` (linger 0)
# into a fresh mock cluster (16 partitions), the LatencyProbe reading the input topic (the broker leg of
# latency.sh), and `perf record -e cpu-clock` on the mock-cluster process. Needs linux-perf.
# Environment: RATE (10000), SECONDS_RUN (12), SKIP_BUILD=1.
# Output: scripts/bench/results/mock-profile-<time>.txt (the probe's latency and the mock's top symbols).
source "$(dirname "$0")/lib.sh"
RATE="${RATE:-10000}"
SECONDS_RUN="${SECONDS_RUN:-12}"
STAMP="$(date +%Y%m%d-%H%M%S)"
RAW="$RESULTS/mock-profile-$STAMP.txt"
build
backlog 300000 >&2
SOURCE="$PRELOAD"
start_cluster 16 ticks.features
perf record -e cpu-clock -F 1000 -g -p "$CLUSTER_PID" -o "$WORK/mock.perf.data" > /dev/null 2>&1 &
perf_pid=$!
"$PROBE" --bootstrap-servers "$BOOTSTRAP" --topic ticks.features --seconds $((SECONDS_RUN + 6)) --skip-seconds 3 \
    > "$WORK/probe.out" 2> "$WORK/probe.err" &
probe=$!; PIDS+=("$probe")
sleep 1
KAFKA_PRODUCER_CONF_LINGER_MS=0 "$CONSUMERD" replay "$SOURCE" --rate "$RATE" --loop --count $((RATE * SECONDS_RUN)) \
    --bootstrap-servers "$BOOTSTRAP" > /dev/null 2> "$WORK/replay.err"
wait "$probe" || true
kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
set +o pipefail
{
    echo "# mock broker profile: replay at $RATE records/s (linger 0) -> mock (16 partitions) -> probe on the input topic; load $(load)"
    grep LATENCY "$WORK/probe.out" | grep arrival
    echo "# mock process, self time by symbol"
    perf report -i "$WORK/mock.perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9.]+%' | head -15
} > "$RAW"
cat "$RAW"
log "profile: $RAW"
