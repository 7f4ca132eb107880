#!/usr/bin/env python3
"""Helpers for consumerd's monitoring checks (Python 3 standard library only).

Used by scripts/monitoring/check-config.sh and scripts/monitoring/stack-test.sh.

Subcommands:
  dashboards DATASOURCES_YML PROVIDER_YML DASHBOARD.json...
      Structural validation of Grafana dashboards: schemaVersion, unique panel ids, importable
      anywhere: `__inputs` names a Prometheus datasource, a `datasource` variable (type datasource)
      and `job`/`instance` query variables exist, every datasource reference is the variable (no
      hard-coded uid anywhere), every target has an expr that selects job="$job" and
      instance=~"$instance" (recording rules aggregated above the instance, `job:...`: $job only).
  runbooks BASE_URL_FILE RUNBOOK_MD RULES_YML...
      Every alert has severity/service="consumerd"/summary/description-with-$value and a
      runbook_url equal to <base URL from BASE_URL_FILE>#<alert name lower-cased>; RUNBOOK.md
      has a heading named exactly as the alert.
  exprs DASHBOARD.json...
      Prints every panel target as "dashboard<TAB>panel id<TAB>title<TAB>refId<TAB>expr"
      with Grafana variables substituted (job: its default, instance: .*).
  rewrite-prometheus SRC DST --consumerd H:P --prometheus H:P --alertmanager H:P [--interval 1s]
  rewrite-alerts SRC DST --for ALERT=DURATION...
  rewrite-alertmanager SRC DST --webhook URL_PREFIX [--group-wait 1s]
  webhook PORT OUT_FILE
      Tiny loopback webhook receiver: appends every POSTed JSON body (one line) to OUT_FILE.
  check-panels PROMETHEUS_URL RETRY_SECONDS [--var NAME=VALUE]... DASHBOARD.json...
      Runs every template variable query (label_values) and every panel target against
      /api/v1/query with the variables substituted (--var values; datasource: the one Prometheus);
      a variable passes when its query offers the --var value, a panel when every one of its
      targets returns a non-empty result. Prints one line per variable and panel and a summary.
  wait-query PROMETHEUS_URL EXPR TIMEOUT_SECONDS
      Waits until the instant query EXPR returns a non-empty result.
  wait-http URL TIMEOUT_SECONDS
      Waits until URL answers 200.
  wait-alert OUT_FILE ALERTNAME TIMEOUT_SECONDS LABEL=VALUE...
      Waits until the webhook file holds a firing ALERTNAME alert carrying the labels.
"""

import http.server
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


# Values used for Grafana's built-in and template variables when a panel query runs outside Grafana.
GRAFANA_VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
    "__interval_ms": "15000",
    "__range_s": "300",
}
TEMPLATE_VARIABLE_DEFAULT = ".*"


def fail(msg):
    print(f"  FAIL: {msg}")


# --------------------------------------------------------------------------- dashboards


def provisioned_datasource_uids(path):
    """The `uid:` values of a Grafana datasource provisioning file (no YAML parser needed)."""
    uids = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\s*(?:-\s+)?uid:\s*['\"]?([^'\"\s#]+)['\"]?\s*(?:#.*)?$", line)
            if m:
                uids.append(m.group(1))
    return uids


def all_panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        for nested in panel.get("panels", []) or []:
            yield nested


DATASOURCE_VARIABLE_UIDS = {"${datasource}", "$datasource"}
BUILTIN_DATASOURCE_UIDS = {"-- Grafana --", "grafana"}
JOB_MATCHER = re.compile(r'job\s*=~?\s*"\$(?:\{job\}|job)"')
INSTANCE_MATCHER = re.compile(r'instance\s*=~\s*"\$(?:\{instance\}|instance)"')
METRIC_NAMES = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")


