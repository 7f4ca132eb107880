#!/usr/bin/env bash
# Static checks of consumerd's monitoring-as-code (config/prometheus, config/alertmanager,
# config/grafana, docs/RUNBOOK.md). Needs promtool (Debian package `prometheus`), amtool
# (Debian package `prometheus-alertmanager`) and python3 (standard library only).
#
# Usage: scripts/monitoring/check-config.sh        (from anywhere; works on the repo it lives in)
# Prints one line per check and a final "monitoring-checks: N passed, M failed"; exits non-zero on failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 2
PY="python3 scripts/monitoring/monitoring.py"

passed=0
failed=0
check() {
    local name="$1"
    shift
    local out rc
    out="$("$@" 2>&1)"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS  $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name (exit $rc)"
    fi
    # Tool output only when the check failed (or with VERBOSE=1).
    if [ -n "$out" ] && { [ "$rc" -ne 0 ] || [ "${VERBOSE:-0}" = 1 ]; }; then
        printf '%s\n' "$out" | sed 's/^/      /'
    fi
    return 0
}

for tool in promtool amtool python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "missing $tool (apt-get install prometheus prometheus-alertmanager python3)" >&2
        echo "monitoring-checks: 0 passed, 1 failed"
        exit 1
    fi
done

shopt -s nullglob
tests=(config/prometheus/tests/*.yml)
dashboards=(config/grafana/dashboards/*.json)

check "promtool check config config/prometheus/prometheus.yml" \
    promtool check config config/prometheus/prometheus.yml
for rules in config/prometheus/rules/*.yml; do
    check "promtool check rules (lint) $rules" promtool check rules --lint=all --lint-fatal "$rules"
done
if [ "${#tests[@]}" -gt 0 ]; then
    check "promtool test rules ${tests[*]}" promtool test rules "${tests[@]}"
else
    check "promtool test rules: config/prometheus/tests/*.yml exist" false
fi
check "amtool check-config config/alertmanager/alertmanager.yml" \
    amtool check-config config/alertmanager/alertmanager.yml
for d in "${dashboards[@]}"; do
    check "grafana dashboard structure $d" \
        $PY dashboards config/grafana/provisioning/datasources/prometheus.yml \
        config/grafana/provisioning/dashboards/consumerd.yml "$d"
done
if [ "${#dashboards[@]}" -gt 0 ]; then
    check "grafana dashboards together (unique uids, provisioning)" \
        $PY dashboards config/grafana/provisioning/datasources/prometheus.yml \
        config/grafana/provisioning/dashboards/consumerd.yml "${dashboards[@]}"
else
    check "grafana dashboards exist in config/grafana/dashboards" false
fi
for rules in config/prometheus/rules/*alerts*.yml config/prometheus/rules/consumerd-model-lifecycle.yml \
    config/prometheus/rules/consumerd-model-quality.yml; do
    check "alert annotations and runbook_url -> docs/RUNBOOK.md headings ($rules)" \
        $PY runbooks "$rules" docs/RUNBOOK.md
done

echo "monitoring-checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
