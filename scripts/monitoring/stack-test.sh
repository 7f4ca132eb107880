#!/usr/bin/env bash
# Stack test of consumerd's monitoring-as-code against the real programs.
#
#   scripts/monitoring/stack-test.sh [path/to/consumerd]     (default .build/debug/consumerd)
#
# 1. Starts consumerd on its embedded default (mock Kafka cluster + demo ticks) on a free loopback port.
# 2. Starts a loopback webhook receiver, Alertmanager (Debian `prometheus-alertmanager`) with a copy of
#    config/alertmanager/alertmanager.yml pointing at it, and Prometheus (Debian `prometheus`) with a copy
#    of config/prometheus/ whose targets are rewritten to the free ports, 1 s scrape/evaluation interval,
#    and ConsumerDown's `for:` shortened to 5 s.
# 3. Waits for up{job="consumerd"} == 1 and counted predictions, injects one malformed record with
#    `consumerd replay` so the DLQ panels have data, then runs every panel target of every dashboard in
#    config/grafana/dashboards/ against Prometheus' HTTP API and requires a non-empty result.
# 4. Stops consumerd (SIGTERM) and waits for ConsumerDown, with its labels, at the webhook receiver.
#
# Prints per-check and per-panel results and "stack-test: N passed, M failed"; exits non-zero if M > 0.
# Every process it starts is stopped on exit. KEEP_TMP=1 keeps the temporary directory (logs, configs).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# $1 relative to the caller's directory; the default relative to the repository root.
if [ -n "${1:-}" ]; then
    case "$1" in /*) BIN="$1" ;; *) BIN="$PWD/$1" ;; esac
else
    BIN="$ROOT/.build/debug/consumerd"
fi
# The daemon runs from the repository root so that its default config/... paths resolve.
cd "$ROOT" || exit 2
PY=(python3 "$ROOT/scripts/monitoring/monitoring.py")
START=$(date +%s)

PROMETHEUS_BIN="${PROMETHEUS_BIN:-$(command -v prometheus || true)}"
ALERTMANAGER_BIN="${ALERTMANAGER_BIN:-$(command -v prometheus-alertmanager || command -v alertmanager || true)}"
for need in "$BIN" "$PROMETHEUS_BIN" "$ALERTMANAGER_BIN"; do
    if [ -z "$need" ] || [ ! -x "$need" ]; then
        echo "stack-test: missing executable '${need:-prometheus/prometheus-alertmanager}'" \
            "(build consumerd; apt-get install prometheus prometheus-alertmanager)" >&2
        echo "stack-test: 0 passed, 1 failed"
        exit 1
    fi
done
command -v python3 >/dev/null || { echo "stack-test: python3 missing" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/consumerd-stack.XXXXXX")"
PIDS=()
CONSUMERD_PID=""

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "stack-test: kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "PASS  $*"; }
ko() { failed=$((failed + 1)); echo "FAIL  $*"; }
# check NAME CMD...: runs CMD, indents its output, counts the result.
check() {
    local name="$1" out rc
    shift
    out="$("$@" 2>&1)"
    rc=$?
    if [ "$rc" -eq 0 ]; then ok "$name"; else ko "$name (exit $rc)"; fi
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/      /'
    return "$rc"
}
finish() {
    echo "stack-test: $passed passed, $failed failed ($(($(date +%s) - START)) s)"
    [ "$failed" -eq 0 ]
    exit $?
}
abort() {
    ko "$*"
    for log in "$TMP"/*.log; do
        [ -f "$log" ] || continue
        echo "---- last lines of $(basename "$log")"
        tail -n 20 "$log"
    done
    finish
}
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ----------------------------------------------------------------------------- consumerd
METRICS_PORT_WANTED="$(free_port)"
(
    unset KAFKA_BOOTSTRAP_SERVERS
    export METRICS_HOST=127.0.0.1 METRICS_PORT="$METRICS_PORT_WANTED" DEMO_SPEEDUP=20 \
        KAFKA_STATISTICS_INTERVAL_MS=1000 LOG_LEVEL=info
    exec "$BIN" demo
) >"$TMP/consumerd.out" 2>"$TMP/consumerd.log" &
CONSUMERD_PID=$!
PIDS+=("$CONSUMERD_PID")

METRICS="" BOOTSTRAP=""
deadline=$(($(date +%s) + 60))
while [ -z "$METRICS" ] || [ -z "$BOOTSTRAP" ]; do
    METRICS="$(sed -n 's/^METRICS=//p' "$TMP/consumerd.out" | head -n 1)"
    BOOTSTRAP="$(sed -n 's/^BOOTSTRAP=//p' "$TMP/consumerd.out" | head -n 1)"
    kill -0 "$CONSUMERD_PID" 2>/dev/null || abort "consumerd exited during start-up"
    [ "$(date +%s)" -lt "$deadline" ] || abort "consumerd printed no METRICS=/BOOTSTRAP= within 60 s"
    sleep 0.2
done
ok "consumerd started (pid $CONSUMERD_PID, METRICS=$METRICS, BOOTSTRAP=$BOOTSTRAP)"
check "consumerd /metrics answers" "${PY[@]}" wait-http "http://$METRICS/metrics" 30 || abort "no /metrics"

# --------------------------------------------------------------------- webhook receiver
WEBHOOK_PORT="$(free_port)"
"${PY[@]}" webhook "$WEBHOOK_PORT" "$TMP/webhook.jsonl" >"$TMP/webhook.log" 2>&1 &
PIDS+=("$!")
check "webhook receiver on 127.0.0.1:$WEBHOOK_PORT" "${PY[@]}" wait-http "http://127.0.0.1:$WEBHOOK_PORT/" 15 ||
    abort "webhook receiver did not start"

# ------------------------------------------------------------------------- Alertmanager
AM_PORT="$(free_port)"
mkdir -p "$TMP/alertmanager/data"
"${PY[@]}" rewrite-alertmanager config/alertmanager/alertmanager.yml "$TMP/alertmanager/alertmanager.yml" \
    --webhook "http://127.0.0.1:$WEBHOOK_PORT" --group-wait 1s || abort "rewriting alertmanager.yml"
check "amtool check-config (test copy)" amtool check-config "$TMP/alertmanager/alertmanager.yml"
"$ALERTMANAGER_BIN" --config.file="$TMP/alertmanager/alertmanager.yml" \
    --storage.path="$TMP/alertmanager/data" \
    --web.listen-address="127.0.0.1:$AM_PORT" \
    --cluster.listen-address= >"$TMP/alertmanager.log" 2>&1 &
PIDS+=("$!")
check "alertmanager ready on 127.0.0.1:$AM_PORT" "${PY[@]}" wait-http "http://127.0.0.1:$AM_PORT/-/ready" 30 ||
    abort "alertmanager did not become ready"

# --------------------------------------------------------------------------- Prometheus
PROM_PORT="$(free_port)"
PROM="http://127.0.0.1:$PROM_PORT"
mkdir -p "$TMP/prometheus/rules" "$TMP/prometheus/data"
cp config/prometheus/rules/*.yml "$TMP/prometheus/rules/"
"${PY[@]}" rewrite-alerts config/prometheus/rules/consumerd-alerts.yml "$TMP/prometheus/rules/consumerd-alerts.yml" \
    --for ConsumerDown=5s || abort "rewriting consumerd-alerts.yml"
"${PY[@]}" rewrite-prometheus config/prometheus/prometheus.yml "$TMP/prometheus/prometheus.yml" \
    --consumerd "$METRICS" --prometheus "127.0.0.1:$PROM_PORT" --alertmanager "127.0.0.1:$AM_PORT" \
    --interval 1s || abort "rewriting prometheus.yml"
check "promtool check config (test copy: ports rewritten, 1 s intervals, ConsumerDown for 5s)" \
    promtool check config "$TMP/prometheus/prometheus.yml"
"$PROMETHEUS_BIN" --config.file="$TMP/prometheus/prometheus.yml" \
    --storage.tsdb.path="$TMP/prometheus/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prometheus.log" 2>&1 &
PIDS+=("$!")
check "prometheus ready on 127.0.0.1:$PROM_PORT" "${PY[@]}" wait-http "$PROM/-/ready" 60 ||
    abort "prometheus did not become ready"

# ------------------------------------------------------------------------ scrapes, data
check "scraped: up{job=\"consumerd\"} == 1" "${PY[@]}" wait-query "$PROM" 'up{job="consumerd"} == 1' 60 ||
    abort "consumerd is not scraped"
check "predictions counted" "${PY[@]}" wait-query "$PROM" 'volatility_consumer_predictions_made_total{job="consumerd"} > 0' 90
check "alertmanager discovered by prometheus" "${PY[@]}" wait-query "$PROM" 'prometheus_notifications_alertmanagers_discovered == 1' 30
check "librdkafka statistics scraped (lag_records)" "${PY[@]}" wait-query "$PROM" 'volatility_consumer_lag_records{job="consumerd"}' 60

printf '%s\n' '{"product_id":"BTC-USD","price":"abc","ts":1762932011.6}' >"$TMP/malformed.ndjson"
check "inject one malformed record (consumerd replay)" \
    "$BIN" replay "$TMP/malformed.ndjson" --bootstrap-servers "$BOOTSTRAP"
check "dead letter counted" "${PY[@]}" wait-query "$PROM" 'sum(volatility_consumer_dlq_records_total{job="consumerd"}) > 0' 60
check "recording rules evaluated" "${PY[@]}" wait-query "$PROM" 'job:volatility_consumer_prediction_positive:ratio_rate5m' 30

# ---------------------------------------------------------------------- dashboard panels
echo "panel queries against $PROM/api/v1/query:"
"${PY[@]}" check-panels "$PROM" 30 config/grafana/dashboards/*.json >"$TMP/panels.txt" 2>&1
cat "$TMP/panels.txt"
panel_pass=$(grep -c '^  PASS ' "$TMP/panels.txt")
panel_fail=$(grep -c '^  FAIL ' "$TMP/panels.txt")
if [ $((panel_pass + panel_fail)) -eq 0 ]; then
    ko "no dashboard panels found"
fi
passed=$((passed + panel_pass))
failed=$((failed + panel_fail))

# ------------------------------------------------------------- end to end: ConsumerDown
kill -TERM "$CONSUMERD_PID"
stopped=0
for _ in $(seq 1 300); do
    if ! kill -0 "$CONSUMERD_PID" 2>/dev/null; then stopped=1; break; fi
    sleep 0.1
done
if [ "$stopped" = 1 ]; then
    wait "$CONSUMERD_PID"
    rc=$?
    if [ "$rc" -eq 0 ]; then ok "consumerd stopped on SIGTERM (exit 0)"; else ko "consumerd exit status $rc after SIGTERM"; fi
else
    ko "consumerd still running 30 s after SIGTERM"
fi
check "ConsumerDown firing at the webhook receiver with its labels" \
    "${PY[@]}" wait-alert "$TMP/webhook.jsonl" ConsumerDown 90 \
    job=consumerd instance="$METRICS" severity=critical monitor=consumerd

finish
