"""Merges config/alertmanager/consumerd-route.yml into a minimal root Alertmanager configuration, as its
header tells an operator to: prints the merged YAML (scripts/deploy/check.sh runs amtool on it)."""

import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as f:
    fragment = yaml.safe_load(f)
assert set(fragment) == {"route", "receivers", "inhibit_rules"}, f"unexpected top-level keys {sorted(fragment)}"
root = {
    "route": {"receiver": "platform-default", "group_by": ["alertname"], "routes": [fragment["route"]]},
    "receivers": [{"name": "platform-default"}] + fragment["receivers"],
    "inhibit_rules": fragment["inhibit_rules"],
}
yaml.safe_dump(root, sys.stdout, sort_keys=False)
