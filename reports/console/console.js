// The operator's console: draws what the server says (scenarios/run/operator_console.py, live; or
// scenarios/run/console_replay.py, a saved run) and nothing else. Every text goes in as text, never as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const BOX_W = 170, BOX_H = 86, GAP_X = 34, GAP_Y = 18;
let W = 1200, H = 560;  // the drawing's size, from the graph's columns (drawGraph)
const CHARTS = {
  "chart-dns": { title: "DNS and leases", series: { dns_regional_addresses: "DynamoDB record: addresses", dwfm_leases: "DWFM: leases held" } },
  "chart-load": { title: "DynamoDB and EC2, per second", series: { dynamodb_arrivals: "DynamoDB arrivals", dynamodb_completed: "DynamoDB goodput", ec2_api_completed: "EC2 API goodput" } },
  "chart-backlog": { title: "Backlogs", series: { netmgr_queue: "Network Manager backlog", lambda_poller_backlog: "Lambda poller backlog" } },
};
const page = { info: null, shapes: [], points: 0, traces: {}, second: 0 };
window.__console = page;

function el(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawGraph(graph) {
  const svg = document.getElementById("graph");
  const columns = new Set(graph.nodes.map((n) => n.x));
  const tallest = Math.max(1, ...[...columns].map((x) => graph.nodes.filter((n) => n.x === x).length));
  W = Math.max(1200, columns.size * (BOX_W + GAP_X) + 40);
  H = Math.max(420, (tallest + 1) * (BOX_H + GAP_Y));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const defs = el("defs");
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
  marker.appendChild(el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#888" }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  const at = {};
  for (const node of graph.nodes) at[node.id] = { x: 20 + node.x * (W - BOX_W - 40), y: node.y * H - BOX_H / 2 };
  for (const [from, to] of graph.edges) {
    const a = at[from], b = at[to];
    if (!a || !b) continue;
    const leftToRight = a.x <= b.x;
    const x1 = leftToRight ? a.x + BOX_W : a.x, x2 = leftToRight ? b.x : b.x + BOX_W;
    const y1 = a.y + BOX_H / 2, y2 = b.y + BOX_H / 2, bend = (x2 - x1) / 2;
    const path = el("path", { class: "edge", d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, "marker-end": "url(#arrow)" });
    if (a.x === b.x) path.setAttribute("d", `M ${a.x + BOX_W / 2} ${a.y + BOX_H} L ${b.x + BOX_W / 2} ${b.y}`);
    svg.appendChild(path);
  }
  for (const node of graph.nodes) {
    const g = el("g", { class: "node idle", id: `node-${node.id}`, "data-node": node.id, transform: `translate(${at[node.id].x},${at[node.id].y})` });
    g.appendChild(el("title", {}, `${node.label}: ${node.kind}`));
    g.appendChild(el("rect", { width: BOX_W, height: BOX_H }));
    g.appendChild(el("text", { x: 8, y: 16, "font-weight": "600" }, node.label));
    g.appendChild(el("text", { x: 8, y: 30, class: "kind" }, node.kind));
    for (let line = 0; line < 3; line++) g.appendChild(el("text", { x: 8, y: 46 + 13 * line, class: "figures" }, ""));
    svg.appendChild(g);
  }
}

function figureLines(id, view) {
  if (id === "zone") {
    const addresses = view.addresses;
    if (addresses) return addresses.length ? [addresses.slice(0, 2).join(", "), addresses.slice(2).join(", ")] : ["(no address)"];
    return [view.figures.addresses ? `${view.figures.addresses} addresses` : "(no address)"];
  }
  const f = view.figures || {};
  const lines = [];
  if ("arrivals/s" in f) lines.push(`in ${f["arrivals/s"]}  ok ${f["goodput/s"]}  err ${f["errors/s"]}`);
  if ("queue" in f) lines.push(`queue ${f.queue}  p99 ${f["p99 ms"]} ms`);
  if ("leases" in f) lines.push(`leases ${f.leases}${f.droplets ? " / " + f.droplets : ""}`);
  if ("backlog" in f && !("queue" in f)) lines.push(`backlog ${f.backlog}`);
  if ("killed" in f) lines.push(`killed: ${f.killed}`);
  if ("targets out" in f) lines.push(`targets out: ${f["targets out"]}`);
  return lines.slice(0, 3);
}

function applyStates(second, states) {
  page.second = second;
  for (const [id, view] of Object.entries(states)) {
    const g = document.getElementById(`node-${id}`);
    if (!g) continue;
    g.setAttribute("class", `node ${view.state}`);
    const lines = figureLines(id, view);
    g.querySelectorAll(".figures").forEach((text, k) => { text.textContent = lines[k] || ""; });
  }
  document.getElementById("clock").textContent = `second ${second} of ${page.info.duration}`;
}

function makeCharts() {
  for (const [id, chart] of Object.entries(CHARTS)) {
    const names = Object.keys(chart.series);
    page.traces[id] = names;
    const data = names.map((column) => ({ x: [], y: [], name: chart.series[column], mode: "lines", type: "scatter" }));
    Plotly.newPlot(id, data, { title: { text: chart.title, font: { size: 14 } }, margin: { t: 36, r: 10, b: 30, l: 50 }, xaxis: { title: "second" }, legend: { orientation: "h" } }, { displayModeBar: false, responsive: true });
  }
}

function hideEmptyCharts(series) {
  for (const [id, names] of Object.entries(page.traces)) {
    if (!names.some((c) => c in series)) document.getElementById(id).hidden = true;
  }
}

function extendCharts(second, series) {
  if (page.points === 0) hideEmptyCharts(series);
  for (const [id, names] of Object.entries(page.traces)) {
    const present = names.map((c, k) => [c, k]).filter(([c]) => c in series);
    if (!present.length) continue;
    Plotly.extendTraces(id, { x: present.map(() => [second]), y: present.map(([c]) => [series[c]]) }, present.map(([, k]) => k));
  }
  page.points += 1;
}

function noteEvent(event) {
  const list = document.getElementById("events");
  const item = document.createElement("li");
  const t = document.createElement("span");
  t.className = "t";
  t.textContent = `${event.t.toFixed(1)} s `;
  item.appendChild(t);
  item.appendChild(document.createTextNode(`${event.source}: ${event.message}`));
  if (event.by) {
    const by = document.createElement("span");
    by.className = "by";
    by.textContent = `by ${event.by}`;
    item.appendChild(by);
  }
  item.dataset.kind = event.kind;
  if (event.name) item.dataset.name = event.name;
  list.insertBefore(item, list.firstChild);
  if (event.kind === "record_emptied" && event.name === page.info.record && page.info.mode === "live") {
    // The zone's node at once, not at the next second's row: the record is empty now.
    applyStates(page.second, { zone: { state: "down", figures: { addresses: 0 }, addresses: [] } });
  }
  const shape = shapeOf(event);
  if (shape) {
    page.shapes.push(shape);
    for (const id of Object.keys(CHARTS)) Plotly.relayout(id, { shapes: page.shapes });
  }
}

function shapeOf(event) {
  if (event.kind === "operator_action") {
    return { type: "line", xref: "x", yref: "paper", x0: event.t, x1: event.t, y0: 0, y1: 1, line: { dash: "dash", color: "#36c", width: 1 } };
  }
  if (event.kind === "fault_start") {
    const end = event.end === null || event.end === undefined ? (page.info.duration || event.t + 1) : event.end;
    return { type: "rect", xref: "x", yref: "paper", x0: event.start ?? event.t, x1: end, y0: 0, y1: 1, fillcolor: "rgba(220,60,60,0.10)", line: { width: 0 } };
  }
  return null;
}

function drawControls(controls) {
  const panel = document.getElementById("panel");
  const box = document.getElementById("controls");
  panel.hidden = false;
  for (const control of controls) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.action = control.id;
    button.textContent = control.label;
    button.addEventListener("click", async () => {
      const reply = await fetch("api/action", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ action: control.id }) });
      const said = await reply.json();
      document.getElementById("last-action").textContent = reply.ok ? `${control.label}: taken at ${said.t} s` : `${control.label}: ${said.error}`;
    });
    box.appendChild(button);
  }
}

