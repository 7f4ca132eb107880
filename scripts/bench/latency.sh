#!/usr/bin/env bash
# End-to-end latency under fixed load (issue 7, §3). For each profile and rate: a fresh mock cluster, consumerd
# (waits for /readyz), the LatencyProbe (Benchmarks/Sources/LatencyProbe, HdrHistogram) on the prediction topic,
# and `consumerd replay --rate R --loop` for DURATION seconds (event times = send times). Reported per run:
#   probe ack:     output record's CreateTime − input send time (ms resolution; ≈ the delivery-report bound)
#   probe arrival: probe receive time − input send time (adds the probe's own fetch)
#   daemon:        volatility_consumer_end_to_end_seconds (input Kafka timestamp → delivery report), bucket bounds
#
# Profiles (consumerd's PERFORMANCE_PROFILE):
#   throughput  producer linger.ms=5, consumer fetch.wait.max.ms=50 (the default)
#   latency     producer linger.ms=0, consumer fetch.wait.max.ms=1
# The replay producer runs with linger.ms=0 in both, so no batching delay is added before consumerd. The source is the
# throughput backlog file (the bundled ticks under many product ids, 16 partitions): one product on one partition
# would overflow the mock's ~5 MiB partition retention at 50k/s and lose records.
#
# Per rate, a baseline run without consumerd measures the broker leg alone: the same replay into a fresh mock
# cluster, the probe reading the *input* topic (arrival = probe receive time − the input's CreateTime). It is the
# floor under every consumerd figure at that rate, since each input crosses that leg before consumerd sees it.
#
# Environment: RATES ("1000 10000 50000"), PROFILES ("throughput latency"), DURATION (20 s), SKIP (5 s of
# warm-up not recorded), BASELINE (1: run the broker-leg baseline), SKIP_BUILD=1.
source "$(dirname "$0")/lib.sh"

RATES="${RATES:-1000 10000 50000}"
PROFILES="${PROFILES:-throughput latency}"
DURATION="${DURATION:-20}"
SKIP="${SKIP:-5}"
STAMP="$(date +%Y%m%d-%H%M%S)"
RAW="$RESULTS/latency-$STAMP.txt"
build
echo "# latency $STAMP rates=$RATES profiles=$PROFILES duration=${DURATION}s skip=${SKIP}s git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)" > "$RAW"
backlog 300000 >&2
SOURCE="$PRELOAD"

profile_env() {
    echo "PERFORMANCE_PROFILE=$1"
}

# histogram_quantile BODY Q : upper bucket bound holding quantile Q of volatility_consumer_end_to_end_seconds.
histogram_quantile() {
    awk -v q="$2" '
        /^volatility_consumer_end_to_end_seconds_bucket/ {
            match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
            n++; les[n] = le; counts[n] = $NF
        }
        END {
            total = counts[n]; if (total == 0) { print "n/a"; exit }
            for (i = 1; i <= n; i++) if (counts[i] >= q * total) { printf "<=%s ms\n", (les[i] == "+Inf" ? "inf" : les[i] * 1000); exit }
        }' <<< "$1"
}

# The broker leg alone, per rate: replay → mock cluster → probe on the input topic, no consumerd.
if [ "${BASELINE:-1}" = 1 ]; then
    for rate in $RATES; do
        log "baseline (no consumerd) rate=$rate (load $(load))"
        start_cluster 16 ticks.features
        "$PROBE" --bootstrap-servers "$BOOTSTRAP" --topic ticks.features --seconds $((DURATION + 10)) \
            --skip-seconds "$SKIP" > "$WORK/probe.out" 2> "$WORK/probe.err" &
        probe=$!; PIDS+=("$probe")
        sleep 1
        KAFKA_PRODUCER_CONF_LINGER_MS=0 "$CONSUMERD" replay "$SOURCE" --rate "$rate" --loop \
            --count $((rate * DURATION)) --bootstrap-servers "$BOOTSTRAP" > "$WORK/replay.out" 2> "$WORK/replay.err" || true
        wait "$probe" || true
        {
            echo "## profile=broker-leg rate=$rate load=$(load) $(cat "$WORK/replay.out") mock_cpu_seconds=$(proc_cpu "$CLUSTER_PID")"
            sed "s/^/   /" "$WORK/probe.out"
        } | tee -a "$RAW" >&2
        stop_pid "$CLUSTER_PID"
    done
