#!/usr/bin/env bash
# Rolling restart of four consumerd instances in one group at 5k records/s, for the three group setups side by
# side (eager, cooperative-sticky, static membership): records replayed by state rebuilds, duplicates, longest
# time with no output, restart timings. Runs RollingRestartTests (Tests/IntegrationTests/RollingRestartTests.swift)
# with ROLLING_ALL_SETUPS=1; ROLLING_ROUNDS (default 3) restarts of every instance; ROLLING_PARTITIONS overrides
# the partition count. SKIP_BUILD=1 skips `swift build --build-tests`. About 5 minutes per setup and round count 3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RESULTS="${RESULTS:-$ROOT/scripts/bench/results}"
WORK="${WORK:-$ROOT/scripts/bench/work}"
mkdir -p "$RESULTS" "$WORK"
STAMP="$(date +%Y%m%d-%H%M%S)"
RAW="$RESULTS/rolling-restart-$STAMP.txt"
cd "$ROOT"
[ "${SKIP_BUILD:-0}" = 1 ] || swift build --build-tests
echo "# rolling restart $STAMP rounds=${ROLLING_ROUNDS:-3} load=$(cut -d' ' -f1-3 /proc/loadavg)" > "$RAW"
status=0
ROLLING_ALL_SETUPS=1 ROLLING_ROUNDS="${ROLLING_ROUNDS:-3}" swift test --skip-build --filter RollingRestartTests \
    >> "$WORK/rolling-restart-$STAMP.log" 2>&1 || status=$?
tr -d '\0' < "$WORK/rolling-restart-$STAMP.log" | grep -a -E '^rolling restart \[|✘|passed after|failed after' | tee -a "$RAW"
echo "figures: $RAW; full log: $WORK/rolling-restart-$STAMP.log" >&2
exit "$status"
