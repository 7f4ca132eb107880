#!/usr/bin/env bash
# Deployment checks of consumerd (a tier of scripts/test; SKIP_DEPLOY=1 skips it there):
#   1. static: hadolint on the Dockerfile, yamllint on deploy/ and config/alertmanager/, kubernetes-validate
#      (strict) on the core objects, the PodMonitor and PrometheusRule against the vendored prometheus-operator
#      CRD schemas (and a misspelt copy that must fail), the PrometheusRule in sync with config/prometheus/rules/,
#      every runbook_url from config/prometheus/runbook-base-url, the Alertmanager route fragment merged into a
#      root configuration (amtool check-config, routes test);
#   2. the Debian package: scripts/package (release build, static Swift stdlib, Depends from dpkg-shlibdeps),
#      `dpkg -i`, the service user, `systemd-analyze verify` of the installed unit, `consumerd --version`,
#      the demo from `/` as the service user (predictions counted, /readyz 200), the runbook_url anchors in
#      the installed RUNBOOK.md, `dpkg -r` (binary gone).
# Needs root (dpkg -i), python3-venv, dpkg-dev, systemd, prometheus-alertmanager (amtool); the PyPI tools are
# installed by scripts/ensure-deploy-tools. SKIP_PACKAGE=1 runs only the static part; SKIP_BUILD=1 reuses the
# last release build. Prints one line per check and "deploy-checks: N passed, M failed".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 2
START=$(date +%s)
TMP="$(mktemp -d "${TMPDIR:-/tmp}/consumerd-deploy.XXXXXX")"
DEMO_PID=""
cleanup() {
    if [ -n "$DEMO_PID" ]; then
        kill -TERM "$DEMO_PID" 2>/dev/null
        for _ in $(seq 1 300); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DEMO_PID" 2>/dev/null
        wait "$DEMO_PID" 2>/dev/null
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "deploy-checks: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

passed=0
failed=0
check() {
    local name="$1" out rc
    shift
    out="$("$@" 2>&1)"
    rc=$?
    if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); echo "PASS  $name"; else failed=$((failed + 1)); echo "FAIL  $name (exit $rc)"; fi
    if [ -n "$out" ] && { [ "$rc" -ne 0 ] || [ "${VERBOSE:-0}" = 1 ]; }; then printf '%s\n' "$out" | sed 's/^/      /'; fi
    return "$rc"
}
# fails: passes when the command fails (a broken input must be rejected).
fails() { ! "$@"; }
finish() {
    echo "deploy-checks: $passed passed, $failed failed ($(($(date +%s) - START)) s)"
    [ "$failed" -eq 0 ]
    exit $?
}

BIN="$(scripts/ensure-deploy-tools)" || { echo "FAIL  scripts/ensure-deploy-tools"; failed=1; finish; }
PY="$BIN/python"

# ------------------------------------------------------------------------------------------------ static
check "hadolint Dockerfile" "$BIN/hadolint" --no-color Dockerfile
YAMLLINT_CONFIG='{extends: default, rules: {line-length: {max: 130}, document-start: disable, truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}, indentation: {indent-sequences: whatever}}}'
check "yamllint deploy/ config/alertmanager/" "$BIN/yamllint" --strict -d "$YAMLLINT_CONFIG" \
    deploy/kubernetes/configmap.yaml deploy/kubernetes/secret.yaml deploy/kubernetes/deployment.yaml \
    deploy/kubernetes/service.yaml deploy/kubernetes/podmonitor.yaml deploy/kubernetes/kustomization.yaml \
    deploy/kubernetes/prometheusrule.yaml config/alertmanager/
check "kubernetes-validate --strict (ConfigMap, Secret, Deployment, Service)" "$BIN/kubernetes-validate" --strict \
    deploy/kubernetes/configmap.yaml deploy/kubernetes/secret.yaml deploy/kubernetes/deployment.yaml \
    deploy/kubernetes/service.yaml