async function live() {
  const stream = new EventSource("api/stream");
  stream.addEventListener("row", (message) => {
    const frame = JSON.parse(message.data);
    applyStates(frame.second, frame.states);
    extendCharts(frame.second, frame.series);
  });
  stream.addEventListener("event", (message) => noteEvent(JSON.parse(message.data)));
  stream.onerror = () => { document.getElementById("clock").textContent += " (the run has ended, or the connection dropped)"; stream.close(); };
}

async function saved(info) {
  const history = await (await fetch("api/history")).json();
  hideEmptyCharts(history.series);
  for (const [id, names] of Object.entries(page.traces)) {
    const update = { x: [], y: [] };
    const indices = [];
    names.forEach((c, k) => { if (c in history.series) { update.x.push(history.seconds); update.y.push(history.series[c]); indices.push(k); } });
    if (indices.length) Plotly.extendTraces(id, update, indices);
  }
  for (const event of history.events) noteEvent(event);
  const box = document.getElementById("slider-box");
  const slider = document.getElementById("slider");
  box.hidden = false;
  slider.max = String(info.seconds);
  let asked = 0;
  async function show(second) {
    const started = performance.now();
    const ticket = ++asked;
    const view = await (await fetch(`api/at/${second}`)).json();
    if (ticket !== asked) return;  // a later move has been asked for
    applyStates(view.second, view.states);
    document.getElementById("slider-value").textContent = String(view.second);
    const cursor = { type: "line", xref: "x", yref: "paper", x0: view.second, x1: view.second, y0: 0, y1: 1, line: { color: "#111", width: 1 } };
    for (const id of Object.keys(CHARTS)) Plotly.relayout(id, { shapes: [...page.shapes, cursor] });
    page.drawMs = performance.now() - started;
    page.shown = view.second;
  }
  slider.addEventListener("input", () => show(Number(slider.value)));
  await show(1);
}

async function main() {
  const info = await (await fetch("api/info")).json();
  page.info = info;
  document.getElementById("title").textContent = `${info.scenario} (${info.mode === "live" ? "live" : "a saved run"})`;
  document.getElementById("description").textContent = info.description || "";
  drawGraph(info.graph);
  makeCharts();
  if (info.mode === "live") {
    drawControls(info.controls);
    await live();
  } else {
    await saved(info);
  }
}

main();
