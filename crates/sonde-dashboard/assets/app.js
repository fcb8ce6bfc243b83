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

// Seconds as Prometheus writes durations: 90 → "1m30s".
function fmtSeconds(sec) {
  let rest = Math.round(sec * 1000);
  if (rest === 0) return "0s";
  let out = "";
  for (const [unit, ms] of [["d", 86400e3], ["h", 3600e3], ["m", 60e3], ["s", 1e3], ["ms", 1]]) {
    if (rest >= ms) { out += Math.floor(rest / ms) + unit; rest %= ms; }
  }
  return out;
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

// Refreshes of the page on screen (PromQL views, alerts), stopped when it changes.
const timers = [];

function every(ms, fn) {
  timers.push(setInterval(fn, ms));
}

function resetPage() {
  listeners.clear();
  while (timers.length) clearInterval(timers.pop());
  if (stream) { stream.close(); stream = null; }
  page.replaceChildren();
}

// ---- charts ---------------------------------------------------------------
function lineChart(container, title, series, opts) {
  // series: [{id, label, t, v}]. Stacked charts draw running sums (each
  // series on the ones before it, the band between filled) and show each
  // series' own value in the legend.
  const times = series.length ? series[0].t.map((x) => x / 1000) : [];
  const raw = series.map((s) => s.v.slice());
  const data = [times, ...series.map((s) => s.v.slice())];
  const stackAt = (idx) => {
    let sum = 0;
    raw.forEach((v, i) => {
      if (v[idx] != null) sum += v[idx];
      data[i + 1][idx] = v[idx] == null ? null : sum;
    });
  };
  if (opts.stacked) times.forEach((_, idx) => stackAt(idx));
  const color = (i, alpha) => alpha ? `hsla(${(i * 67) % 360}, 60%, 55%, ${alpha})` : `hsl(${(i * 67) % 360} 60% 45%)`;
  const width = opts.width || Math.max(320, container.clientWidth - 20 || 640);
  const plot = new uPlot({
    width, height: opts.height || 200, title,
    series: [{}, ...series.map((s, i) => ({
      label: s.label, stroke: color(i), width: 1.5,
      value: (u, v, si, idx) => fmtUnit(opts.stacked && idx != null ? raw[si - 1][idx] : v, opts.unit || ""),
      fill: opts.stacked && i === 0 ? color(i, 0.35) : undefined,
    }))],
    bands: opts.stacked ? series.slice(1).map((_, i) => ({ series: [i + 2, i + 1], fill: color(i + 1, 0.35) })) : undefined,
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
  container.dataset.unit = opts.unit || "";
  // The legend shows the latest values until the cursor points elsewhere.
  if (!opts.sparkline && lastAt >= 0) requestAnimationFrame(() => plot.setLegend({ idx: lastAt }));
  const step = (opts.step || 1000) / 1000;
  const keep = data[0].length + 120;
  return {
    push(seriesIndex, tMs, value) {
      if (opts.live === false) return; // a range in the past stays as it is
      const t = tMs / 1000;
      const last = times.length ? times[times.length - 1] : null;
      // Live points finer than the range's step replace the newest one.
      if (last == null || t - last >= step) {
        times.push(t);
        for (const arr of [...raw, ...data.slice(1)]) arr.push(null);
        if (times.length > keep) for (const arr of [...raw, ...data]) arr.shift();
      } else if (t < last) return;
      const idx = times.length - 1;
      raw[seriesIndex][idx] = value;
      if (opts.stacked) stackAt(idx);
      else data[seriesIndex + 1][idx] = value;
      plot.setData(data);
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
async function seriesHistory(id, points = 600) {
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
        ...CHART_KINDS.map((k) => el("option", { value: k, text: k })));
      const add = el("button", { "data-testid": "add-view-" + f.name, text: "add view", onclick: () => {
        saveLocalView({ title: f.name, metric: f.name, kind: kindSelect.value });
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
  const h = await seriesHistory(id, 120);
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
const CHART_KINDS = ["line", "stacked_area", "gauge", "bar", "heatmap", "single_stat"];

// The views added from this browser: [{title, metric | query, kind}].
function localViews() {
  try {
    return JSON.parse(localStorage.getItem("sonde.views") || "[]").map((v) => ({ ...v, title: v.title || v.metric }));
  } catch { return []; }
}

function saveLocalView(view) {
  const views = localViews().filter((v) => v.title !== view.title);
  views.push(view);
  localStorage.setItem("sonde.views", JSON.stringify(views));
}

async function viewsPage() {
  const [{ views }, { samples }, { families }] = await Promise.all([getJson("/api/views"), getJson("/api/samples"), getJson("/api/series")]);
  const units = new Map(families.map((f) => [f.name, f.unit || ""]));
  // A family not received now (history only) has its unit in its name, by Prometheus' conventions.
  const unitFromName = (name) => (/_(seconds|bytes|ratio)$/.exec(name) || [])[1] || "";
  const local = localViews();
  const all = [...views.map((v) => ({ ...v, from: "code" })), ...local.map((v) => ({ ...v, from: "browser" }))];
  if (all.length === 0) page.append(el("p", { text: "No views yet: register one in code (register_view), in [[dashboard.views]], or add one from the metrics or explore page." }));
  for (const view of all) {
    const box = el("div", { class: "view", "data-testid": "view", "data-title": view.title });
    if (view.metric) box.dataset.metric = view.metric;
    const remove = view.from === "browser" ? el("button", { text: "remove", "data-testid": "remove-view", onclick: () => {
      localStorage.setItem("sonde.views", JSON.stringify(local.filter((v) => v.title !== view.title)));
      route();
    } }) : null;
    box.append(el("h3", { text: `${view.title} · ${view.kind} · ${view.from}` }));
    if (view.query) {
      box.append(el("div", {}, el("a", { class: "link id", "data-testid": "view-query", href: exploreHref(view.query), text: view.query })));
    }
    if (remove) box.append(remove);
    page.append(box);
    if (view.query) { await drawQueryView(box, view); continue; }
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

// Paints heatmap cells: data[column][row] counts, the bottom row first.
function paintHeatmap(canvas, data, rows) {
  const g = canvas.getContext("2d");
  const max = Math.max(1e-12, ...data.flat());
  const w = canvas.width / Math.max(1, data.length), h = canvas.height / rows;
  g.clearRect(0, 0, canvas.width, canvas.height);
  data.forEach((col, x) => col.forEach((n, r) => {
    g.fillStyle = `rgba(74, 123, 208, ${n === 0 ? 0.04 : 0.15 + 0.85 * n / max})`;
    g.fillRect(x * w, canvas.height - (r + 1) * h, Math.ceil(w), h - 1);
  }));
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
  const hist = await Promise.all(ids.map((id) => seriesHistory(id)));
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
  const draw = () => paintHeatmap(canvas, cells(), ids.length);
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
    const h = await seriesHistory(s.id);
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

// ---- PromQL: the hub's Prometheus API (/api/v1) ------------------------------
class QueryError extends Error {
  constructor(message, type) { super(message); this.type = type || "error"; }
}

// data of a /api/v1 answer, or a QueryError with Prometheus' error and type.
async function promql(path, params) {
  const r = await fetch("/api/v1/" + path + "?" + new URLSearchParams(params), { cache: "no-store" });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON: below */ }
  if (body && body.status === "success") return body.data;
  if (body && body.error) throw new QueryError(body.error, body.errorType);
  if (r.status === 404) throw new QueryError("PromQL is answered by the hub (sonde serve); this dashboard has no /api/v1", "unavailable");
  throw new QueryError(`${path}: HTTP ${r.status}`);
}

function exploreHref(query) {
  return "#/explore?" + new URLSearchParams({ q: query });
}

// A series' name as Prometheus writes it: name{label="value", ...}.
function seriesName(metric) {
  const { __name__: name, ...labels } = metric || {};
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return (name || "") + (pairs.length || !name ? `{${pairs.join(", ")}}` : "");
}

// A sample value string as a number ("+Inf" and "NaN" too).
function sampleValue(v) {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  return Number(v);
}

// The step of a range query over r: about 300 points, whole seconds.
function stepFor(r) {
  return Math.max(1, Math.round((r.end - r.start) / 1000 / 300));
}

// The unit a PromQL result is in, guessed from the metric names in it.
function unitOfQuery(query) {
  const m = /[a-zA-Z_:][\w:]*?_(seconds|bytes|ratio)(_total|_sum|_count|_bucket)?\b/.exec(query);
  const quantile = /histogram_quantile\s*\(/.test(query);
  const perSecond = /\b(i?rate|deriv)\s*\(/.test(query) && !quantile;
  // A bucket's quantile is in the metric's unit; its rate is a count per second.
  const base = m && m[2] !== "_count" && (m[2] !== "_bucket" || quantile) ? m[1] : "";
  return base + (perSecond ? "/s" : "");
}

// A range query's matrix as chart series on one time grid.
function matrixSeries(result, start, end, step, limit) {
  const times = [];
  for (let t = start; t <= end + 1e-9; t += step) times.push(Math.round(t * 1000));
  const at = new Map(times.map((t, i) => [t, i]));
  return result.slice(0, limit).map((s) => {
    const v = new Array(times.length).fill(null);
    for (const [t, x] of s.values) {
      const i = at.get(Math.round(t * 1000));
      const n = sampleValue(x);
      if (i != null && Number.isFinite(n)) v[i] = n;
    }
    return { id: seriesName(s.metric), label: seriesName(s.metric), t: times, v, metric: s.metric };
  });
}

// An error where it happened: the message, and for a parse error the query
// with a caret under the position.
function queryErrorBox(e, query) {
  const box = el("div", { class: "query-error", "data-testid": "query-error" },
    el("div", { class: "error", text: `${e.type || "error"}: ${e.message}` }));
  const m = /^1:(\d+): parse error/.exec(e.message || "");
  if (m && query != null) {
    const col = Math.min(Number(m[1]) - 1, query.length);
    box.dataset.position = String(col);
    box.append(el("pre", { "data-testid": "query-error-caret", text: query.replace(/\s/g, " ") + "\n" + " ".repeat(col) + "^" }));
  }
  return box;
}

const MAX_CHART_SERIES = 100;

// Draws a range query's result as a chart in `box` (replacing what it held).
async function drawRange(box, query, kind, unit) {
  const r = rangeNow();
  const step = stepFor(r);
  const start = Math.floor(r.start / 1000 / step) * step, end = Math.floor(r.end / 1000);
  const data = await promql("query_range", { query, start: String(start), end: String(end), step: String(step) });
  const result = data.resultType === "matrix" ? data.result : [];
  const series = matrixSeries(result, start, end, step, MAX_CHART_SERIES);
  const chartBox = el("div", { "data-testid": "chart", "data-series": String(result.length) });
  box.replaceChildren(chartBox);
  if (result.length > MAX_CHART_SERIES) box.append(el("div", { class: "help", text: `showing ${MAX_CHART_SERIES} of ${result.length} series` }));
  if (series.length === 0) { box.append(el("p", { "data-testid": "empty-result", text: "empty result" })); return; }
  if (kind === "heatmap") { drawBucketHeatmap(chartBox, series); return; }
  lineChart(chartBox, "", series, { stacked: kind === "stacked_area", unit, step: step * 1000, live: false });
}

// Series with an `le` label (e.g. `sum by (le) (rate(h_bucket[5m]))`) as
// a heatmap: per step, how much fell in each bucket.
function drawBucketHeatmap(box, series) {
  const le = (s) => s.metric.le === "+Inf" ? Infinity : Number(s.metric.le);
  const groupOf = (s) => { const { le: _, ...rest } = s.metric; return seriesName(rest); };
  const buckets = series.filter((s) => s.metric.le != null);
  if (buckets.length === 0) { box.append(el("p", { text: "a heatmap needs series with an le label" })); return; }
  const group = groupOf(buckets[0]);
  const rows = buckets.filter((s) => groupOf(s) === group).sort((a, b) => le(a) - le(b));
  const data = rows[0].t.map((_, c) => rows.map((s, r) => {
    const here = s.v[c], below = r === 0 ? 0 : rows[r - 1].v[c];
    return here == null || below == null ? 0 : Math.max(0, here - below);
  }));
  const canvas = el("canvas", { width: "800", height: String(14 * rows.length), "data-testid": "heatmap", style: "width:100%;max-width:800px" });
  box.append(el("div", { class: "id", text: "buckets over time · " + group + " · le " + rows.map((s) => s.metric.le).join(", ") }), canvas);
  paintHeatmap(canvas, data, rows.length);
}

// An instant query's result as rows of (series, value).
async function instantRows(query, time) {
  const data = await promql("query", { query, time: String(time / 1000) });
  if (data.resultType === "vector") return data.result.map((s) => ({ name: seriesName(s.metric), value: sampleValue(s.value[1]) }));
  if (data.resultType === "scalar" || data.resultType === "string") return [{ name: data.resultType, value: data.resultType === "scalar" ? sampleValue(data.result[1]) : data.result[1] }];
  return data.result.map((s) => ({ name: seriesName(s.metric), value: s.values.map(([t, v]) => `${v} @${t}`).join("\n") }));
}

// A view defined by a PromQL expression, redrawn every five seconds while
// its range ends now.
async function drawQueryView(box, view) {
  const body = el("div", { "data-testid": "view-body" });
  box.append(body);
  const unit = unitOfQuery(view.query);
  const draw = async () => {
    try {
      if (["line", "stacked_area", "heatmap"].includes(view.kind)) {
        await drawRange(body, view.query, view.kind, unit);
        return;
      }
      const rows = (await instantRows(view.query, rangeNow().end)).slice(0, 20);
      if (rows.length === 0) { body.replaceChildren(el("p", { "data-testid": "empty-result", text: "empty result" })); return; }
      if (view.kind === "bar") {
        const max = Math.max(1e-9, ...rows.map((r) => Math.abs(Number(r.value)) || 0));
        body.replaceChildren(...rows.map((r) => el("div", { class: "bar" }, el("span", { class: "id", text: r.name }),
          el("div", { class: "fill", style: `width:${200 * Math.abs(Number(r.value) || 0) / max}px` }), el("span", { text: fmtUnit(r.value, unit) }))));
        return;
      }
      body.replaceChildren(...rows.slice(0, 4).map((r) => el("div", {}, el("div", { class: "id", text: r.name }),
        el("div", { class: "stat", "data-testid": "stat", text: typeof r.value === "number" ? fmtUnit(r.value, unit) : r.value }))));
    } catch (e) {
      body.replaceChildren(queryErrorBox(e, view.query));
    }
  };
  await draw();
  if (rangeNow().live) every(5000, draw);
}

// ---- explore: a PromQL box, a chart or a table of its result -----------------
const PROMQL_WORDS = [
  "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time", "ceil", "changes", "clamp",
  "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
  "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_sum", "holt_winters",
  "hour", "idelta", "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "max_over_time",
  "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets",
  "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time",
  "tan", "tanh", "time", "timestamp", "vector", "year",
  "sum", "avg", "min", "max", "count", "count_values", "group", "stddev", "stdvar", "topk", "bottomk", "quantile",
  "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
];

// What the cursor is completing: a metric or function name, a label name
// or a label's value.
function completionContext(before) {
  const open = before.lastIndexOf("{"), close = before.lastIndexOf("}");
  if (open > close) {
    const metric = (/([a-zA-Z_:][\w:]*)\s*$/.exec(before.slice(0, open)) || [])[1];
    const inside = before.slice(open + 1);
    const value = /([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inside);
    if (value) return { kind: "value", label: value[1], prefix: value[3], metric };
    const label = /(?:^|,)\s*([a-zA-Z_]\w*)?$/.exec(inside);
    return label ? { kind: "label", prefix: label[1] || "", metric } : null;
  }
  const grouping = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)$/.exec(before);
  if (grouping) {
    const label = /(?:^|,)\s*([a-zA-Z_]\w*)?$/.exec(grouping[2]);
    return label ? { kind: "label", prefix: label[1] || "" } : null;
  }
  const name = /([a-zA-Z_:][\w:]*)$/.exec(before);
  return name ? { kind: "name", prefix: name[1] } : null;
}

const completionCache = new Map();

async function cachedValues(path, params) {
  const key = path + "?" + new URLSearchParams(params);
  if (!completionCache.has(key)) completionCache.set(key, promql(path, params).catch(() => []));
  return completionCache.get(key);
}

// Suggestions for a context: [{text, insert, kind}], at most 20.
async function suggestions(ctx) {
  let words = [];
  if (ctx.kind === "name") {
    const names = await cachedValues("label/__name__/values", {});
    words = [...names.map((n) => ({ text: n, insert: n, kind: "metric" })),
      ...PROMQL_WORDS.map((w) => ({ text: w, insert: w, kind: "keyword" }))];
  } else if (ctx.kind === "label") {
    const labels = await cachedValues("labels", ctx.metric ? { "match[]": ctx.metric } : {});
    words = labels.filter((l) => l !== "__name__").map((l) => ({ text: l, insert: l, kind: "label" }));
  } else if (ctx.kind === "value") {
    const params = ctx.metric ? { "match[]": ctx.metric } : {};
    const values = await cachedValues("label/" + encodeURIComponent(ctx.label) + "/values", params);
    words = values.map((v) => ({ text: v, insert: v.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"', kind: "value" }));
  }
  const p = ctx.prefix.toLowerCase();
  return words.filter((w) => w.text.toLowerCase().startsWith(p) && w.text !== ctx.prefix).slice(0, 20);
}

async function explorePage() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const input = el("textarea", { class: "query", rows: "2", spellcheck: "false", "data-testid": "explore-query",
    placeholder: "a PromQL expression, e.g. sum by (route) (rate(http_requests_total[5m]))  (Enter runs, Shift+Enter a new line)" });
  input.value = params.get("q") || "";
  const menu = el("div", { class: "completions", "data-testid": "completions" });
  const run = el("button", { text: "run", "data-testid": "explore-run" });
  const tab = params.get("tab") === "table" ? "table" : "graph";
  const tabs = el("span", { class: "tabs" },
    ...["graph", "table"].map((t) => el("button", { class: t === tab ? "active" : "", "data-testid": "explore-tab-" + t, text: t,
      onclick: () => { for (const b of tabs.children) b.classList.toggle("active", b === tabs.children[t === "graph" ? 0 : 1]); state.tab = t; execute(); } })));
  const unitSelect = el("select", { "data-testid": "explore-unit", title: "unit of the values" },
    ...["auto", "none", "seconds", "bytes", "ratio", "/s", "seconds/s", "bytes/s"].map((u) => el("option", { value: u, text: "unit: " + u })));
  const title = el("input", { placeholder: "view title", "data-testid": "explore-view-title" });
  const kind = el("select", { "data-testid": "explore-view-kind" }, ...CHART_KINDS.map((k) => el("option", { value: k, text: k })));
  const save = el("button", { text: "save as view", "data-testid": "explore-save-view", onclick: () => {
    if (!input.value.trim()) return;
    saveLocalView({ title: title.value.trim() || input.value.trim(), query: input.value.trim(), kind: kind.value });
    save.textContent = "saved ✓";
  } });
  const errorBox = el("div", { "data-testid": "explore-error" });
  const result = el("div", { class: "view", "data-testid": "explore-result" });
  const state = { tab };
  page.append(el("div", { class: "explore-box" }, input, menu), el("div", { class: "controls" }, run, tabs, unitSelect, title, kind, save), errorBox, result);

  let selected = 0, items = [];
  const closeMenu = () => { items = []; menu.replaceChildren(); };
  const accept = (item) => {
    const pos = input.selectionStart;
    const ctx = completionContext(input.value.slice(0, pos));
    const start = pos - (ctx ? ctx.prefix.length : 0);
    const insert = item.insert + (item.kind === "keyword" && PROMQL_WORDS.indexOf(item.text) < PROMQL_WORDS.indexOf("by") ? "(" : "");
    input.value = input.value.slice(0, start) + insert + input.value.slice(pos);
    input.selectionStart = input.selectionEnd = start + insert.length;
    closeMenu();
    input.focus();
  };
  const showMenu = () => menu.replaceChildren(...items.map((item, i) => el("div", {
    class: "completion" + (i === selected ? " selected" : ""), "data-testid": "completion", "data-kind": item.kind,
    onclick: () => accept(item) }, el("span", { text: item.text }), el("span", { class: "help", text: " " + item.kind }))));
  let asked = 0;
  const complete = async () => {
    const ctx = completionContext(input.value.slice(0, input.selectionStart));
    const mine = ++asked;
    if (!ctx || (ctx.kind === "name" && ctx.prefix.length === 0)) { closeMenu(); return; }
    const found = await suggestions(ctx);
    if (mine !== asked) return; // typed on meanwhile
    items = found; selected = 0; showMenu();
  };
  input.addEventListener("input", complete);
  input.addEventListener("blur", () => setTimeout(closeMenu, 200));
  input.addEventListener("keydown", (e) => {
    if (items.length && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      selected = (selected + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      showMenu(); e.preventDefault();
    } else if (items.length && (e.key === "Tab" || e.key === "Enter")) {
      accept(items[selected]); e.preventDefault();
    } else if (e.key === "Escape") closeMenu();
    else if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); execute(); }
  });

  async function execute() {
    closeMenu();
    const query = input.value.trim();
    window.history.replaceState(null, "", "#/explore?" + new URLSearchParams({ q: query, tab: state.tab }));
    errorBox.replaceChildren();
    if (!query) { result.replaceChildren(); return; }
    const unit = unitSelect.value === "auto" ? unitOfQuery(query) : unitSelect.value === "none" ? "" : unitSelect.value;
    result.dataset.state = "running";
    const began = performance.now();
    try {
      if (state.tab === "graph") await drawRange(result, query, "line", unit);
      else {
        const rows = await instantRows(query, rangeNow().end);
        const table = el("table", { "data-testid": "explore-table" }, el("tr", {}, el("th", { text: "series" }), el("th", { text: "value" })));
        for (const r of rows.slice(0, 10000)) {
          table.append(el("tr", { "data-testid": "explore-row" }, el("td", { class: "id", text: r.name }),
            el("td", { class: "value", style: "white-space:pre", text: typeof r.value === "number" ? fmtUnit(r.value, unit) : r.value })));
        }
        result.replaceChildren(el("div", { class: "help", text: `${rows.length} result${rows.length === 1 ? "" : "s"} at ${new Date(rangeNow().end).toLocaleString()}` }), table);
      }
      result.dataset.state = "done";
      result.append(el("div", { class: "help", "data-testid": "explore-took", text: `took ${Math.round(performance.now() - began)} ms` }));
    } catch (e) {
      result.replaceChildren();
      result.dataset.state = "error";
      errorBox.replaceChildren(queryErrorBox(e, query));
      const at = errorBox.querySelector("[data-position]");
      if (at) { input.focus(); input.setSelectionRange(Number(at.dataset.position), Number(at.dataset.position)); }
    }
  }
  run.addEventListener("click", execute);
  unitSelect.addEventListener("change", execute);
  startStream(); // nothing live here: the status says idle
  if (input.value) await execute();
  else input.focus();
}

// ---- alerts: the hub's alerting rules and their alerts ----------------------
async function alertsPage() {
  const shown = JSON.parse(localStorage.getItem("sonde.alertStates") || '{"firing":true,"pending":true,"inactive":true}');
  const boxes = ["firing", "pending", "inactive"].map((st) => {
    const c = el("input", { type: "checkbox", "data-testid": "alerts-show-" + st });
    c.checked = shown[st] !== false;
    c.addEventListener("change", () => { shown[st] = c.checked; localStorage.setItem("sonde.alertStates", JSON.stringify(shown)); load(); });
    return el("label", { class: "state-" + st }, c, " " + st);
  });
  const list = el("div", { "data-testid": "alert-rules" });
  page.append(el("div", { class: "controls" }, ...boxes), list);
  const labelList = (labels) => el("span", { class: "labels" },
    ...Object.entries(labels || {}).map(([k, v]) => el("span", { class: "label", text: `${k}=${v}` })));
  async function load() {
    let groups;
    try { groups = (await promql("rules", { type: "alert" })).groups; } catch (e) { list.replaceChildren(queryErrorBox(e)); return; }
    const out = [];
    let rules = 0;
    for (const g of groups) {
      const items = g.rules.filter((r) => r.type === "alerting" && shown[r.state] !== false);
      rules += g.rules.length;
      if (items.length === 0) continue;
      out.push(el("h3", { text: `${g.name} · ${g.file} · every ${fmtSeconds(g.interval)}` }));
      for (const r of items) {
        const box = el("div", { class: "alert-rule state-" + r.state, "data-testid": "alert-rule", "data-name": r.name, "data-state": r.state },
          el("div", {}, el("strong", { text: r.name }), el("span", { class: "badge", "data-testid": "alert-state", text: ` ${r.state} (${r.alerts.length} active)` }),
            r.health !== "ok" && r.health !== "unknown" ? el("span", { class: "error", text: ` ${r.health}: ${r.lastError}` }) : null),
          el("div", {}, el("span", { class: "help", text: "expr " }),
            el("a", { class: "link id", "data-testid": "alert-expr", href: exploreHref(r.query), text: r.query }),
            el("span", { class: "help", text: r.duration ? ` for ${fmtSeconds(r.duration)}` : "" })),
          el("div", {}, labelList(r.labels)));
        if (r.alerts.length) {
          const table = el("table", {}, el("tr", {}, ...["labels", "state", "active since", "value", "annotations"].map((h) => el("th", { text: h }))));
          for (const a of r.alerts) {
            table.append(el("tr", { "data-testid": "alert" },
              el("td", {}, labelList(a.labels)), el("td", { class: "state-" + a.state, text: a.state }),
              el("td", { text: a.activeAt ? new Date(a.activeAt).toLocaleString() : "" }), el("td", { text: fmt(sampleValue(a.value)) }),
              el("td", {}, ...Object.entries(a.annotations || {}).map(([k, v]) => el("div", { "data-testid": "annotation" }, el("span", { class: "help", text: k + ": " }), el("span", { text: v }))))));
          }
          box.append(table);
        }
        out.push(box);
      }
    }
    if (out.length === 0) out.push(el("p", { text: rules ? "No alerting rule in the states shown." : "No alerting rules: list rule files in [rules] files (sonde serve)." }));
    list.replaceChildren(...out);
  }
  startStream(); // nothing live here: the status says idle
  await load();
  every(5000, load);
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
  const base = hash.split("?")[0];
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", base.startsWith(a.getAttribute("href")) && (a.getAttribute("href") !== "#/" || base === "#/"));
  try {
    if (hash.startsWith("#/trace/")) await tracePage(hash.slice("#/trace/".length));
    else if (hash.startsWith("#/traces")) await tracesPage();
    else if (hash.startsWith("#/views")) await viewsPage();
    else if (hash.startsWith("#/events")) await eventsPage();
    else if (hash.startsWith("#/explore")) await explorePage();
    else if (hash.startsWith("#/alerts")) await alertsPage();
    else await overview();
  } catch (e) {
    page.append(el("p", { class: "error", text: String(e) }));
  }
}

window.addEventListener("hashchange", route);
rangePicker();
route();