fi

# share_within BODY LE : fraction of volatility_consumer_end_to_end_seconds observations in the bucket le=LE
# (input Kafka timestamp → delivery report ≤ LE seconds): exact for that bound, unlike interpolated quantiles.
share_within() {
    awk -v le="$2" '
        /^volatility_consumer_end_to_end_seconds_bucket/ && index($0, "le=\"" le "\"") { b = $NF }
        /^volatility_consumer_end_to_end_seconds_count/ { n = $NF }
        END { if (n > 0) printf "%.4f\n", b / n; else print "n/a" }' <<< "$1"
}

for profile in $PROFILES; do
    for rate in $RATES; do
        log "profile=$profile rate=$rate (load $(load))"
        start_cluster 16 ticks.features ticks.predictions ticks.features.dlq
        out="$WORK/lat-daemon.out"
        env $(profile_env "$profile") METRICS_PORT=0 METRICS_HOST=127.0.0.1 KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
            KAFKA_GROUP_ID="bench-lat-$STAMP" LOG_LEVEL=warning MODEL_PATH="$MODEL" \
            "$CONSUMERD" > "$out" 2> "$WORK/lat-daemon.err" &
        daemon=$!; PIDS+=("$daemon")
        metrics=""
        for _ in $(seq 1 200); do metrics="$(sed -n 's/^METRICS=//p' "$out" | head -n1)"; [ -n "$metrics" ] && break; sleep 0.05; done
        for _ in $(seq 1 300); do curl -sf "http://$metrics/readyz" > /dev/null && break; sleep 0.05; done
        "$PROBE" --bootstrap-servers "$BOOTSTRAP" --seconds $((DURATION + 10)) --skip-seconds "$SKIP" \
            > "$WORK/probe.out" 2> "$WORK/probe.err" &
        probe=$!; PIDS+=("$probe")
        sleep 1
        KAFKA_PRODUCER_CONF_LINGER_MS=0 "$CONSUMERD" replay "$SOURCE" --rate "$rate" --loop \
            --count $((rate * DURATION)) --bootstrap-servers "$BOOTSTRAP" > "$WORK/replay.out" 2> "$WORK/replay.err" || true
        wait "$probe" || true
        body="$(curl -s "http://$metrics/metrics")"
        cpu="$(proc_cpu "$daemon")"; rss="$(proc_rss_kib "$daemon")"
        {
            echo "## profile=$profile rate=$rate load=$(load) $(cat "$WORK/replay.out")"
            sed "s/^/   /" "$WORK/probe.out"
            echo "   DAEMON p50 $(histogram_quantile "$body" 0.5) p99 $(histogram_quantile "$body" 0.99) p99.9 $(histogram_quantile "$body" 0.999) within_5ms=$(share_within "$body" 0.005) cpu_seconds=$cpu rss_kib=$rss mock_cpu_seconds=$(proc_cpu "$CLUSTER_PID")"
            grep '^volatility_consumer_end_to_end_seconds' <<< "$body" | sed "s/^/   /"
        } | tee -a "$RAW" >&2
        stop_pid "$daemon"
        stop_pid "$CLUSTER_PID"
    done
done

{
    echo
    echo "| run | rate/s | p50 ms | p99 ms | p99.9 ms | max ms | samples | daemon: delivered ≤ 5 ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    echo "(broker-leg: input CreateTime → probe receives the input, no consumerd; profiles: input send time → prediction's CreateTime)"
    awk '/^## profile=/ { split($2, p, "="); split($3, r, "="); prof = p[2]; rate = r[2] }
         (prof == "broker-leg" && /LATENCY kind=arrival/) || (prof != "broker-leg" && /LATENCY kind=ack/) {
             for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
             line = sprintf("| %s | %s | %s | %s | %s | %s | %s |", prof, rate, v["p50_ms"], v["p99_ms"], v["p999_ms"], v["max_ms"], v["count"])
             if (prof == "broker-leg") print line " — |"; else pending = line }
         /DAEMON / && pending != "" { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "within_5ms") w = kv[2] }
             print pending " " w " |"; pending = "" }' "$RAW"
} | tee -a "$RAW"
log "raw runs: $RAW"
