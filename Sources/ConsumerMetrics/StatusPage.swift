//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
// GET /: one self-contained page (inline CSS and JavaScript, no external
// resource, so it works offline) that reads GET /status every 2 s, and GET
// /model where the daemon serves it. Panels of absent data stay hidden.
// Every figure carries its raw value in `data-value` for tests.
//
//===----------------------------------------------------------------------===//

enum StatusPage {
    static let html: [UInt8] = Array(source.utf8)

    static let source = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>consumerd status</title>
<style>
  :root { --bg:#0f1419; --panel:#182029; --text:#d8dee6; --muted:#8a97a6; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; flex-wrap:wrap; gap:12px; align-items:baseline; padding:14px 20px; border-bottom:1px solid #2a3440; }
  header h1 { font-size:18px; margin:0; }
  .badge { padding:2px 8px; border-radius:10px; font-size:12px; font-weight:600; background:#2a3440; }
  .badge.ok { background:#1f3d2a; color:var(--ok); } .badge.bad { background:#4a1f1f; color:var(--bad); } .badge.demo { background:#3d3214; color:var(--warn); }
  main { display:grid; grid-template-columns:repeat(auto-fill, minmax(300px, 1fr)); gap:14px; padding:16px 20px; }
  section { background:var(--panel); border-radius:8px; padding:12px 14px; }
  section h2 { font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:0 0 8px; }
  .big { font-size:28px; font-weight:600; font-variant-numeric:tabular-nums; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  td { padding:2px 0; } td.v { text-align:right; }
  .muted { color:var(--muted); font-size:12px; }
  svg { width:100%; height:70px; display:block; }
  .wide { grid-column:1 / -1; }
  [hidden] { display:none !important; }
  code { font-size:12px; word-break:break-all; }
</style>
</head>
<body data-loaded="0">
<header>
  <h1>consumerd</h1>
  <span id="mode" class="badge">…</span>
  <span id="ready" class="badge">…</span>
  <span class="muted">up <span id="uptime" data-value="">…</span></span>
  <span class="muted" id="build"></span>
  <span class="muted" id="error" hidden></span>
</header>
<main>
  <section class="wide">
    <h2>Throughput (last 10 min)</h2>
    <div><span class="big" id="rate" data-value="">–</span> <span class="muted">records/s (10 s window)</span></div>
    <svg id="sparkline" viewBox="0 0 600 70" preserveAspectRatio="none" aria-label="throughput sparkline"><polyline fill="none" stroke="#58a6ff" stroke-width="2" points=""/></svg>
    <div class="muted" id="spark-range"></div>
  </section>
  <section>
    <h2>Records</h2>
    <table>
      <tr><td>processed</td><td class="v" id="processed" data-value="">–</td></tr>
      <tr><td>predictions</td><td class="v" id="predictions" data-value="">–</td></tr>
      <tr><td>in flight</td><td class="v" id="inflight" data-value="">–</td></tr>
      <tr><td>positive rate</td><td class="v" id="positive-rate" data-value="">–</td></tr>
    </table>
  </section>
  <section>
    <h2>Lag</h2>
    <div><span class="big" id="lag-seconds" data-value="">–</span> <span class="muted">seconds</span></div>
    <div class="muted">assigned partitions: <span id="assigned" data-value="">–</span></div>
    <table id="lag-partitions"></table>
  </section>
  <section>
    <h2>Latency</h2>
    <table>
      <tr><td></td><td class="v muted">p50</td><td class="v muted">p99</td></tr>
      <tr><td>processing</td><td class="v" id="proc-p50" data-value="">–</td><td class="v" id="proc-p99" data-value="">–</td></tr>
      <tr><td>end to end</td><td class="v" id="e2e-p50" data-value="">–</td><td class="v" id="e2e-p99" data-value="">–</td></tr>
    </table>
  </section>
  <section>
    <h2>Errors</h2>
    <table id="errors"></table>
  </section>
  <section>
    <h2>Dead letters</h2>
    <table id="dead-letters"></table>
  </section>
  <section>
    <h2>Skips</h2>
    <table id="skips"></table>
  </section>
  <section>
    <h2>Model</h2>
    <table>
      <tr><td>variant</td><td class="v" id="model-variant">–</td></tr>
      <tr><td>version</td><td class="v"><code id="model-version">–</code></td></tr>
      <tr><td>loaded</td><td class="v" id="model-loaded">–</td></tr>
    </table>
  </section>
  <section id="model-lifecycle" hidden>
    <h2>Model lifecycle</h2>
    <table id="model-lifecycle-table"></table>
  </section>
  <section id="daemon" hidden>
    <h2>Daemon</h2>
    <table id="daemon-table"></table>
  </section>
  <section class="wide" id="extra" hidden>
    <h2>More</h2>
    <div id="extra-sections"></div>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const fmtInt = (v) => v == null ? "–" : Math.round(v).toLocaleString("en-US");
const fmtSec = (v) => {
  if (v == null) return "–";
  if (v < 0.001) return (v * 1e6).toFixed(0) + " µs";
  if (v < 1) return (v * 1000).toFixed(v < 0.01 ? 2 : 1) + " ms";
  return v.toFixed(2) + " s";
};
const fmtDuration = (s) => {
  if (s == null) return "–";
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
};
function setFigure(id, value, text) {
  const el = $(id);
  el.dataset.value = value == null ? "" : String(value);
  el.textContent = text;
}
function fillTable(id, object, format) {
  const table = $(id);
  table.replaceChildren();
  for (const [key, value] of Object.entries(object || {})) {
    const row = table.insertRow();
    row.insertCell().textContent = key;
    const cell = row.insertCell();
    cell.className = "v";
    cell.dataset.key = key;
    cell.dataset.value = typeof value === "object" ? JSON.stringify(value) : String(value);
    cell.textContent = format ? format(value) : (typeof value === "object" ? JSON.stringify(value) : String(value));
  }
}
function sparkline(history) {
  const points = (history && history.points) || [];
  const line = document.querySelector("#sparkline polyline");
  if (points.length < 2) { line.setAttribute("points", ""); $("spark-range").textContent = "collecting…"; return; }
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const max = Math.max(1, ...points.map((p) => p[1]));
  line.setAttribute("points", points.map((p) =>
    ((p[0] - t0) / Math.max(1, t1 - t0) * 600).toFixed(1) + "," + (68 - p[1] / max * 64).toFixed(1)).join(" "));
  $("spark-range").textContent = "peak " + fmtInt(max) + " records/s over " + fmtDuration(t1 - t0);
}
function render(s) {
  const mode = s.mode || "unknown";
  $("mode").textContent = mode === "demo" ? "demo (embedded mock cluster)" : mode;
  $("mode").dataset.value = mode;
  $("mode").className = "badge" + (mode === "demo" ? " demo" : "");
  $("ready").textContent = s.ready ? "ready" : "not ready";
  $("ready").className = "badge " + (s.ready ? "ok" : "bad");
  $("ready").title = Object.entries(s.checks || {}).map(([k, v]) => k + ": " + v).join("\n");
  setFigure("uptime", s.uptime_seconds, fmtDuration(s.uptime_seconds));
  const b = s.build || {};
  $("build").textContent = "v" + (b.version || "?") + " · " + (b.revision || "?") + " · librdkafka " + (b.librdkafka || "?");
  const r = s.records || {};
  setFigure("rate", r.rate_per_second, fmtInt(r.rate_per_second));
  setFigure("processed", r.processed, fmtInt(r.processed));
  setFigure("predictions", r.predictions, fmtInt(r.predictions));
  setFigure("inflight", r.inflight, fmtInt(r.inflight));
  sparkline(r.history);
  const p = s.predictions || {};
  setFigure("positive-rate", p.positive_rate, p.positive_rate == null ? "–" : (p.positive_rate * 100).toFixed(2) + " %");
  const lag = s.lag || {};
  setFigure("lag-seconds", lag.seconds, lag.seconds == null ? "–" : lag.seconds.toFixed(1));
  setFigure("assigned", s.assigned_partitions, fmtInt(s.assigned_partitions));
  const partitions = {};
  for (const part of lag.partitions || []) partitions[part.topic + " [" + part.partition + "]"] = part.records;
  fillTable("lag-partitions", partitions, (v) => fmtInt(v) + " records");
  const l = s.latency || {};
  const pr = l.processing_seconds || {}, e2e = l.end_to_end_seconds || {};
  setFigure("proc-p50", pr.p50, fmtSec(pr.p50)); setFigure("proc-p99", pr.p99, fmtSec(pr.p99));
  setFigure("e2e-p50", e2e.p50, fmtSec(e2e.p50)); setFigure("e2e-p99", e2e.p99, fmtSec(e2e.p99));
  fillTable("errors", s.errors, fmtInt);
  fillTable("dead-letters", s.dead_letters, fmtInt);
  fillTable("skips", s.skips, fmtInt);
  const m = s.model || {};
  $("model-variant").textContent = m.variant || "–";
  $("model-version").textContent = m.version || "–";
  $("model-loaded").textContent = m.loaded ? "yes" : "no";
  const sections = Object.assign({}, s.sections || {});
  const daemon = sections.daemon; delete sections.daemon;
  $("daemon").hidden = !daemon;
  if (daemon) fillTable("daemon-table", daemon);
  const extra = $("extra-sections");
  extra.replaceChildren();
  for (const [name, value] of Object.entries(sections)) {
    const title = document.createElement("h2"); title.textContent = name.replace(/_/g, " ");
    const table = document.createElement("table"); table.id = "section-" + name;
    extra.append(title, table);
    fillTable(table.id, value && typeof value === "object" && !Array.isArray(value) ? value : { value: value });
  }
  $("extra").hidden = Object.keys(sections).length === 0;
}
function renderModel(model) {
  $("model-lifecycle").hidden = !model;
  if (!model) return;
  // GET /model: {"active": {variant, version, source, ...}, "shadow": {...} | null, "fallback": {enabled, active, reason}, ...}
  const active = model.active || model;
  const shown = {};
  for (const key of ["variant", "version", "source"]) if (active[key] != null) shown[key] = active[key];
  const f = model.fallback;
  if (f && typeof f === "object") shown.fallback = f.active ? "active" + (f.reason ? " (" + f.reason + ")" : "") : (f.enabled ? "armed" : "off");
  shown.shadow = model.shadow ? (model.shadow.variant + " " + (model.shadow.version || "")).trim() : "none";
  if (model.set_by) shown["set by"] = model.set_by;
  if (model.loaded_at) shown["loaded at"] = model.loaded_at;
  fillTable("model-lifecycle-table", Object.keys(shown).length ? shown : model);
}
async function refresh() {
  try {
    const response = await fetch("status", { cache: "no-store" });
    if (!response.ok) throw new Error("/status answered " + response.status);
    render(await response.json());
    $("error").hidden = true;
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded) + 1);
  } catch (error) {
    $("error").hidden = false;
    $("error").textContent = "cannot reach the daemon: " + error.message;
  }
  try {
    const response = await fetch("model", { cache: "no-store" });
    renderModel(response.status === 200 ? await response.json() : null);
  } catch (error) {
    renderModel(null);
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""#
}
