// The dashboard in a real browser: Debian's Chromium, driven by
// playwright-core, against a running `sonde demo`.
//
// usage: node tests/browser/dashboard.mjs <dashboard-url> <statsd-port> <otlp-http-url> <artifacts-dir>
//
// Prints one JSON line of measurements; exits non-zero on any failure.
// Screenshots of every page land in the artifacts directory.

import dgram from "node:dgram";
import fs from "node:fs";
import path from "node:path";
import { fail, openPage } from "./chromium.mjs";


const [url, statsdPort, otlpUrl, artifacts] = process.argv.slice(2);
fs.mkdirSync(artifacts, { recursive: true });
const HOSTILE = "<img src=x onerror=alert(1)>";

function statsd(line) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.send(Buffer.from(line), Number(statsdPort), "127.0.0.1", (e) => { s.close(); e ? reject(e) : resolve(); });
  });
}

async function otlp(signal, body) {
  const r = await fetch(`${otlpUrl}/v1/${signal}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) fail(`OTLP ${signal}: ${r.status}`);
}

const { browser, page } = await openPage();
const dialogs = [];
page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
const shot = (name) => page.screenshot({ path: path.join(artifacts, name + ".png"), fullPage: true });
const results = {};

try {
  // Hostile strings arrive as a span name, a label value and an event.
  const now = BigInt(Date.now()) * 1000000n;
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  await otlp("traces", { resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: HOSTILE } }] },
    scopeSpans: [{ spans: [{ traceId, spanId: "00f067aa0ba902b7", name: HOSTILE, kind: 2,
      startTimeUnixNano: String(now - 5000000n), endTimeUnixNano: String(now), attributes: [{ key: HOSTILE, value: { stringValue: HOSTILE } }] }] }] }] });
  await otlp("metrics", { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: "xss_probe", gauge: { dataPoints: [
    { attributes: [{ key: "evil", value: { stringValue: HOSTILE } }], asDouble: 1 }] } }] }] }] });
  await otlp("logs", { resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 17, body: { stringValue: HOSTILE }, traceId, spanId: "00f067aa0ba902b7" }] }] }] });
  await statsd("browser.probe:1|g");
  await new Promise((r) => setTimeout(r, 1500)); // the probe series exists before the page subscribes

  // 1. Overview with sparklines.
  await page.goto(url + "/#/");
  await page.waitForSelector("[data-family]", { timeout: 10000 });
  await page.waitForSelector(".spark canvas", { timeout: 10000 });
  await shot("1-metrics");
  const families = await page.locator("[data-family]").count();
  if (families < 5) fail(`only ${families} families on the overview`);

  // 2. A value changed in the process shows in the page: latency, five times.
  await page.fill("[data-testid=search]", "browser_probe");
  const probe = page.locator('[data-testid=value][data-id="browser_probe"]');
  await probe.waitFor({ timeout: 10000 });
  const latencies = [];
  for (let i = 2; i <= 6; i++) {
    const want = String(100 + i);
    const sent = Date.now();
    await statsd(`browser.probe:${want}|g`);
    await page.waitForFunction((w) => document.querySelector('[data-testid=value][data-id="browser_probe"]')?.textContent === w, want, { timeout: 5000 });
    latencies.push(Date.now() - sent);
  }
  latencies.sort((a, b) => a - b);
  results.update_latency_ms = latencies;
  results.update_latency_median_ms = latencies[2];
  if (latencies[2] >= 1000) fail(`median update latency ${latencies[2]} ms`);

  // 3. A view registered from the page, with a live chart.
  await page.fill("[data-testid=search]", "demo_queue_depth");
  await page.selectOption("[data-testid=view-kind-demo_queue_depth]", "line");
  await page.click("[data-testid=add-view-demo_queue_depth]");
  await page.waitForSelector('[data-testid=view][data-metric="demo_queue_depth"] canvas', { timeout: 10000 });
  const latest = page.locator('[data-testid=view][data-metric="demo_queue_depth"] [data-testid=latest]').first();
  await latest.waitFor({ timeout: 5000 });
  const t0 = Number(await latest.getAttribute("data-t"));
  const changed = Date.now();
  await page.waitForFunction((t) => [...document.querySelectorAll('[data-testid=view][data-metric="demo_queue_depth"] [data-testid=latest]')].some((e) => Number(e.dataset.t) > t), t0, { timeout: 1000 });
  results.chart_point_after_ms = Date.now() - changed;
  const codeViews = await page.locator("[data-testid=view]").count();
  if (codeViews < 6) fail(`expected the 5 views registered in code plus the new one, got ${codeViews}`);
  // The same latency in native buckets draws as a heatmap too.
  const nativeHeat = page.locator('[data-testid=view][data-metric="demo_http_request_duration_native_seconds"] [data-testid=heatmap]');
  await nativeHeat.waitFor({ timeout: 10000 });
  // The latency histogram's heatmap (registered in code): a cell names its
  // bucket and links an exemplar trace.
  const heat = page.locator('[data-testid=view][data-metric="demo_http_request_duration_seconds"] [data-testid=heatmap]');
  await heat.waitFor({ timeout: 10000 });
  await page.waitForTimeout(1200);
  await shot("2-views");
  const box = await heat.boundingBox();
  await heat.click({ position: { x: box.width - 5, y: box.height - 3 } }); // the newest column, lowest bucket
  await page.waitForSelector("[data-testid=heatmap-exemplar]", { timeout: 5000 });
  await page.click("[data-testid=heatmap-exemplar]");
  await page.waitForSelector("[data-testid=waterfall] [data-testid=span]", { timeout: 10000 });
  await shot("2b-trace-from-heatmap");
  await page.goBack();
  // It is kept in the browser: still there after a reload.
  await page.goto(url + "/#/views");
  await page.waitForSelector('[data-testid=view][data-metric="demo_queue_depth"]', { timeout: 10000 });

  // 4. A trace's waterfall.
  await page.goto(url + "/#/traces");
  await page.fill("[data-testid=trace-name]", "POST");
  await page.dispatchEvent("[data-testid=trace-name]", "change");
  await page.waitForSelector("[data-testid=trace-row]", { timeout: 10000 });
  await shot("3-traces");
  await page.locator("[data-testid=trace-row]").first().click();
  await page.waitForSelector("[data-testid=waterfall] [data-testid=span]", { timeout: 10000 });
  const spans = await page.locator("[data-testid=span]").count();
  if (spans < 2) fail(`the waterfall shows ${spans} span(s)`);
  // A time axis from 0 to the trace's length, and each span's duration on its bar.
  const ticks = await page.locator("[data-testid=waterfall-axis] .tick").allTextContents();
  if (ticks.length !== 6 || !/^0(\.00)? ms$/.test(ticks[0]) || !/ m?s$/.test(ticks[5])) fail("waterfall axis: " + ticks);
  const durations = await page.locator("[data-testid=span-duration]").allTextContents();
  if (durations.length !== spans || !durations.every((d) => / m?s$/.test(d))) fail("span durations: " + durations);
  await page.locator("[data-testid=span]").nth(1).click();
  const details = await page.textContent("[data-testid=span-details]");
  if (!details.includes("duration") || !details.includes("attributes")) fail("span details: " + details);
  await shot("4-waterfall");

  // 5. From an event to its trace, whose events include it.
  await page.goto(url + "/#/events");
  await page.fill("[data-testid=event-text]", "email_sent");
  await page.waitForSelector("[data-testid=event-trace]", { timeout: 10000 });
  await shot("5-events");
  await page.locator("[data-testid=event-trace]").first().click();
  await page.waitForSelector("[data-testid=waterfall] [data-testid=span]", { timeout: 10000 });
  const traceEvents = await page.textContent("[data-testid=trace-events]");
  if (!traceEvents.includes("email_sent")) fail("the trace does not list its event: " + traceEvents);
  await shot("6-trace-from-event");

  // 6. From a histogram's exemplar to its trace.
  await page.goto(url + "/#/");
  await page.fill("[data-testid=search]", "demo_http_request_duration_seconds");
  await page.waitForSelector("[data-testid=exemplar]", { timeout: 10000 });
  await page.locator("[data-testid=exemplar]").first().click();
  await page.waitForSelector("[data-testid=waterfall] [data-testid=span]", { timeout: 10000 });
  await shot("7-trace-from-exemplar");

  // 7. Hostile strings render as text.
  await page.goto(url + `/#/trace/${traceId}`);
  await page.waitForSelector("[data-testid=span]", { timeout: 10000 });
  const text = await page.textContent("body");
  if (!text.includes(HOSTILE)) fail("the hostile span name is not shown as text");
  await page.goto(url + "/#/");
  await page.fill("[data-testid=search]", "xss_probe");
  await page.waitForSelector('[data-family="xss_probe"]', { timeout: 10000 });
  if (!(await page.textContent('[data-family="xss_probe"]')).includes(HOSTILE)) fail("hostile label value not shown as text");
  await page.goto(url + "/#/events");
  await page.waitForSelector("[data-testid=event]", { timeout: 10000 });
  await page.waitForTimeout(500);
  await shot("8-hostile-strings");
  const injected = await page.evaluate(() => document.querySelectorAll('img[src="x"]').length);
  if (injected > 0 || dialogs.length > 0) fail(`markup was injected: ${injected} img, dialogs ${JSON.stringify(dialogs)}`);
  if (pageErrors.length > 0) fail("page errors: " + pageErrors.join("; "));
  results.screenshots = fs.readdirSync(artifacts).filter((f) => f.endsWith(".png"));
  console.log(JSON.stringify(results));
} catch (e) {
  await shot("failure").catch(() => {});
  fail(String(e && e.stack || e) + (pageErrors.length ? "\npage errors: " + pageErrors.join("; ") : ""));
} finally {
  await browser.close();
}
