"""The HTML of the "Ozzy exports" page: a table filled by polling ``api/exports`` (no build step).

Kept in a Python module so the wheel carries it without package-data configuration. Links open in
the top window, so from the page embedded in Airflow's UI a task's log replaces the whole UI view.
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Ozzy exports</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px; color: #1a202c; }
  h1 { font-size: 20px; margin: 0 0 8px; }
  #status { color: #4a5568; font-size: 13px; margin-bottom: 10px; }
  #filters a { margin-left: 8px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { border-bottom: 1px solid #e2e8f0; padding: 5px 8px; text-align: left; vertical-align: top; }
  th { background: #f7fafc; position: sticky; top: 0; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  tr.shard td { background: #fafafa; font-size: 12px; }
  tr.shard td.task { padding-left: 24px; }
  .state { border-radius: 4px; padding: 1px 6px; color: #fff; background: #718096; white-space: nowrap; }
  .state-running { background: #38a169; } .state-success { background: #2f855a; }
  .state-failed { background: #c53030; } .state-up_for_retry { background: #d69e2e; }
  .state-queued, .state-scheduled { background: #805ad5; } .state-deferred { background: #6b46c1; }
  .bar { display: inline-block; width: 60px; height: 8px; background: #e2e8f0; margin-right: 4px; }
  .bar span { display: block; height: 8px; background: #3182ce; }
  td.run { font-size: 11px; max-width: 150px; word-break: break-all; }
  .position { font-family: ui-monospace, monospace; font-size: 11px; word-break: break-all; max-width: 320px; }
  .toggle { cursor: pointer; border: 0; background: none; color: #2b6cb0; padding: 0; font: inherit; }
  .empty { color: #718096; padding: 16px 0; }
</style>
</head>
<body>
<h1>Ozzy exports</h1>
<div id="status">Loading...</div>
<div id="filters"></div>
<table id="exports">
<thead><tr>
  <th>DAG</th><th>Run</th><th>Task</th><th>Map index</th><th>Try</th><th>State</th>
  <th>Items read</th><th>Items written</th><th>Progress</th><th>Rate</th><th>ETA</th>
  <th>Committed position</th><th>Bad records</th><th>Files</th><th>Bytes</th><th>Links</th>
</tr></thead>
<tbody></tbody>
</table>
<script>
"use strict";
const ACTIVE = new Set(["running", "restarting", "deferred", "queued", "scheduled", "up_for_retry", "up_for_reschedule"]);
const params = new URLSearchParams(window.location.search);
const marker = window.location.pathname.lastIndexOf("/ozzy/");
const ROOT = marker >= 0 ? window.location.pathname.slice(0, marker) : "";
const opened = new Set();
const enc = encodeURIComponent;

function number(value) { return value === null || value === undefined ? "" : Math.round(value).toLocaleString("en-US"); }
function bytes(value) {
  if (value === null || value === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value, unit = 0;
  while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
  return (unit ? size.toFixed(1) : String(size)) + " " + units[unit];
}
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.max(0, Math.round(seconds));
  return Math.floor(s / 3600) + ":" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
}
function cell(row, cls, text) {
  const td = row.insertCell();
  td.className = cls;
  td.textContent = text;
  return td;
}
function link(td, href, text) {
  const a = document.createElement("a");
  a.href = href; a.target = "_top"; a.textContent = text;
  td.appendChild(a); td.appendChild(document.createTextNode(" "));
}
function taskPath(e) {
  return ROOT + "/dags/" + enc(e.dag_id) + "/runs/" + enc(e.run_id) + "/tasks/" + enc(e.task_id);
}
function fill(tr, e, kind) {
  tr.dataset.dag = e.dag_id; tr.dataset.task = e.task_id; tr.dataset.run = e.run_id;
  tr.dataset.kind = kind; tr.dataset.state = e.state || "";
  const dag = cell(tr, "dag", "");
  link(dag, ROOT + "/dags/" + enc(e.dag_id), e.dag_id);
  link(cell(tr, "run", ""), ROOT + "/dags/" + enc(e.dag_id) + "/runs/" + enc(e.run_id), e.run_id);
  cell(tr, "task", e.task_id);
  if (kind === "sharded") {
    cell(tr, "map_index num", e.shard_count + " shards");
  } else {
    cell(tr, "map_index num", e.map_index >= 0 ? String(e.map_index) : "");
  }
  cell(tr, "try_number num", String(e.try_number));
  const state = cell(tr, "ti_state", "");
  const badge = document.createElement("span");
  badge.className = "state state-" + (e.state || "none"); badge.textContent = e.state || "none";
  state.appendChild(badge);
  if (kind === "sharded") {
    state.appendChild(document.createTextNode(" " + Object.entries(e.states).map(([s, n]) => n + " " + s).join(", ")));
  }
  cell(tr, "items_read num", number(e.items_read));
  cell(tr, "items_written num", number(e.items_written));
  const progress = cell(tr, "progress num", "");
  const fraction = kind === "sharded" ? null : e.fraction;
  if (fraction !== null && fraction !== undefined) {
    const bar = document.createElement("span"); bar.className = "bar";
    const fill = document.createElement("span"); fill.style.width = Math.round(fraction * 100) + "%";
    bar.appendChild(fill); progress.appendChild(bar);
    progress.appendChild(document.createTextNode(Math.round(fraction * 100) + "%"));
  }
  if (e.progress_from_earlier_try) progress.appendChild(document.createTextNode(" (earlier try)"));
  cell(tr, "rate num", e.rate === null ? "" : number(e.rate) + " items/s");
  cell(tr, "eta num", duration(e.eta_seconds));
  cell(tr, "committed_position position", e.committed_position || "");
  cell(tr, "bad_records num", number(e.bad_records));
  cell(tr, "files_written num", number(e.files_written));
  cell(tr, "bytes_written num", bytes(e.bytes_written));
  const links = cell(tr, "links", "");
  if (kind === "sharded") {
    link(links, taskPath(e) + "/mapped", "shards");
  } else {
    const base = taskPath(e) + (e.map_index >= 0 ? "/mapped/" + e.map_index : "");
    link(links, base + "?try_number=" + e.try_number, "log");
    link(links, base + "/xcom", "XCom");
  }
}
function render(entries) {
  const body = document.querySelector("#exports tbody");
  body.replaceChildren();
  if (!entries.length) {
    const tr = body.insertRow();
    const td = cell(tr, "empty", "No Ozzy exports to show" + (params.toString() ? " for this filter." : "."));
    td.colSpan = 16;
  }
  for (const e of entries) {
    const tr = body.insertRow();
    fill(tr, e, e.kind);
    if (e.kind !== "sharded") continue;
    const key = e.dag_id + "|" + e.run_id + "|" + e.task_id;
    const toggle = document.createElement("button");
    toggle.className = "toggle"; toggle.textContent = opened.has(key) ? "\\u25be" : "\\u25b8";
    toggle.onclick = () => { opened.has(key) ? opened.delete(key) : opened.add(key); load(); };
    tr.cells[2].prepend(toggle, " ");
    if (!opened.has(key)) continue;
    for (const shard of e.shards) {
      const row = body.insertRow();
      row.className = "shard";
      fill(row, shard, "shard");
    }
  }
}
function showFilters() {
  const box = document.getElementById("filters");
  const parts = [];
  for (const name of ["dag_id", "task_id"]) if (params.get(name)) parts.push(name + " = " + params.get(name));
  if (!parts.length) return;
  box.textContent = "Filter: " + parts.join(", ");
  const all = document.createElement("a"); all.href = window.location.pathname; all.textContent = "show all";
  box.appendChild(all);
}
let timer = null;
async function load() {
  clearTimeout(timer);
  const query = new URLSearchParams();
  for (const name of ["dag_id", "task_id"]) if (params.get(name)) query.set(name, params.get(name));
  const status = document.getElementById("status");
  let wait = 15000;
  try {
    const response = await fetch("api/exports?" + query.toString(), { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401 || response.status === 403) {
      status.textContent = "Log in to Airflow to see the exports of the DAGs you may read. ";
      link(status, ROOT + "/", "Log in");
      return;
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    const data = await response.json();
    render(data.exports);
    const active = data.exports.some((e) => ACTIVE.has(e.state));
    wait = active ? 2000 : 15000;
    status.textContent = data.exports.length + " export(s), " + (active ? "running; " : "") +
      "updated " + new Date().toLocaleTimeString("en-GB");
    status.dataset.active = String(active);
  } catch (error) {
    status.textContent = "Could not load the exports (" + error.message + "); retrying.";
  }
  timer = setTimeout(load, wait);
}
showFilters();
load();
</script>
</body>
</html>
"""
