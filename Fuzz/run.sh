#!/usr/bin/env bash
# Fuzzes the FeaturePipeline record decoder and model loader with libFuzzer (+ AddressSanitizer).
#
#   Fuzz/run.sh [seconds-per-target]            default 30; both targets, one after the other
#   FUZZ_TARGETS="records" Fuzz/run.sh 600       only the record target
#   FUZZ_RUNS=10000000 Fuzz/run.sh 3600          stop each target after N inputs (or the time, first)
#   FEATURE_PIPELINE_SOURCES=dir FUZZ_WORK=dir   fuzz other sources / keep the build and corpus elsewhere
#   FUZZ_SANITIZERS=fuzzer                       without AddressSanitizer (faster, for long runs)
#
# Needs only the Swift toolchain (swiftc -sanitize=fuzzer): the FeaturePipeline sources are compiled
# together with Fuzz/*.swift into one binary (`import Crypto` is replaced by Fuzz/CryptoShim.swift), cached
# in .build/fuzz/ by a hash of its inputs. Seeds: Tests/Fixtures/hostile, the Coinbase fixture's first lines,
# Fuzz/seeds/; the growing corpus lives in .build/fuzz/corpus/<target>. A crash, an invariant violation
# (abort), a timeout (> 10 s for one input) or running out of memory saves the input as
# .build/fuzz/artifacts/<target>-crash-… and counts as a failure. Prints `fuzz: P passed, F failed` last and
# exits non-zero when anything failed.
set -uo pipefail

SECONDS_PER_TARGET="${1:-30}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCES="${FEATURE_PIPELINE_SOURCES:-$ROOT/Sources/FeaturePipeline}"
WORK="${FUZZ_WORK:-$ROOT/.build/fuzz}"
TARGETS="${FUZZ_TARGETS:-records models}"
SWIFTC="${SWIFTC:-swiftc}"
SANITIZERS="${FUZZ_SANITIZERS:-fuzzer,address}"  # "fuzzer" alone runs ~2-3x faster, without memory checks

if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -lt 1 ]; then
    echo "usage: Fuzz/run.sh [seconds-per-target]" >&2
    exit 2
fi
mkdir -p "$WORK/artifacts"

# --- build (cached by the hash of every input file and the compiler version) -------------------------------
inputs=("$SOURCES"/*.swift "$ROOT"/Fuzz/*.swift)
hash="$( { "$SWIFTC" --version 2>&1; echo "$SANITIZERS"; cat "${inputs[@]}"; } | cksum | tr ' ' '-')"
binary="$WORK/bin/fuzz-$hash"
if [ ! -x "$binary" ]; then
    echo "fuzz: building $(basename "$binary") from $SOURCES"
    src="$WORK/src"
    rm -rf "$src" "$WORK/bin"
    mkdir -p "$src" "$WORK/bin"
    for f in "$SOURCES"/*.swift; do
        grep -v '^import Crypto$' "$f" > "$src/$(basename "$f")"
    done
    cp "$ROOT"/Fuzz/*.swift "$src/"
    if ! "$SWIFTC" -O -g -parse-as-library -module-name FuzzFeaturePipeline \
        -sanitize="$SANITIZERS" -swift-version 6 "$src"/*.swift -o "$binary.tmp" >"$WORK/build.log" 2>&1; then
        grep -E 'error' "$WORK/build.log" | head -20
        echo "fuzz: build failed (log $WORK/build.log)"
        echo "fuzz: 0 passed, 1 failed"
        exit 1
    fi
    mv "$binary.tmp" "$binary"
fi

# --- seeds -------------------------------------------------------------------------------------------------
seed_records() {
    local dir="$1"
    mkdir -p "$dir"
    find "$ROOT/Tests/Fixtures/hostile" -type f ! -name manifest.json -size -64k -exec cp {} "$dir/" \;
    local ticks="$ROOT/Tests/Fixtures/coinbase-btc-usd-ticker.ndjson"
    if [ -f "$ticks" ]; then
        head -n 40 "$ticks" | split -l 1 - "$dir/tick-"
        head -n 6 "$ticks" > "$dir/ticks-6-lines"
    fi
    [ -d "$ROOT/Fuzz/seeds/records" ] && cp "$ROOT"/Fuzz/seeds/records/* "$dir/" 2>/dev/null
    return 0
}
seed_models() {
    local dir="$1"
    mkdir -p "$dir"
    cp "$ROOT"/Fuzz/seeds/models/* "$dir/" 2>/dev/null
    [ -f "$ROOT/config/models/baseline.json" ] && cp "$ROOT/config/models/baseline.json" "$dir/"
    return 0
}

# --- run -----------------------------------------------------------------------------------------------------
passed=0
failed=0
for target in $TARGETS; do
    corpus="$WORK/corpus/$target"
    seeds="$WORK/seeds/$target"
    rm -rf "$seeds"
    case "$target" in
        records) seed_records "$seeds"; max_len=4096 ;;
        models) seed_models "$seeds"; max_len=65536 ;;
        *) echo "fuzz: unknown target '$target'"; failed=$((failed + 1)); continue ;;
    esac
    mkdir -p "$corpus"
    log="$WORK/$target.log"
    echo "fuzz: $target for ${SECONDS_PER_TARGET}s (max_len $max_len, log $log)"
    runs=()
    [ -n "${FUZZ_RUNS:-}" ] && runs=("-runs=$FUZZ_RUNS")
    FUZZ_TARGET="$target" ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:${ASAN_OPTIONS:-}" \
        "$binary" "$corpus" "$seeds" \
        -max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -dict="$ROOT/Fuzz/json.dict" -artifact_prefix="$WORK/artifacts/$target-" \
        -print_final_stats=1 "${runs[@]}" >"$log" 2>&1
    status=$?
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    speed="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1)"
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        echo "fuzz: $target passed: ${execs:-?} inputs, ${speed:-?} exec/s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) files"
    else
        failed=$((failed + 1))
        echo "fuzz: $target FAILED (exit $status) after ${execs:-?} inputs; last lines of $log:"
        grep -E 'FUZZ INVARIANT|Fatal error|ERROR: |SUMMARY|Test unit written|^==[0-9]+==|deadly signal|timeout' "$log" | head -20 | sed 's/^/    /'
        tail -n 5 "$log" | sed 's/^/    /'
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
