#!/usr/bin/env bash
# What a restarted consumerd reports while it rebuilds state (docs/PERFORMANCE.md "Session 9"): a first instance
# drains part of a RECORDS backlog and is killed with -9 (offsets committed up to where it got); a second one, in
# the same group, starts and its /metrics is read every INTERVAL seconds for SAMPLES readings: ready, processed,
# lag_seconds, the sum and number of lag_records series, in flight, records replayed by state rebuilds.
# Environment: RECORDS (300000), PARTITIONS (64), KILL_AFTER (1.3 s after the first handled record), SAMPLES (40),
# INTERVAL (0.25), SKIP_BUILD=1, EXTRA ("VAR=value ..." for both instances).
# Output: a table on stdout and in scripts/bench/results/restart-lag-<time>.txt.
source "$(dirname "$0")/lib.sh"
RECORDS="${RECORDS:-300000}"
PARTITIONS="${PARTITIONS:-64}"
KILL_AFTER="${KILL_AFTER:-1.3}"
SAMPLES="${SAMPLES:-40}"
INTERVAL="${INTERVAL:-0.25}"
STAMP="$(date +%Y%m%d-%H%M%S)"
OUT="$RESULTS/restart-lag-$STAMP.txt"
read -r -a extra <<< "${EXTRA:-}"

build
preloaded_b_cluster "$RECORDS" "$PARTITIONS"

group="restart-lag-$STAMP"
# start_instance NAME: starts consumerd in $group; sets INSTANCE_PID and METRICS (host:port, from its stdout).
start_instance() {
    local out="$WORK/restart-lag-$1.out"
    : > "$out"
    b_env "$group"
    env "${extra[@]}" "${B_ENV[@]}" KAFKA_CONF_SESSION_TIMEOUT_MS=3000 KAFKA_CONF_HEARTBEAT_INTERVAL_MS=300 \
        "$CONSUMERD" > "$out" 2> "$WORK/restart-lag-$1.err" &
    INSTANCE_PID=$!
    PIDS+=("$INSTANCE_PID")
    METRICS=""
    for _ in $(seq 1 100); do
        METRICS="$(sed -n 's/^METRICS=//p' "$out" | head -1)"
        [ -n "$METRICS" ] && return
        sleep 0.1
    done
    log "instance $1 printed no METRICS= line"; exit 1
}

# value TEXT NAME: the value of the unlabelled series NAME in exposition TEXT.
value() { awk -v n="$2" '$1 == n { print $2 }' <<< "$1"; }

start_instance first
for _ in $(seq 1 600); do
    handled="$(value "$(curl -s -m 2 "http://$METRICS/metrics" || true)" volatility_consumer_messages_processed_total)"
    awk -v v="${handled:-0}" 'BEGIN { exit !(v > 0) }' && break
    sleep 0.05
done
sleep "$KILL_AFTER"
kill -9 "$INSTANCE_PID"; wait "$INSTANCE_PID" 2> /dev/null || true

start_instance second
{
    echo "# restart-lag $STAMP records=$RECORDS partitions=$PARTITIONS kill_after=${KILL_AFTER}s extra=${EXTRA:-none} load $(load)"
    echo "# git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
    echo "| s | ready | processed | lag_seconds | lag_records (sum) | lag_records series | in flight | rebuild records |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    start="$(date +%s.%N)"
    for _ in $(seq 1 "$SAMPLES"); do
        m="$(curl -s -m 2 "http://$METRICS/metrics" || true)"
        printf '| %.2f | %s | %s | %s | %s | %s | %s | %s |\n' "$(echo "$(date +%s.%N) - $start" | bc)" \
            "$(value "$m" volatility_consumer_ready)" "$(value "$m" volatility_consumer_messages_processed_total)" \
            "$(value "$m" volatility_consumer_lag_seconds)" \
            "$(awk '/^volatility_consumer_lag_records\{/ { s += $2 } END { print s + 0 }' <<< "$m")" \
            "$(grep -c '^volatility_consumer_lag_records{' <<< "$m" || true)" \
            "$(value "$m" volatility_consumer_inflight_records)" "$(value "$m" volatility_consumer_state_rebuild_records_total)"
        sleep "$INTERVAL"
    done
} | tee "$OUT"
stop_pid "$INSTANCE_PID"
