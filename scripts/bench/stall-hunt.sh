#!/usr/bin/env bash
# Hunts for catch-ups that stop short: consumerd drains the same RECORDS backlog N times (a fresh group each time,
# on one preloaded mock cluster, as B of throughput.sh) and each run is classed as caught up (it logged "caught up
# records=RECORDS") or stalled (not within DEADLINE seconds). Every fetch-watch restart ("fetching restarted") is
# counted: a restart in a healthy run is a false alarm; a run that catches up only after one is a stall the watch
# repaired. The logs of such runs are kept in $WORK. docs/PERFORMANCE.md "Session 8".
# Environment: N (50), RECORDS (300000), PARTITIONS (64), DEADLINE (90 s; the watch's window is 30 s),
# EXTRA ("VAR=value ..." for consumerd, e.g. MAX_INFLIGHT=300 for back-pressure pauses).
# Output: scripts/bench/results/stall-hunt-<time>.txt.
source "$(dirname "$0")/lib.sh"
N="${N:-50}"
RECORDS="${RECORDS:-300000}"
PARTITIONS="${PARTITIONS:-64}"
DEADLINE="${DEADLINE:-90}"
STAMP="$(date +%Y%m%d-%H%M%S)"
OUT="$RESULTS/stall-hunt-$STAMP.txt"
read -r -a extra <<< "${EXTRA:-}"

build
preloaded_b_cluster "$RECORDS" "$PARTITIONS"
{
    echo "# stall-hunt $STAMP runs=$N records=$RECORDS partitions=$PARTITIONS deadline=${DEADLINE}s extra=${EXTRA:-none} load $(load)"
    echo "# git: $(git -C "$ROOT" rev-parse --short HEAD)"
} > "$OUT"
ok=0; repaired=0; stalled=0; restarts=0
for i in $(seq 1 "$N"); do
    err="$WORK/stall-hunt-$i.err"
    b_env "hunt-$STAMP-$i"
    env "${extra[@]}" "${B_ENV[@]}" "$CONSUMERD" > /dev/null 2> "$err" &
    pid=$!
    caught=0
    for _ in $(seq 1 $((DEADLINE * 10))); do
        if grep -q "records=$RECORDS .*caught up" "$err" 2> /dev/null; then caught=1; break; fi
        sleep 0.1
    done
    r="$(grep -c "fetching restarted" "$err" || true)"
    restarts=$((restarts + r))
    rate="$(grep -o 'records_per_second=[0-9]*' "$err" | tail -1)"
    if [ "$caught" = 1 ] && [ "$r" = 0 ]; then
        ok=$((ok + 1)); verdict=ok
    elif [ "$caught" = 1 ]; then
        repaired=$((repaired + 1)); verdict=repaired; cp "$err" "$WORK/stall-hunt-$STAMP-repaired-$i.err"
    else
        stalled=$((stalled + 1)); verdict=STALLED; cp "$err" "$WORK/stall-hunt-$STAMP-stalled-$i.err"
    fi
    echo "run=$i $verdict restarts=$r $rate" | tee -a "$OUT" >&2
    kill -INT "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
done
echo "runs=$N caught_up=$ok repaired_by_the_watch=$repaired stalled=$stalled restarts=$restarts" | tee -a "$OUT"
