// The dashboard with 1,000 live series on screen, and after a restart of
// the server it shows: usage: node many_and_reconnect.mjs <url> <statsd-port> <artifacts-dir>
// Prints "LIVE" once the page is live, then waits for a line on stdin (the
// harness restarts the server meanwhile), then checks that the page resumes.
// Its last stdout line is a JSON object of measurements.

import dgram from "node:dgram";
import path from "node:path";
import readline from "node:readline";
import { fail, openPage } from "./chromium.mjs";

const [url, statsdPort, artifacts] = process.argv.slice(2);


async function send(lines) {
  const s = dgram.createSocket("udp4");
  for (let i = 0; i < lines.length; i += 40) {
    await new Promise((res, rej) => s.send(Buffer.from(lines.slice(i, i + 40).join("\n")), Number(statsdPort), "127.0.0.1", (e) => e ? rej(e) : res()));
  }
  s.close();
}

const { browser, page } = await openPage();
const results = {};
try {
  const many = (v) => Array.from({ length: 1000 }, (_, i) => `browser.many:${v + i}|g|#n:${String(i).padStart(4, "0")}`);
  await send(many(0));
  await new Promise((r) => setTimeout(r, 1500));
  await page.goto(url + "/#/");
  await page.fill("[data-testid=search]", "browser_many");
  const started = Date.now();
  await page.waitForFunction(() => document.querySelectorAll('[data-family="browser_many"] [data-testid=value]').length === 1000, null, { timeout: 20000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-family="browser_many"] .spark canvas').length === 1000, null, { timeout: 30000 });
  results.render_1000_ms = Date.now() - started;
  // Live updates keep flowing while the page stays responsive: the longest
  // gap between animation frames over three seconds of updates.
  await send(many(5000));
  results.max_frame_gap_ms = await page.evaluate(() => new Promise((resolve) => {
    let last = performance.now(), worst = 0;
    const end = last + 3000;
    const tick = (now) => { worst = Math.max(worst, now - last); last = now; now < end ? requestAnimationFrame(tick) : resolve(Math.round(worst)); };
    requestAnimationFrame(tick);
  }));
  const updated = await page.evaluate(() => document.querySelector('[data-family="browser_many"] [data-testid=value][data-id="browser_many{n=\\"0999\\"}"]')?.textContent);
  if (updated !== "5999") fail("the 1,000th series did not update: " + updated);
  await page.screenshot({ path: path.join(artifacts, "9-many-series.png") });
  const typed = Date.now();
  await page.fill("[data-testid=label-filter]", 'n="0500"');
  await page.waitForFunction(() => document.querySelectorAll('[data-family="browser_many"] [data-testid=value]').length === 1, null, { timeout: 5000 });
  results.filter_ms = Date.now() - typed;
  if (results.max_frame_gap_ms > 1000) fail(`the page froze for ${results.max_frame_gap_ms} ms`);

  // Reconnection: the harness restarts the server on the same address.
  await page.waitForFunction(() => document.getElementById("status").textContent === "live", null, { timeout: 5000 });
  console.log("LIVE");
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once("line", resolve));
  rl.close();
  const back = Date.now();
  await page.waitForFunction(() => document.getElementById("status").textContent === "live", null, { timeout: 20000 });
  await send(["browser.many:777|g|#n:0500"]);
  await page.waitForFunction(() => document.querySelector('[data-testid=value][data-id="browser_many{n=\\"0500\\"}"]')?.textContent === "777", null, { timeout: 20000 });
  results.resumed_after_ms = Date.now() - back;
  await page.screenshot({ path: path.join(artifacts, "10-after-restart.png") });
  console.log(JSON.stringify(results));
} catch (e) {
  await page.screenshot({ path: path.join(artifacts, "failure-many.png") }).catch(() => {});
  fail(String(e && e.stack || e));
} finally {
  await browser.close();
}