def datasource_references(node, where="dashboard"):
    """(where, value) of every `datasource` key anywhere in the dashboard JSON."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource":
                yield where, v
            yield from datasource_references(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from datasource_references(v, f"{where}[{i}]")


def validate_dashboard(path, seen_uids):
    errors = []
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        return [f"not valid JSON: {e}"], 0
    if not isinstance(d.get("schemaVersion"), int):
        errors.append("schemaVersion missing or not an integer")
    for key in ("uid", "title"):
        if not isinstance(d.get(key), str) or not d.get(key):
            errors.append(f"{key} missing")
    if d.get("uid") in seen_uids:
        errors.append(f"dashboard uid {d.get('uid')!r} also used by {seen_uids[d.get('uid')]}")
    seen_uids[d.get("uid")] = path
    if "id" in d and d["id"] is not None:
        errors.append("dashboard 'id' must be null/absent for provisioning")

    # UI import: __inputs declares the Prometheus datasource the importer picks.
    inputs = d.get("__inputs")
    if not isinstance(inputs, list) or not any(
        isinstance(i, dict) and i.get("type") == "datasource" and i.get("pluginId") == "prometheus" for i in inputs
    ):
        errors.append("__inputs missing or without a prometheus datasource input")

    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", []) if isinstance(v, dict)}
    dsvar = variables.get("datasource")
    if not dsvar or dsvar.get("type") != "datasource" or dsvar.get("query") != "prometheus":
        errors.append("no template variable 'datasource' of type datasource (query prometheus)")
    for name in ("job", "instance"):
        var = variables.get(name)
        if not var or var.get("type") != "query":
            errors.append(f"no query template variable {name!r}")
    instance_query = json.dumps(variables.get("instance", {}).get("query"))
    if "$job" not in instance_query and "${job}" not in instance_query:
        errors.append("variable 'instance' does not select job=\"$job\"")
    job_default = (variables.get("job", {}).get("current") or {}).get("value")
    if job_default != "consumerd":
        errors.append(f"variable 'job' defaults to {job_default!r}, not the scrape job 'consumerd'")

    # No hard-coded datasource anywhere: every reference is the variable (or Grafana's built-in one).
    for where, ds in datasource_references({k: v for k, v in d.items() if k not in ("__inputs", "__requires")}):
        uid = ds.get("uid") if isinstance(ds, dict) else ds
        if uid in DATASOURCE_VARIABLE_UIDS or uid in BUILTIN_DATASOURCE_UIDS:
            continue
        errors.append(f"{where}: datasource {ds!r} is hard-coded (use {{\"uid\": \"${{datasource}}\"}})")

    ids = {}
    panels = list(all_panels(d))
    if not panels:
        errors.append("no panels")
    for p in panels:
        pid = p.get("id")
        title = p.get("title", "?")
        where = f"panel {pid} {title!r}"
        if not isinstance(pid, int):
            errors.append(f"{where}: id missing or not an integer")
        elif pid in ids:
            errors.append(f"{where}: id {pid} duplicates panel {ids[pid]!r}")
        else:
            ids[pid] = title
        if not isinstance(p.get("gridPos"), dict):
            errors.append(f"{where}: gridPos missing")
        if p.get("type") == "row":
            continue
        if not p.get("type"):
            errors.append(f"{where}: type missing")
        if not isinstance(p.get("datasource"), dict) or p["datasource"].get("uid") not in DATASOURCE_VARIABLE_UIDS:
            errors.append(f"{where}: datasource is not the $datasource variable")
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            errors.append(f"{where}: no targets")
            continue
        refids = set()
        for t in targets:
            ref = t.get("refId")
            if not ref or ref in refids:
                errors.append(f"{where}: target refId {ref!r} missing or duplicated")
            refids.add(ref)
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                errors.append(f"{where} target {ref}: empty expr")
                continue
            selectors = re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*\s*\{[^}]*\}", expr)
            if not selectors:
                errors.append(f"{where} target {ref}: no label selector")
            for sel in selectors:
                if not JOB_MATCHER.search(sel):
                    errors.append(f"{where} target {ref}: {sel} does not select job=\"$job\"")
                # Recording rules aggregated above the instance (level `job:`, `job_variant_role:`, ...: a level
                # without `instance`) have no instance label.
                name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", sel).group(0)
                above_instance = ":" in name and "instance" not in name.split(":", 1)[0].split("_")
                if not above_instance and not INSTANCE_MATCHER.search(sel):
                    errors.append(f"{where} target {ref}: {sel} does not select instance=~\"$instance\"")
    return errors, len(panels)


def cmd_dashboards(args):
    ds_file, provider_file, dashboards = args[0], args[1], args[2:]
    ok = True
    uids = provisioned_datasource_uids(ds_file)
    if len(uids) != 1:
        fail(f"{ds_file}: expected exactly one datasource uid, found {uids}")
        return 1
    with open(provider_file, encoding="utf-8") as f:
        provider = f.read()
    if not re.search(r"^\s*type:\s*file\s*$", provider, re.M) or not re.search(r"^\s*path:\s*\S+", provider, re.M):
        fail(f"{provider_file}: no file provider with a path")
        ok = False
    if not dashboards:
        fail("no dashboard JSON files")
        ok = False
    seen = {}
    for path in dashboards:
        errors, n = validate_dashboard(path, seen)
        if errors:
            ok = False
            print(f"  {path}: {len(errors)} problem(s)")
            for e in errors:
                fail(f"{path}: {e}")
        else:
            print(f"  {path}: ok ({n} panels, every query on $datasource, job=\"$job\", instance=~\"$instance\")")
    return 0 if ok else 1


# ---------------------------------------------------------------------------- runbooks


def parse_alert_rules(path):
    """[(name, block_text)] for each `- alert:` rule, by indentation (no YAML parser needed)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    rules = []
    current = None
    indent = None
    for line in lines:
        m = re.match(r"^(\s*)-\s+(alert|record):\s*(\S+)\s*$", line)
        if m:
            if current:
                rules.append(current)
            current = (m.group(3), []) if m.group(2) == "alert" else None
            indent = len(m.group(1))
            continue
        if current is not None:
            stripped = line.strip()
            if stripped and not stripped.startswith("#") and len(line) - len(line.lstrip()) <= indent:
                rules.append(current)
                current = None
                continue
            current[1].append(line)
    if current:
        rules.append(current)
    return [(name, "\n".join(body)) for name, body in rules]


