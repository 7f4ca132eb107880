#!/usr/bin/env bash
# Two (or more) consumerd builds as B, interleaved on ONE preloaded mock cluster: the way to see a change of a few
# per cent on this machine, where the same binary's CPU per catch-up moves by ±15 % from run to run and a
# throughput.sh run taken half an hour later says more about the machine than about the change.
#
#   BINS="old:/path/to/old/consumerd new:.build-bench/release/consumerd" scripts/bench/compare-b.sh
#
# Build the old one from a worktree, e.g. `git worktree add /tmp/old <commit>` and
# `swift build -c release --scratch-path /tmp/old/.build-bench --product consumerd` there.
# Environment: BINS (required), ROUNDS (6), RECORDS (300000), PARTITIONS (64), EXTRA (more VAR=value for every run).
# Output: one line per run (records/s, process CPU seconds, peak RSS, minor page faults, the cluster's CPU seconds, the four busiest threads' CPU
# seconds) and the medians per build; raw lines in scripts/bench/results/compare-b-<time>.txt.
source "$(dirname "$0")/lib.sh"

[ -n "${BINS:-}" ] || { echo "set BINS=\"name:/path/consumerd name2:/path2/consumerd\"" >&2; exit 2; }
RECORDS="${RECORDS:-300000}"
PARTITIONS="${PARTITIONS:-64}"
ROUNDS="${ROUNDS:-6}"
RAW="$RESULTS/compare-b-$(date +%Y%m%d-%H%M%S).txt"

preloaded_b_cluster "$RECORDS" "$PARTITIONS"
echo "# compare-b records=$RECORDS partitions=$PARTITIONS rounds=$ROUNDS git=$(git -C "$ROOT" rev-parse --short HEAD) bins=$BINS" > "$RAW"
for round in $(seq 1 "$ROUNDS"); do
    for spec in $BINS; do
        name="${spec%%:*}" bin="${spec#*:}"
        b_env "compare-$name-$round-$RANDOM"
        cluster0="$(proc_cpu "$CLUSTER_PID")"
        rm -f "$WORK/compare.err"
        # shellcheck disable=SC2086  # EXTRA is a list of VAR=value words
        env "${B_ENV[@]}" ${EXTRA:-} "$bin" > "$WORK/compare.out" 2> "$WORK/compare.err" &
        pid=$!
        PIDS+=("$pid")
        until line="$(grep -m1 "records=$RECORDS .*caught up" "$WORK/compare.err" 2>/dev/null)"; do
            kill -0 "$pid" 2>/dev/null || { log "$name exited early"; tail -5 "$WORK/compare.err" >&2; exit 1; }
            sleep 0.2
        done
        hwm="$(proc_hwm_kib "$pid")"
        # Minor page faults since the process started (first touches of memory): field 10 of /proc/PID/stat,
        # counted after the "(comm)" field, which may contain spaces.
        faults="$(awk '{ sub(/.*\) /, ""); print $8 }' "/proc/$pid/stat" 2>/dev/null || echo nan)"
        threads="$(thread_cpu "$pid" | awk -F'\t' '{ gsub(/ /, "_", $1); print $1 "=" $2 }' | sort -t= -k2 -nr | head -4 | paste -sd' ')"
        rate="$(sed -n 's/.*records_per_second=\([0-9]*\).*/\1/p' <<< "$line")"
        cpu="$(sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p' <<< "$line")"
        echo "$name round=$round records_per_second=$rate cpu_seconds=$cpu max_rss_kib=$hwm minor_faults=$faults cluster=$(awk -v a="$cluster0" -v b="$(proc_cpu "$CLUSTER_PID")" 'BEGIN { printf "%.2f", b - a }') $threads" | tee -a "$RAW"
        stop_pid "$pid"
    done
done
echo
python3 - "$RAW" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    fields = line.split()
    for kv in fields[2:]:
        key, _, value = kv.partition("=")
        try:
            runs[fields[0]][key].append(float(value))
        except ValueError:
            pass
for name, values in runs.items():
    print(name, " ".join(f"{k}={statistics.median(v):g}" for k, v in values.items() if len(v) == len(values["cpu_seconds"])), "(medians)")
EOF
log "raw runs: $RAW"