sed 's/^\(\s*\)terminationGracePeriodSeconds:/\1terminationGracePeriodSecond:/' deploy/kubernetes/deployment.yaml >"$TMP/bad-deployment.yaml"
check "kubernetes-validate rejects a misspelt Deployment field" fails "$BIN/kubernetes-validate" --strict "$TMP/bad-deployment.yaml"
check "PodMonitor and PrometheusRule against the vendored CRD schemas (v0.93.0)" \
    "$PY" scripts/deploy/validate-crs.py deploy/kubernetes/crds deploy/kubernetes/podmonitor.yaml deploy/kubernetes/prometheusrule.yaml
sed 's/targetLabel: job/targetLable: job/' deploy/kubernetes/podmonitor.yaml >"$TMP/bad-podmonitor.yaml"
check "CRD schema check rejects a misspelt PodMonitor field" fails "$PY" scripts/deploy/validate-crs.py deploy/kubernetes/crds "$TMP/bad-podmonitor.yaml"
check "PrometheusRule in sync with config/prometheus/rules/ (scripts/deploy/prometheusrule --check)" \
    scripts/deploy/prometheusrule --check
check "every runbook_url from config/prometheus/runbook-base-url (scripts/deploy/runbook-urls --check)" \
    scripts/deploy/runbook-urls --check
