// Sonde's dashboard. Every string from the data goes into the page through
// textContent or attributes, never as HTML.
"use strict";

const page = document.getElementById("page");
const statusEl = document.getElementById("status");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v;
    else if (k === "onclick") e.addEventListener("click", v);
    else if (k === "oninput") e.addEventListener("input", v);
    else if (k === "onchange") e.addEventListener("change", v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

function fmt(v) {
  if (v == null || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

function fmtDuration(ns) {
  const ms = ns / 1e6;
  return ms >= 1000 ? (ms / 1000).toFixed(2) + " s" : ms.toFixed(2) + " ms";
}

// A value in its metric's unit (the family's, with "/s" for rates).
function fmtUnit(v, unit) {
  if (v == null || Number.isNaN(v)) return "–";
  const per = unit.endsWith("/s") ? "/s" : "";
  const base = per ? unit.slice(0, -2) : unit;
  const a = Math.abs(v);
  const scaled = (steps, suffix) => {
    for (const [limit, div, name] of steps) if (a < limit) return +(v / div).toPrecision(3) + " " + name + suffix;
    return fmt(v) + suffix;
  };
  if (base === "seconds") {
    if (a === 0) return "0 s" + per;
    return scaled([[1e-6, 1e-9, "ns"], [1e-3, 1e-6, "µs"], [1, 1e-3, "ms"], [Infinity, 1, "s"]], per);
  }
  if (base === "bytes") {
    return scaled([[1024, 1, "B"], [1024 ** 2, 1024, "KiB"], [1024 ** 3, 1024 ** 2, "MiB"], [1024 ** 4, 1024 ** 3, "GiB"], [Infinity, 1024 ** 4, "TiB"]], per);
  }
  if (base === "ratio") return +(v * 100).toPrecision(3) + " %" + per;
  return fmt(v) + (base ? " " + base : "") + per;
}

// The unit a series is drawn in: its family's, per second for counters.
function unitOf(id, familyUnit) {
  if (/_count(\{|$)/.test(id)) return "/s";
  return (familyUnit || "") + (isCounterId(id) ? "/s" : "");
}

function isCounterId(id) {
  return /_total(\{|$)/.test(id) || /_count(\{|$)/.test(id);
}

// Per-second rates for counters: differences over time.
function rates(t, v) {
  const out = [null];
  for (let i = 1; i < v.length; i++) {
    const dt = (t[i] - t[i - 1]) / 1000;
    out.push(v[i] == null || v[i - 1] == null || dt <= 0 ? null : Math.max(0, (v[i] - v[i - 1]) / dt));
  }
  return out;
}

// ---- live updates: one EventSource for the ids on screen -------------------
let stream = null;
const listeners = new Map(); // id -> [fn(t, value)]

function subscribe(id, fn) {
  if (!listeners.has(id)) listeners.set(id, []);
  listeners.get(id).push(fn);
}

function startStream() {
  if (stream) stream.close();
  const ids = [...listeners.keys()].slice(0, 5000);
  if (ids.length === 0) { statusEl.textContent = "idle"; statusEl.className = ""; return; }
  stream = new EventSource("/api/stream?ids=" + encodeURIComponent(JSON.stringify(ids)));
  stream.onopen = () => { statusEl.textContent = "live"; statusEl.className = "live"; };
  stream.onerror = () => { statusEl.textContent = "reconnecting…"; statusEl.className = "down"; };
  stream.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    statusEl.textContent = "live"; statusEl.className = "live";
    for (const [id, value] of Object.entries(msg.v)) {
      for (const fn of listeners.get(id) || []) fn(msg.t, value);
    }
  };
}

function resetPage() {
  listeners.clear();
  if (stream) { stream.close(); stream = null; }
  page.replaceChildren();
}

// ---- charts ---------------------------------------------------------------
function lineChart(container, title, series, opts) {
  // series: [{id, label, t, v}]
  const times = series.length ? series[0].t.map((x) => x / 1000) : [];
  const data = [times, ...series.map((s) => s.v)];
  const width = opts.width || Math.max(320, container.clientWidth - 20 || 640);
  const plot = new uPlot({
    width, height: opts.height || 200, title,
    series: [{}, ...series.map((s, i) => ({
      label: s.label, stroke: `hsl(${(i * 67) % 360} 60% 45%)`, value: (u, v) => fmtUnit(v, opts.unit || ""),
      fill: opts.stacked ? `hsla(${(i * 67) % 360}, 60%, 55%, 0.35)` : undefined, width: 1.5,
    }))],
    axes: opts.sparkline ? [{ show: false }, { show: false }]
      : [{}, { size: 80, values: (u, splits) => splits.map((v) => fmtUnit(v, opts.unit || "")) }],
    legend: { show: !opts.sparkline }, cursor: { show: !opts.sparkline },
    scales: { x: { time: true } },
  }, data, container);
  // What the chart covers, for the eye and for tests.
  const first = times.find((_, i) => series.some((s) => s.v[i] != null));
  container.dataset.from = first == null ? "" : String(first * 1000);
  const lastAt = times.findLastIndex((_, i) => series.some((s) => s.v[i] != null));
  container.dataset.to = lastAt < 0 ? "" : String(times[lastAt] * 1000);
  container.dataset.points = String(series.reduce((n, s) => n + s.v.filter((x) => x != null).length, 0));
  const step = (opts.step || 1000) / 1000;
  const keep = data[0].length + 120;
  return {
    push(seriesIndex, tMs, value) {
      if (opts.live === false) return; // a range in the past stays as it is
      const d = plot.data;
      const t = tMs / 1000;
      const last = d[0].length ? d[0][d[0].length - 1] : null;
      // Live points finer than the range's step replace the newest one.
      if (last == null || t - last >= step) {
        d[0].push(t);
        for (let i = 1; i < d.length; i++) d[i].push(null);
        if (d[0].length > keep) for (const arr of d) arr.shift();
      } else if (t < last) return;
      d[seriesIndex + 1][d[0].length - 1] = value;
      plot.setData(d);
    },
    plot,
  };
}

// ---- time range: one picker in the header for every chart ---------------
const RANGES = { "5m": 5 * 60e3, "15m": 15 * 60e3, "1h": 3600e3, "6h": 6 * 3600e3, "24h": 24 * 3600e3, "7d": 7 * 24 * 3600e3 };

function savedRange() {
  try { return JSON.parse(localStorage.getItem("sonde.range") || "null") || { last: "15m" }; } catch { return { last: "15m" }; }
}

// The range charts show now: {start, end} in Unix ms, live when it ends now.
function rangeNow() {
  const r = savedRange();
  if (r.from && r.to && r.to > r.from) return { start: r.from, end: Math.min(r.to, Date.now()), live: r.to >= Date.now() };
  const end = Date.now();
  return { start: end - (RANGES[r.last] || RANGES["15m"]), end, live: true };
}

function rangePicker() {
  const box = document.getElementById("range");
  const saved = savedRange();
  const select = el("select", { "data-testid": "range-select", title: "time range of every chart" },
    ...[...Object.keys(RANGES), "custom"].map((k) => el("option", { value: k, text: k === "custom" ? "custom…" : "last " + k })));
  select.value = saved.from ? "custom" : (RANGES[saved.last] ? saved.last : "15m");
  const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const from = el("input", { type: "datetime-local", "data-testid": "range-from" });
  const to = el("input", { type: "datetime-local", "data-testid": "range-to" });
  const now = Date.now();
  from.value = local(saved.from || now - 3600e3);
  to.value = local(saved.to || now);
  const apply = el("button", { text: "apply", "data-testid": "range-apply", onclick: () => {
    const f = new Date(from.value).getTime(), t = new Date(to.value).getTime();
    if (!(f < t)) { apply.textContent = "from < to!"; return; }
    localStorage.setItem("sonde.range", JSON.stringify({ from: f, to: t }));
    route();
  } });
  const custom = el("span", {}, from, to, apply);
  const show = () => { custom.style.display = select.value === "custom" ? "" : "none"; };
  select.addEventListener("change", () => {
    show();
    if (select.value !== "custom") { localStorage.setItem("sonde.range", JSON.stringify({ last: select.value })); route(); }
  });
  show();
  box.replaceChildren(select, custom);
}

// A series over the range, downsampled by the server to about `points`
// points (the latest sample within each step).
async function history(id, points = 600) {
  const r = rangeNow();
  const step = Math.max(1000, Math.ceil((r.end - r.start) / points));
  const q = new URLSearchParams({ id, start: String(Math.floor(r.start)), end: String(Math.floor(r.end)), step: String(step) });
  const h = await getJson("/api/history?" + q);
  return { t: h.t, v: h.v, step, live: r.live };
}

// ---- overview ---------------------------------------------------------------
async function overview() {
  const search = el("input", { placeholder: "search metrics", "data-testid": "search", value: localStorage.getItem("sonde.search") || "" });
  const labelFilter = el("input", { placeholder: 'label filter, e.g. route="/api/orders"', "data-testid": "label-filter" });
  const list = el("div", { "data-testid": "families" });
  page.append(el("div", { class: "controls" }, search, labelFilter), list);
  const [{ families }, { samples }] = await Promise.all([getJson("/api/series"), getJson("/api/samples")]);
  const byFamily = new Map();
  for (const s of samples) {
    if (!byFamily.has(s.family)) byFamily.set(s.family, []);
    byFamily.get(s.family).push(s);
  }
  const render = () => {
    resetListenersOnly();
    list.replaceChildren();
    localStorage.setItem("sonde.search", search.value);
    let shown = 0;
    for (const f of families) {
      if (search.value && !f.name.includes(search.value)) continue;
      const rows = (byFamily.get(f.name) || [])
        .filter((s) => !/_bucket\{/.test(s.id))
        .filter((s) => !labelFilter.value || s.id.includes(labelFilter.value));
      if (rows.length === 0 && labelFilter.value) continue;
      const kindSelect = el("select", { "data-testid": "view-kind-" + f.name },
        ...["line", "stacked_area", "gauge", "bar", "heatmap", "single_stat"].map((k) => el("option", { value: k, text: k })));
      const add = el("button", { "data-testid": "add-view-" + f.name, text: "add view", onclick: () => {
        const views = JSON.parse(localStorage.getItem("sonde.views") || "[]").filter((v) => v.metric !== f.name);
        views.push({ metric: f.name, kind: kindSelect.value });
        localStorage.setItem("sonde.views", JSON.stringify(views));
        location.hash = "#/views";
      } });
      const box = el("div", { class: "family", "data-family": f.name },
        el("h3", { text: `${f.name} (${f.kind}, ${f.series} series)` }),
        el("div", { class: "help", text: f.help || "" }),
        el("div", { class: "controls" }, kindSelect, add));
      // A search narrows the page: then up to 1,000 rows per family.
      for (const s of rows.slice(0, search.value || labelFilter.value ? 1000 : 50)) {
        const value = el("span", { class: "value", "data-testid": "value", "data-id": s.id, text: fmt(s.value) });
        const spark = el("div", { class: "spark" });
        const exemplar = s.exemplar_trace
          ? el("a", { class: "link", "data-testid": "exemplar", href: "#/trace/" + s.exemplar_trace, text: "exemplar → trace" })
          : el("span");
        box.append(el("div", { class: "row" }, el("span", { class: "id", text: s.id }), value, spark, exemplar));
        if (shown++ < 1000) {
          subscribe(s.id, (t, v) => { value.textContent = fmt(v); });
          sparkline(spark, s.id);
        }
      }
      list.append(box);
    }
    startStream();
  };
  search.addEventListener("input", render);
  labelFilter.addEventListener("input", render);
  render();
}

function resetListenersOnly() {
  listeners.clear();
}

async function sparkline(container, id) {
  const h = await history(id, 120);
  const v = isCounterId(id) ? rates(h.t, h.v) : h.v;
  const chart = lineChart(container, "", [{ label: id, t: h.t, v }], { width: 120, height: 30, sparkline: true, step: h.step, live: h.live });
  let prev = h.v.length ? { t: h.t[h.t.length - 1], v: h.v[h.v.length - 1] } : null;
  subscribe(id, (t, value) => {
    if (isCounterId(id)) {
      const r = prev && t > prev.t ? Math.max(0, (value - prev.v) / ((t - prev.t) / 1000)) : null;
      prev = { t, v: value };
      chart.push(0, t, r);
    } else chart.push(0, t, value);
  });
}

// ---- views ------------------------------------------------------------------
async function viewsPage() {
  const [{ views }, { samples }, { families }] = await Promise.all([getJson("/api/views"), getJson("/api/samples"), getJson("/api/series")]);
  const units = new Map(families.map((f) => [f.name, f.unit || ""]));
  // A family not received now (history only) has its unit in its name, by Prometheus' conventions.
  const unitFromName = (name) => (/_(seconds|bytes|ratio)$/.exec(name) || [])[1] || "";
  const local = JSON.parse(localStorage.getItem("sonde.views") || "[]");
  const all = [...views.map((v) => ({ ...v, from: "code" })), ...local.map((v) => ({ ...v, from: "browser" }))];
  if (all.length === 0) page.append(el("p", { text: "No views yet: register one in code (register_view) or add one from the metrics page." }));
  for (const view of all) {
    const box = el("div", { class: "view", "data-testid": "view", "data-metric": view.metric });
    const remove = view.from === "browser" ? el("button", { text: "remove", onclick: () => {
      localStorage.setItem("sonde.views", JSON.stringify(local.filter((v) => v.metric !== view.metric)));
      route();
    } }) : null;
    box.append(el("h3", { text: `${view.metric} · ${view.kind} · ${view.from}` }));
    if (remove) box.append(remove);
    page.append(box);
    let rows = samples.filter((s) => s.family === view.metric && !/_bucket\{/.test(s.id));
    // Series with history that are not received now (after a restart, say) still draw.
    const stored = await getJson("/api/history/ids?family=" + encodeURIComponent(view.metric)).catch(() => ({ ids: [] }));
    const have = new Set(rows.map((r) => r.id));
    for (const id of stored.ids) {
      if (!have.has(id) && !/_bucket\{/.test(id)) rows.push({ id, family: view.metric, value: null });
    }
    if (view.kind === "heatmap") {
      await heatmap(box, view.metric, samples);
      rows = rows.filter((s) => s.id.includes('quantile="'));
    }
    rows = rows.slice(0, 20);
    await drawView(box, view, rows, units.get(view.metric) ?? unitFromName(view.metric));
  }
  startStream();
}

// A histogram's buckets over time: one column per point, one row per
// bucket, darker where more observations fell; a click names the bucket
// and links the series' exemplar trace.
async function heatmap(box, family, samples) {
  const buckets = samples.filter((s) => s.family === family && /_bucket\{/.test(s.id));
  if (buckets.length === 0) return;
  const groupOf = (id) => id.replace(/,?le="[^"]*"/, "").replace("{,", "{").replace(",}", "}");
  const group = groupOf(buckets[0].id);
  const le = (id) => { const m = /le="([^"]*)"/.exec(id); return m[1] === "+Inf" ? Infinity : Number(m[1]); };
  const ids = buckets.filter((s) => groupOf(s.id) === group).map((s) => s.id).sort((a, b) => le(a) - le(b));
  const exemplar = samples.find((s) => s.family === family && s.exemplar_trace && groupOf(s.id.replace("_count", "_bucket")) === group);
  const hist = await Promise.all(ids.map((id) => history(id)));
  const columns = []; // per time: cumulative counts per bucket
  for (let t = 0; t < hist[0].t.length; t++) columns.push({ t: hist[0].t[t], cum: hist.map((h) => h.v[t]) });
  const canvas = el("canvas", { width: "800", height: String(14 * ids.length), "data-testid": "heatmap", style: "width:100%;max-width:800px;cursor:crosshair" });
  const info = el("div", { class: "help", "data-testid": "heatmap-cell", text: `${group}: click a cell` });
  box.append(el("div", { class: "id", text: "buckets over time · " + group }), canvas, info);
  const cells = () => {
    const out = [];
    for (let c = 1; c < columns.length; c++) {
      const a = columns[c - 1].cum, b = columns[c].cum;
      out.push(ids.map((_, r) => {
        if (b[r] == null || a[r] == null) return 0;
        const here = b[r] - a[r];
        const below = r === 0 || b[r - 1] == null || a[r - 1] == null ? 0 : b[r - 1] - a[r - 1];
        return Math.max(0, here - below);
      }));
    }
    return out.slice(-120);
  };
  const draw = () => {
    const g = canvas.getContext("2d");
    const data = cells();
    const max = Math.max(1, ...data.flat());
    const w = canvas.width / Math.max(1, data.length), h = canvas.height / ids.length;
    g.clearRect(0, 0, canvas.width, canvas.height);
    data.forEach((col, x) => col.forEach((n, r) => {
      g.fillStyle = `rgba(74, 123, 208, ${n === 0 ? 0.04 : 0.15 + 0.85 * n / max})`;
      g.fillRect(x * w, canvas.height - (r + 1) * h, Math.ceil(w), h - 1);
    }));
  };
  canvas.addEventListener("click", (e) => {
    const rect = canvas.getBoundingClientRect();
    const r = Math.min(ids.length - 1, Math.floor((rect.bottom - e.clientY) / (rect.height / ids.length)));
    const lo = r === 0 ? 0 : le(ids[r - 1]);
    info.replaceChildren(el("span", { text: `bucket (${fmt(lo)}, ${fmt(le(ids[r]))}] of ${group} ` }),
      exemplar ? el("a", { class: "link", "data-testid": "heatmap-exemplar", href: "#/trace/" + exemplar.exemplar_trace, text: "exemplar trace →" }) : el("span", { text: "(no exemplar)" }));
  });
  const pending = new Map();
  ids.forEach((id, r) => subscribe(id, (t, v) => {
    if (!pending.has(t)) pending.set(t, new Array(ids.length).fill(null));
    const cum = pending.get(t);
    cum[r] = v;
    if (cum.every((x) => x != null)) {
      pending.delete(t);
      columns.push({ t, cum });
      if (columns.length > 400) columns.shift();
      draw();
    }
  }));
  draw();
}

async function drawView(box, view, rows, unit) {
  if (view.kind === "single_stat" || view.kind === "gauge") {
    for (const s of rows.slice(0, 4)) {
      const stat = el("div", { class: "stat", "data-testid": "stat", "data-id": s.id, text: fmt(s.value) });
      const range = el("div", { class: "help" });
      let lo = s.value, hi = s.value;
      box.append(el("div", { class: "id", text: s.id }), stat);
      if (view.kind === "gauge") box.append(range);
      subscribe(s.id, (t, v) => {
        stat.textContent = fmt(v);
        lo = Math.min(lo, v); hi = Math.max(hi, v);
        range.textContent = `range ${fmt(lo)} … ${fmt(hi)}`;
      });
    }
    return;
  }
  if (view.kind === "bar") {
    const max = () => Math.max(1e-9, ...rows.map((r) => Math.abs(r.value || 0)));
    for (const s of rows) {
      const fill = el("div", { class: "fill" });
      const label = el("span", { text: fmt(s.value) });
      const update = (v) => { s.value = v; fill.style.width = (200 * Math.abs(v) / max()) + "px"; label.textContent = fmt(v); };
      box.append(el("div", { class: "bar" }, el("span", { class: "id", text: s.id }), fill, label));
      update(s.value);
      subscribe(s.id, (t, v) => update(v));
    }
    return;
  }
  const chartBox = el("div", { "data-testid": "chart" });
  box.append(chartBox);
  const series = [];
  for (const s of rows) {
    const h = await history(s.id);
    series.push({ id: s.id, label: s.id, t: h.t, v: isCounterId(s.id) ? rates(h.t, h.v) : h.v, raw: h });
  }
  if (series.length === 0) { box.append(el("p", { text: "no series yet" })); return; }
  const latest = el("div", { class: "help", "data-testid": "latest" });
  box.append(latest);
  const chartUnit = unitOf(series[0].id, unit);
  const chart = lineChart(chartBox, "", series,
    { stacked: view.kind === "stacked_area", unit: chartUnit, step: series[0].raw.step, live: series[0].raw.live });
  series.forEach((s, i) => {
    let prev = s.raw.t.length ? { t: s.raw.t[s.raw.t.length - 1], v: s.raw.v[s.raw.v.length - 1] } : null;
    subscribe(s.id, (t, v) => {
      let y = v;
      if (isCounterId(s.id)) {
        y = prev && t > prev.t ? Math.max(0, (v - prev.v) / ((t - prev.t) / 1000)) : null;
        prev = { t, v };
      }
      chart.push(i, t, y);
      if (i === 0) { latest.textContent = `latest ${fmtUnit(y, chartUnit)} at ${new Date(t).toLocaleTimeString()}`; latest.dataset.t = String(t); latest.dataset.v = String(v); }
    });
  });
}

// ---- traces -----------------------------------------------------------------
async function tracesPage() {
  const service = el("input", { placeholder: "service", "data-testid": "trace-service" });
  const name = el("input", { placeholder: "name contains", "data-testid": "trace-name" });
  const errors = el("input", { type: "checkbox", "data-testid": "trace-errors" });
  const minMs = el("input", { type: "number", placeholder: "min ms", min: "0", style: "width:6em" });
  const order = el("select", {}, el("option", { value: "latest", text: "latest" }), el("option", { value: "slowest", text: "slowest" }));
  const table = el("table", { "data-testid": "traces" });
  const load = async () => {
    const q = new URLSearchParams({ service: service.value, name: name.value, errors: String(errors.checked), min_duration_ms: minMs.value || "0", order: order.value, limit: "100" });
    const { traces } = await getJson("/api/traces?" + q);
    table.replaceChildren(el("tr", {}, ...["trace", "service", "spans", "duration", "status"].map((h) => el("th", { text: h }))));
    for (const t of traces) {
      table.append(el("tr", { class: "clickable", "data-testid": "trace-row", onclick: () => { location.hash = "#/trace/" + t.trace_id; } },
        el("td", { text: t.name }), el("td", { text: t.service }), el("td", { text: String(t.spans) }),
        el("td", { text: fmtDuration(t.duration_nanos) }), el("td", { class: t.error ? "error" : "", text: t.error ? "error" : "ok" })));
    }
  };
  for (const c of [service, name, errors, minMs, order]) c.addEventListener("change", load);
  page.append(el("div", { class: "controls" }, service, name, el("label", {}, errors, " errors only"), minMs, order,
    el("button", { text: "refresh", onclick: load })), table);
  await load();
}

async function tracePage(id) {
  const data = await getJson("/api/traces/" + encodeURIComponent(id));
  const spans = data.spans;
  const start = Math.min(...spans.map((s) => Number(s.span.startTimeUnixNano)));
  const end = Math.max(...spans.map((s) => Number(s.span.endTimeUnixNano)));
  const total = Math.max(1, end - start);
  const depth = new Map();
  const byId = new Map(spans.map((s) => [s.span.spanId, s]));
  const level = (s) => {
    if (depth.has(s.span.spanId)) return depth.get(s.span.spanId);
    const parent = s.span.parentSpanId && byId.get(s.span.parentSpanId);
    const d = parent && parent !== s ? Math.min(20, level(parent) + 1) : 0;
    depth.set(s.span.spanId, d);
    return d;
  };
  const details = el("div", { class: "details", "data-testid": "span-details", text: "click a span for its attributes, events and status" });
  const fall = el("div", { class: "waterfall", "data-testid": "waterfall" });
  // A time axis: offsets from the trace's start at fifths of its length.
  const ticks = el("div", { class: "ticks", "data-testid": "waterfall-axis" },
    ...[0, 0.2, 0.4, 0.6, 0.8, 1].map((f) => el("span", { class: "tick", style: `left:${100 * f}%`, text: fmtDuration(f * total) })));
  fall.append(el("div", { class: "axis" }, el("span", { text: "span · service" }), ticks));
  for (const s of spans) {
    const sp = s.span;
    const left = (100 * (Number(sp.startTimeUnixNano) - start)) / total;
    const width = Math.max(0.2, (100 * (Number(sp.endTimeUnixNano) - Number(sp.startTimeUnixNano))) / total);
    const failed = sp.status && (sp.status.code === 2 || sp.status.code === "STATUS_CODE_ERROR");
    const took = Number(sp.endTimeUnixNano) - Number(sp.startTimeUnixNano);
    const block = el("div", { class: "block" + (failed ? " failed" : ""), style: `left:${left}%;width:${width}%` });
    // The duration right of the bar, or left of it near the end.
    const after = left + width;
    const dur = el("span", { class: "dur", "data-testid": "span-duration", text: fmtDuration(took),
      style: after < 85 ? `left:${after}%` : `right:${100 - left}%;padding-right:4px` });
    const label = el("span", { text: "\u00a0".repeat(2 * level(s)) + sp.name + " · " + s.service, style: "overflow-wrap:anywhere" });
    fall.append(el("div", { class: "span", "data-testid": "span", onclick: () => {
      details.replaceChildren(
        el("strong", { text: sp.name }),
        el("div", { text: `duration ${fmtDuration(Number(sp.endTimeUnixNano) - Number(sp.startTimeUnixNano))} · status ${failed ? "error" : (sp.status ? "ok" : "unset")}${sp.status && sp.status.message ? ": " + sp.status.message : ""}` }),
        el("pre", { text: "attributes " + JSON.stringify(sp.attributes || [], null, 1) }),
        el("pre", { text: "events " + JSON.stringify(sp.events || [], null, 1) }));
    } }, label, el("div", { class: "track" }, block, dur)));
  }
  const events = el("div", { "data-testid": "trace-events" }, el("h3", { text: `events (${data.events.length})` }),
    ...data.events.map((e) => el("div", { class: "event" }, el("span", { class: "sev-" + e.severity, text: e.severity }), el("span", { text: e.name }), el("span", { class: "help", text: JSON.stringify(e.fields) }))));
  const exemplars = el("div", { "data-testid": "trace-exemplars" }, el("h3", { text: `metric exemplars (${data.exemplars.length})` }),
    ...data.exemplars.map((x) => el("div", {}, el("span", { text: `${x.family} ${JSON.stringify(x.labels)} = ${fmt(x.value)}` }))));
  page.append(el("h2", { text: "trace " + id }), fall, details, events, exemplars);
}

// ---- events -----------------------------------------------------------------
async function eventsPage() {
  const severity = el("select", { "data-testid": "event-severity" }, ...["", "DEBUG", "INFO", "WARN", "ERROR"].map((s) => el("option", { value: s, text: s || "any severity" })));
  const text = el("input", { placeholder: "text", "data-testid": "event-text" });
  const list = el("div", { "data-testid": "events" });
  const load = async () => {
    const q = new URLSearchParams({ severity: severity.value, q: text.value, limit: "200" });
    const { events } = await getJson("/api/events?" + q);
    list.replaceChildren(...events.reverse().map((e) => el("div", { class: "event", "data-testid": "event" },
      el("span", { text: new Date(Number(e.timeUnixNano) / 1e6).toLocaleTimeString() }),
      el("span", { class: "sev-" + e.severity, text: e.severity }),
      el("span", { text: e.name }),
      el("span", { class: "help", text: JSON.stringify(e.fields) + " " + JSON.stringify(e.labels) }),
      e.traceId ? el("a", { class: "link", "data-testid": "event-trace", href: "#/trace/" + e.traceId, text: "trace →" }) : null)));
  };
  severity.addEventListener("change", load);
  text.addEventListener("input", load);
  page.append(el("div", { class: "controls" }, severity, text, el("button", { text: "refresh", onclick: load })), list);
  await load();
  const timer = setInterval(() => { if (location.hash.startsWith("#/events")) load(); else clearInterval(timer); }, 2000);
}

// ---- routing ------------------------------------------------------------------
async function route() {
  resetPage();
  const hash = location.hash || "#/";
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", hash.startsWith(a.getAttribute("href")) && (a.getAttribute("href") !== "#/" || hash === "#/"));
  try {
    if (hash.startsWith("#/trace/")) await tracePage(hash.slice("#/trace/".length));
    else if (hash.startsWith("#/traces")) await tracesPage();
    else if (hash.startsWith("#/views")) await viewsPage();
    else if (hash.startsWith("#/events")) await eventsPage();
    else await overview();
  } catch (e) {
    page.append(el("p", { class: "error", text: String(e) }));
  }
}

window.addEventListener("hashchange", route);
rangePicker();
route();
