#!/usr/bin/env bash
# Where a catch-up waits: A (WHO=a, the passthrough) or B (WHO=b, consumerd) drains a RECORDS backlog as in
# throughput.sh while `perf record -a` samples both cores; then every 50 ms of the run is printed as the share of
# samples that were not the idle task, and stretches of mostly idle time inside the catch-up are listed as gaps.
# A gap with both cores idle means everyone waited on a timer (librdkafka's, the broker's or ours): this is how
# the start-up and prefetch stalls of docs/PERFORMANCE.md "Session 7" were found. Needs linux-perf.
# Environment: WHO (b), RECORDS (300000), PARTITIONS (64), EXTRA ("VAR=value ..." for the process under test).
# Output: scripts/bench/results/timeline-<who>-<time>.txt.
source "$(dirname "$0")/lib.sh"
WHO="${WHO:-b}"
RECORDS="${RECORDS:-300000}"
PARTITIONS="${PARTITIONS:-64}"
STAMP="$(date +%Y%m%d-%H%M%S)"
RAW="$RESULTS/timeline-$WHO-$STAMP.txt"
build
backlog "$RECORDS" >&2
start_cluster "$PARTITIONS" ticks.features bench.a bench.b bench.b.dlq
load_backlog > /dev/null

perf record -e cpu-clock -F 1000 -a -o "$WORK/timeline.data" > /dev/null 2> "$WORK/timeline-perf.err" &
perf_pid=$!; PIDS+=("$perf_pid")
sleep 0.5
read -r -a extra <<< "${EXTRA:-}"
err="$WORK/timeline-$WHO.err"
rm -f "$err"
if [ "$WHO" = a ]; then
    summary="$(env "${extra[@]}" "$PASSTHROUGH" --bootstrap-servers "$BOOTSTRAP" --expect "$RECORDS" --output bench.a \
        --group "timeline-a-$STAMP" 2> "$err")"
else
    b_env "timeline-b-$STAMP"
    env "${extra[@]}" "${B_ENV[@]}" "$CONSUMERD" > /dev/null 2> "$err" &
    pid=$!; PIDS+=("$pid")
    until grep -q "records=$RECORDS .*caught up" "$err" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { log "consumerd exited early"; cat "$err" >&2; exit 1; }
        sleep 0.1
    done
    summary="$(grep -m1 "records=$RECORDS .*caught up" "$err" | grep -o 'cpu_seconds=.*seconds=[0-9.]*')"
    kill -INT "$pid"; wait "$pid" 2>/dev/null || true
fi
kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true

set +o pipefail
{
    echo "# timeline $WHO $STAMP records=$RECORDS partitions=$PARTITIONS extra=${EXTRA:-none} load $(load)"
    echo "# git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
    echo "# $summary"
    echo "# t (s since perf started): busy share of both cores' samples in that 50 ms; '#' >= 60 %, '+' >= 25 %, '.' below"
    perf script -i "$WORK/timeline.data" -F comm,time 2>/dev/null | awk '
        BEGIN { gapStart = -1; gaps = "" }
        { t = $NF; sub(":", "", t); if (start == "") start = t; b = int((t - start) * 20)
          total[b]++; if ($1 != "swapper") busy[b]++; if (b > last) last = b }
        END {
            # The catch-up: from the first bucket at least 60 % busy to the last one.
            first = -1
            for (b = 0; b <= last; b++) if (total[b] > 0 && busy[b] >= 0.6 * total[b]) { if (first < 0) first = b; end = b }
            line = ""
            for (b = first; b <= end + 1; b++) {
                share = total[b] ? busy[b] / total[b] : 0
                if (b <= end) line = line sprintf("%.2f:%s ", b / 20, share >= 0.6 ? "#" : (share >= 0.25 ? "+" : "."))
                if (share < 0.25 && b <= end) { if (gapStart < 0) gapStart = b }
                else if (gapStart >= 0) { gaps = gaps sprintf("%.2f-%.2f s (%d ms) ", gapStart / 20, b / 20, (b - gapStart) * 50); gapStart = -1 }
            }
            print line
            printf "catch-up %.2f-%.2f s; idle gaps inside it: %s\n", first / 20, (end + 1) / 20, gaps == "" ? "none" : gaps
        }'
} > "$RAW"
cat "$RAW"
log "timeline: $RAW"