# The shutdown budget (17 s, StreamProcessorOptions.shutdownBudgetSeconds; the service group allows 19 s):
# both service managers wait longer before they kill.
budget_ok() {
    local budget stop grace
    budget=$(cat Sources/consumerd/*.swift | sed -n 's/.*maximumGracefulShutdownDuration = .seconds(Int(processorOptions.shutdownBudgetSeconds.rounded(.up)) + \([0-9]*\)).*/\1/p' | head -n 1)
    [ -n "$budget" ] || { echo "service group grace (maximumGracefulShutdownDuration) not found in Sources/consumerd"; return 1; }
    budget=$((17 + budget))
    stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' deploy/systemd/consumerd.service)
    grace=$(sed -n 's/^ *terminationGracePeriodSeconds: \([0-9]*\)$/\1/p' deploy/kubernetes/deployment.yaml)
    echo "group grace ${budget}s, TimeoutStopSec=${stop}s, terminationGracePeriodSeconds=${grace}"
    # max(flush 6 s, one log-end look-up call 2 s) + close 10 s + 1 s.
    grep -q 'Double(max(shutdownFlushTimeoutMs, LogEndQuery.callTimeoutMs)) / 1000 + consumerCloseTimeoutSeconds + 1' Sources/StreamConsumer/StreamProcessorOptions.swift &&
        grep -q 'static var callTimeoutMs: Int32 { 2_000 }' Sources/StreamConsumer/RDKafka/LogEndQuery.swift &&
        grep -q 'shutdownFlushTimeoutMs: Int32 = 6000' Sources/StreamConsumer/StreamProcessorOptions.swift &&
        grep -q 'consumerCloseTimeoutSeconds: Double = 10' Sources/StreamConsumer/StreamProcessorOptions.swift ||
        { echo "shutdown budget changed: update the 17 s in docs/RUNBOOK.md, the unit and the Deployment"; return 1; }
    [ -n "$stop" ] && [ -n "$grace" ] && [ "$stop" -gt "$budget" ] && [ "$grace" -gt "$budget" ]
}
check "TimeoutStopSec and terminationGracePeriodSeconds above the shutdown budget" budget_ok
am_fragment() {
    "$PY" scripts/deploy/merge-route.py config/alertmanager/consumerd-route.yml >"$TMP/am-merged.yml" &&
        amtool check-config "$TMP/am-merged.yml" &&
        amtool config routes test --config.file="$TMP/am-merged.yml" --verify.receivers=consumerd-critical \
            service=consumerd severity=critical alertname=ConsumerDown &&
        amtool config routes test --config.file="$TMP/am-merged.yml" --verify.receivers=consumerd-warning \
            service=consumerd severity=warning alertname=ConsumerLagging &&
        amtool config routes test --config.file="$TMP/am-merged.yml" --verify.receivers=platform-default \
            service=other severity=critical alertname=ConsumerDown
}
check "Alertmanager route fragment merged into a root config (amtool check-config, routes test)" am_fragment

if [ "${SKIP_PACKAGE:-0}" = 1 ]; then
    echo "SKIP  Debian package (SKIP_PACKAGE=1)"
    finish
fi

# ------------------------------------------------------------------------------------------------ package
if [ "$(id -u)" -ne 0 ]; then
    check "root for dpkg -i (run as root or SKIP_PACKAGE=1)" false
    finish
fi
build_start=$(date +%s)
if ! check "scripts/package (release build, static Swift stdlib, dpkg-shlibdeps, dpkg-deb)" \
    bash -c "scripts/package '$TMP/dist' >'$TMP/package.out' 2>'$TMP/package.log' || { tail -n 30 '$TMP/package.log'; exit 1; }"; then
    finish
fi
echo "      package built in $(($(date +%s) - build_start)) s: $(tail -n 1 "$TMP/package.log")"
DEB="$(tail -n 1 "$TMP/package.out")"
check "Depends derived by dpkg-shlibdeps names librdkafka1 and libc6" \
    bash -c "dpkg-deb -f '$DEB' Depends | tee /dev/stderr | grep -q 'librdkafka1' && dpkg-deb -f '$DEB' Depends | grep -q 'libc6'"
check "package contents" bash -c "dpkg-deb -c '$DEB' | awk '{print \$6}' | grep -xE '\\./(usr/bin/consumerd|usr/share/consumerd/models/xgb-volatility-5feat.json|usr/share/consumerd/models/baseline.json|usr/share/consumerd/demo/coinbase-btc-usd-ticker.ndjson|etc/consumerd/consumerd.env|lib/systemd/system/consumerd.service|usr/share/doc/consumerd/RUNBOOK.md)' | wc -l | grep -qx 7"

# dpkg's lock may be held by another apt/dpkg run for a while: wait for it rather than fail.
dpkg_retry() {
    local i out
    for i in $(seq 1 60); do
        if out="$("$@" 2>&1)"; then printf '%s\n' "$out"; return 0; fi
        printf '%s\n' "$out" | grep -q 'lock' || { printf '%s\n' "$out"; return 1; }
        sleep 2
    done
    printf '%s\n' "$out"
    return 1
}
check "dpkg -i $(basename "$DEB")" dpkg_retry dpkg -i "$DEB" || finish
check "service user consumerd created (system account, no login shell)" \
    bash -c 'getent passwd consumerd | grep -q ":/usr/sbin/nologin$" && [ "$(id -u consumerd)" -lt 1000 ]'
check "unit not enabled or started by the package" \
    bash -c '! systemctl is-enabled consumerd.service 2>/dev/null | grep -qx enabled && ! pgrep -u consumerd -x consumerd'
check "/etc/consumerd/consumerd.env readable by root and group consumerd only" \
    bash -c '[ "$(stat -c %a:%U:%G /etc/consumerd/consumerd.env)" = 640:root:consumerd ]'
check "systemd-analyze verify /lib/systemd/system/consumerd.service" \
    bash -c 'out=$(systemd-analyze verify /lib/systemd/system/consumerd.service 2>&1); rc=$?; printf "%s\n" "$out"; [ $rc -eq 0 ] && ! printf "%s\n" "$out" | grep -i "consumerd.service"'
want_version="$(sed -n 's/^ *static let version = "\([^"]*\)".*/\1/p' Sources/consumerd/Consumerd.swift | head -n 1)"
check "consumerd --version exits 0 and prints $want_version" \
    bash -c "out=\$(cd / && /usr/bin/consumerd --version) && echo \"\$out\" && echo \"\$out\" | grep -qF '$want_version'"

# The demo from / as the service user: the data files must come from /usr/share/consumerd.
# `consumerd demo` where the binary has it, else the embedded default of plain `consumerd` (no bootstrap).
# (`help demo` exits 0 either way: the subcommand exists when its own usage line is printed.)
demo_cmd=(/usr/bin/consumerd)
if (cd / && /usr/bin/consumerd help demo 2>&1 | grep -q '^USAGE: consumerd demo'); then demo_cmd+=(demo); fi
echo "      demo command: ${demo_cmd[*]} (from /, as user consumerd)"
(
    cd / || exit 1
    exec env -u KAFKA_BOOTSTRAP_SERVERS -u MODEL_PATH -u BASELINE_PATH -u DEMO_TICKS_PATH \
        METRICS_HOST=127.0.0.1 METRICS_PORT=0 DEMO_SPEEDUP=20 KAFKA_STATISTICS_INTERVAL_MS=1000 \
        setpriv --reuid=consumerd --regid=consumerd --init-groups "${demo_cmd[@]}"
) >"$TMP/demo.out" 2>"$TMP/demo.log" &
DEMO_PID=$!
demo_up() {
    local metrics="" deadline=$(($(date +%s) + 120))
    while [ -z "$metrics" ]; do
        metrics="$(sed -n 's/^METRICS=//p' "$TMP/demo.out" | head -n 1)"
        kill -0 "$DEMO_PID" 2>/dev/null || { echo "demo exited"; tail -n 20 "$TMP/demo.log"; return 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { echo "no METRICS= line within 120 s"; tail -n 20 "$TMP/demo.log"; return 1; }
        sleep 0.2
    done
    echo "$metrics" >"$TMP/metrics-address"
    python3 scripts/monitoring/monitoring.py wait-http "http://$metrics/readyz" 120 || return 1
    # Predictions made (delivered) with the bundled model from /usr/share/consumerd.
    deadline=$(($(date +%s) + 120))
    while :; do
        body="$(curl -fsS "http://$metrics/metrics" 2>/dev/null)"
        made="$(printf '%s\n' "$body" | sed -n 's/^volatility_consumer_predictions_made_total \([0-9.e+]*\)$/\1/p')"
        if [ -n "$made" ] && python3 -c "import sys; sys.exit(0 if float('$made') > 0 else 1)"; then
            echo "/readyz 200, predictions_made_total $made"
            printf '%s\n' "$body" | grep '^volatility_consumer_model_info' | head -n 1
            printf '%s\n' "$body" | grep -q 'path="/usr/share/consumerd/models/' || { echo "model not loaded from /usr/share/consumerd"; return 1; }
            return 0
        fi
        [ "$(date +%s)" -lt "$deadline" ] || { echo "no prediction within 120 s"; tail -n 20 "$TMP/demo.log"; return 1; }
        sleep 0.5
    done
}
check "demo from / as user consumerd: ready, predictions made, model from /usr/share/consumerd" demo_up
# Stopped here, not inside check (which runs its command in a subshell that cannot wait for the daemon).
kill -TERM "$DEMO_PID" 2>/dev/null
for _ in $(seq 1 300); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DEMO_PID" 2>/dev/null && kill -KILL "$DEMO_PID"   # still running after 30 s: fails below (137)
wait "$DEMO_PID"
demo_rc=$?
DEMO_PID=""
check "demo stops on SIGTERM with exit 0 (exit status $demo_rc)" test "$demo_rc" -eq 0
check "runbook_url anchors resolve in the installed /usr/share/doc/consumerd/RUNBOOK.md" \
    python3 scripts/monitoring/monitoring.py runbooks config/prometheus/runbook-base-url /usr/share/doc/consumerd/RUNBOOK.md \
    config/prometheus/rules/*.yml
echo "      installed size: $(dpkg-query -W -f='${Installed-Size}' consumerd) KiB (dpkg-query Installed-Size); .deb $(du -k "$DEB" | cut -f1) KiB"
check "dpkg -r consumerd" dpkg_retry dpkg -r consumerd
check "binary and unit gone after dpkg -r" bash -c '[ ! -e /usr/bin/consumerd ] && [ ! -e /lib/systemd/system/consumerd.service ]'
# Purge too, so the machine is left as it was (the service user stays, as Debian practice has it).
check "dpkg -P consumerd removes the conffile" bash -c 'dpkg -P consumerd >/dev/null && [ ! -e /etc/consumerd/consumerd.env ]'
finish