def github_anchor(heading):
    anchor = heading.strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", anchor)
    return anchor.replace(" ", "-")


def read_base_url(path):
    """The runbook base URL: the first line of BASE_URL_FILE that is not a comment."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                return line
    raise SystemExit(f"{path}: no base URL")


def cmd_runbooks(args):
    base_file, runbook, rule_files = args[0], args[1], args[2:]
    base = read_base_url(base_file)
    with open(runbook, encoding="utf-8") as f:
        headings = [m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", f.read(), re.M)]
    anchors = {github_anchor(h) for h in headings}
    rules = [(path, name, body) for path in rule_files for name, body in parse_alert_rules(path)]
    if not rules:
        fail(f"{rule_files}: no alerts found")
        return 1
    ok = True
    for path, name, body in rules:
        problems = []
        url = re.search(r"^\s*runbook_url:\s*['\"]?([^'\"\s]+)['\"]?\s*$", body, re.M)
        expected = f"{base}#{name.lower()}"
        if not url:
            problems.append("no runbook_url")
        elif url.group(1) != expected:
            problems.append(f"runbook_url {url.group(1)} != {expected} (run scripts/deploy/runbook-urls)")
        elif url.group(1).split("#", 1)[1] not in anchors:
            problems.append(f"anchor #{name.lower()} matches no heading of {runbook}")
        if name not in headings:
            problems.append(f"{runbook} has no heading named exactly {name!r}")
        if not re.search(r"^\s*severity:\s*['\"]?(critical|warning|info)['\"]?\s*$", body, re.M):
            problems.append("severity label missing or not critical/warning/info")
        if not re.search(r"^\s*service:\s*['\"]?consumerd['\"]?\s*$", body, re.M):
            problems.append('label service="consumerd" missing')
        if not re.search(r"^\s*summary:\s*\S", body, re.M):
            problems.append("summary annotation missing")
        desc = re.search(r"^\s*description:\s*(.+)$", body, re.M)
        if not desc or "$value" not in desc.group(1):
            problems.append("description missing or without {{ $value }}")
        if problems:
            ok = False
            for p in problems:
                fail(f"{path}: alert {name}: {p}")
        else:
            print(f"  {name}: runbook #{name.lower()} ok ({path})")
    return 0 if ok else 1


# ------------------------------------------------------------------------------ exprs


def template_defaults(dashboard):
    """Values for a dashboard's template variables outside Grafana: a single-valued variable's default
    (`current.value`, e.g. job=consumerd), else the all-value (.*)."""
    values = {}
    for v in dashboard.get("templating", {}).get("list", []):
        current = (v.get("current") or {}).get("value")
        values[v.get("name")] = current if isinstance(current, str) and current != "$__all" else TEMPLATE_VARIABLE_DEFAULT
    return values


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name in GRAFANA_VARIABLES:
            return GRAFANA_VARIABLES[name]
        if name in values:
            return values[name]
        return m.group(0)

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def load_dashboard(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def panel_targets(path, overrides=None):
    d = load_dashboard(path)
    values = template_defaults(d)
    values.update(overrides or {})
    for p in all_panels(d):
        if p.get("type") == "row":
            continue
        yield d.get("title"), p, [(t.get("refId"), substitute(t.get("expr", ""), values)) for t in p.get("targets", [])]


def variable_queries(path, overrides):
    """(dashboard title, variable, metric selector, label, wanted value) of every label_values() variable."""
    d = load_dashboard(path)
    values = template_defaults(d)
    values.update(overrides)
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", q or "")
        if not m:
            yield d.get("title"), v.get("name"), None, None, None
            continue
        yield d.get("title"), v.get("name"), substitute(m.group(1), values), m.group(2), overrides.get(v.get("name"))


def cmd_exprs(args):
    for path in args:
        for title, p, targets in panel_targets(path):
            for ref, expr in targets:
                print(f"{title}\t{p.get('id')}\t{p.get('title')}\t{ref}\t{expr}")
    return 0


# -------------------------------------------------------------------- config rewriting


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def options(args, multi=()):
    opts, i = {}, 0
    while i < len(args):
        key = args[i].lstrip("-")
        if key in multi:
            opts.setdefault(key, []).append(args[i + 1])
        else:
            opts[key] = args[i + 1]
        i += 2
    return opts


def replace_exactly_once(text, old, new, what):
    n = text.count(old)
    if n != 1:
        raise SystemExit(f"rewrite: expected exactly one {what} ({old!r}), found {n}")
    return text.replace(old, new)


def cmd_rewrite_prometheus(args):
    src, dst, opts = args[0], args[1], options(args[2:])
    text = read(src)
    text = replace_exactly_once(text, "- localhost:8001", f"- {opts['consumerd']}", "consumerd target")
    text = replace_exactly_once(text, "- localhost:9090", f"- {opts['prometheus']}", "prometheus target")
    text = replace_exactly_once(text, "- localhost:9093", f"- {opts['alertmanager']}", "alertmanager target")
    interval = opts.get("interval")
    if interval:
        text, n = re.subn(r"(scrape_interval|evaluation_interval):\s*\S+", rf"\1: {interval}", text)
        text = re.sub(r"scrape_timeout:\s*\S+", f"scrape_timeout: {interval}", text)
        if n < 2:
            raise SystemExit("rewrite: scrape/evaluation intervals not found")
    write(dst, text)
    return 0


def cmd_rewrite_alerts(args):
    src, dst, opts = args[0], args[1], options(args[2:], multi=("for",))
    text = read(src)
    for spec in opts.get("for", []):
        name, duration = spec.split("=", 1)
        pattern = re.compile(rf"(-\s+alert:\s*{re.escape(name)}\s*\n(?:(?!\s*-\s+(?:alert|record):).*\n)*?\s*for:\s*)\S+")
        text, n = pattern.subn(rf"\g<1>{duration}", text)
        if n == 0:
            raise SystemExit(f"rewrite: no 'for:' found for alert {name}")
    write(dst, text)
    return 0


def cmd_rewrite_alertmanager(args):
    src, dst, opts = args[0], args[1], options(args[2:])
    text = read(src)
    text, n = re.subn(r"url:\s*http://[^/\s]+", f"url: {opts['webhook']}", text)
    if n == 0:
        raise SystemExit("rewrite: no webhook url found")
    gw = opts.get("group-wait")
    if gw:
        text = re.sub(r"group_wait:\s*\S+", f"group_wait: {gw}", text)
        text = re.sub(r"group_interval:\s*\S+", f"group_interval: {gw}", text)
    write(dst, text)
    return 0


# ------------------------------------------------------------------------- webhook


def cmd_webhook(args):
    port, out = int(args[0]), args[1]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            try:
                doc = json.loads(body)
            except ValueError:
                doc = {"invalid": body.decode("utf-8", "replace")}
            doc["_path"] = self.path
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps(doc) + "\n")
            self.send_response(200)
            self.end_headers()

        def do_GET(self):  # noqa: N802  (readiness probe)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *a):
            pass

    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
    return 0


# -------------------------------------------------------------------- panel queries


def query(prom, expr):
    url = prom.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.load(r)
    except urllib.error.HTTPError as e:
        try:
            doc = json.load(e)
        except ValueError:
            return None, f"HTTP {e.code}"
    except (OSError, ValueError) as e:
        return None, str(e)
    if doc.get("status") != "success":
        return None, f"{doc.get('errorType')}: {doc.get('error')}"
    result = doc["data"]["result"]
    if doc["data"]["resultType"] == "scalar":
        result = [result]
    return result, None


def cmd_check_panels(args):
    prom, retry, rest = args[0], float(args[1]), args[2:]
    overrides, dashboards = {}, []
    while rest:
        if rest[0] == "--var":
            name, value = rest[1].split("=", 1)
            overrides[name] = value
            rest = rest[2:]
        else:
            dashboards.append(rest[0])
            rest = rest[1:]
    panels = []
    for path in dashboards:
        for dtitle, p, targets in panel_targets(path, overrides):
            panels.append((dtitle, p.get("id"), p.get("title"), targets))
    # The variables first: their queries must offer the values substituted into the panels.
    var_failed = 0
    for dtitle, name, selector, label, wanted in variable_queries_all(dashboards, overrides):
        if selector is None:
            var_failed += 1
            print(f"  FAIL [{dtitle}] variable {name}: query is not label_values(SELECTOR, LABEL)")
            continue
        found, err = wait_label_values(prom, selector, label, wanted, retry)
        good = err is None and (wanted in found if wanted else bool(found))
        var_failed += not good
        print(f"  {'PASS' if good else 'FAIL'} [{dtitle}] variable {name}: label_values({selector}, {label}) = "
              f"{sorted(found) if found else err or 'empty'}{f' (wanted {wanted!r})' if wanted else ''}")
    deadline = time.monotonic() + retry
    status = {}
    while True:
        pending = [pn for pn in panels if status.get((pn[0], pn[1]), (False,))[0] is not True]
        for dtitle, pid, title, targets in pending:
            detail = []
            good = True
            for ref, expr in targets:
                result, err = query(prom, expr)
                if err:
                    good = False
                    detail.append(f"{ref}: error {err}")
                elif not result:
                    good = False
                    detail.append(f"{ref}: empty")
                else:
                    detail.append(f"{ref}: {len(result)} series")
            status[(dtitle, pid)] = (good, detail)
        if all(s[0] for s in status.values()) or time.monotonic() >= deadline:
            break
        time.sleep(2)
    passed = 0
    for dtitle, pid, title, targets in panels:
        good, detail = status[(dtitle, pid)]
        passed += good
        print(f"  {'PASS' if good else 'FAIL'} [{dtitle}] panel {pid} {title!r}: {', '.join(detail)}")
        if not good:
            for ref, expr in targets:
                print(f"       {ref}: {expr}")
    print(f"panels: {len(panels)} panels, {passed} non-empty; variables: {var_failed} failed")
    return 0 if passed == len(panels) and var_failed == 0 else 1


def variable_queries_all(dashboards, overrides):
    for path in dashboards:
        yield from variable_queries(path, overrides)


def wait_label_values(prom, selector, label, wanted, retry):
    deadline = time.monotonic() + retry
    while True:
        result, err = query(prom, selector)
        found = {r.get("metric", {}).get(label) for r in (result or []) if isinstance(r, dict)} - {None}
        if err is None and found and (not wanted or wanted in found):
            return found, None
        if time.monotonic() >= deadline:
            return found, err
        time.sleep(2)


def cmd_wait_alert(args):
    out, name, timeout, want = args[0], args[1], float(args[2]), dict(a.split("=", 1) for a in args[3:])
    deadline = time.monotonic() + timeout
    reported = set()
    lines = []
    while time.monotonic() < deadline:
        try:
            with open(out, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        for line in lines:
            doc = json.loads(line)
            for alert in doc.get("alerts", []):
                labels = alert.get("labels", {})
                if alert.get("status") == "firing" and labels.get("alertname") == name:
                    if all(labels.get(k) == v for k, v in want.items()):
                        print(f"  webhook {doc.get('_path')} received {name}: labels {json.dumps(labels, sort_keys=True)}")
                        print(f"  annotations: {json.dumps(alert.get('annotations', {}), sort_keys=True)}")
                        return 0
                    key = json.dumps(labels, sort_keys=True)
                    if key not in reported:
                        reported.add(key)
                        print(f"  {name} received with unexpected labels {key}")
        time.sleep(0.5)
    print(f"  {name} not received within {timeout:.0f}s ({len(lines)} webhook posts)")
    return 1


def cmd_wait_query(args):
    prom, expr, timeout = args[0], args[1], float(args[2])
    deadline = time.monotonic() + timeout
    err = None
    while True:
        result, err = query(prom, expr)
        if result:
            values = [r.get("value", r)[1] if isinstance(r, dict) else r[1] for r in result][:4]
            print(f"  {expr}: {len(result)} series, values {values}")
            return 0
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    print(f"  {expr}: still {'error ' + err if err else 'empty'} after {timeout:.0f}s")
    return 1


def cmd_wait_http(args):
    url, timeout = args[0], float(args[1])
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return 0
        except (OSError, ValueError) as e:
            last = e
        time.sleep(0.3)
    print(f"  {url} not ready after {timeout:.0f}s: {last}")
    return 1


COMMANDS = {
    "wait-query": cmd_wait_query,
    "wait-http": cmd_wait_http,
    "dashboards": cmd_dashboards,
    "runbooks": cmd_runbooks,
    "exprs": cmd_exprs,
    "rewrite-prometheus": cmd_rewrite_prometheus,
    "rewrite-alerts": cmd_rewrite_alerts,
    "rewrite-alertmanager": cmd_rewrite_alertmanager,
    "webhook": cmd_webhook,
    "check-panels": cmd_check_panels,
    "wait-alert": cmd_wait_alert,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
