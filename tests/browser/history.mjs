// The dashboard's time range over stored history, across a restart of the
// hub: usage: node history.mjs <url> <artifacts-dir> <word>
// Picks "last 6h" and checks that a view's chart reaches back more than
// fifteen minutes (the history was backfilled) in the metric's unit, that a
// custom range in the past shows just that range, and that the events page's
// text search finds the event holding <word>. Prints "SHOWN" and waits for a
// line on stdin (the harness restarts the hub on the same data directory),
// then checks the page shows the same again. Its last stdout line is a JSON
// object of what it saw.

import path from "node:path";
import readline from "node:readline";
import { fail, openPage } from "./chromium.mjs";

const [url, artifacts, word] = process.argv.slice(2);


const { browser, page } = await openPage();
const results = {};

// The chart's first point (ms) and how many points it holds.
async function chart() {
  await page.goto(url + "/#/views");
  await page.waitForSelector("[data-testid=view] [data-testid=chart] canvas", { timeout: 20000 });
  return page.evaluate(() => {
    const c = document.querySelector("[data-testid=view] [data-testid=chart]");
    return { from: Number(c.dataset.from), to: Number(c.dataset.to), points: Number(c.dataset.points) };
  });
}

async function search() {
  await page.goto(url + "/#/events");
  await page.fill("[data-testid=event-text]", word);
  await page.waitForFunction((w) => [...document.querySelectorAll("[data-testid=event]")].some((e) => e.textContent.includes(w)),
    word, { timeout: 10000 });
  return page.locator("[data-testid=event]").count();
}

try {
  await page.goto(url + "/#/");
  await page.evaluate(() => {
    localStorage.setItem("sonde.views", JSON.stringify([{ metric: "backfill_memory_bytes", kind: "line" }]));
    localStorage.setItem("sonde.range", JSON.stringify({ last: "15m" }));
  });
  // Fifteen minutes first, then six hours from the picker.
  const short = await chart();
  await page.selectOption("[data-testid=range-select]", "6h");
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("sonde.range")).last === "6h");
  const long = await chart();
  const minutes = (Date.now() - long.from) / 60000;
  results.before = { short_points: short.points, long_points: long.points, reaches_back_minutes: Math.round(minutes) };
  if (!(minutes > 15)) fail(`the 6 h chart reaches back ${minutes} minutes`);
  if (!(long.points > short.points)) fail(`6 h shows ${long.points} points, 15 min ${short.points}`);
  // Values are shown in the metric's unit (bytes here), as the y axis is.
  await page.waitForFunction(() => (document.querySelector("[data-testid=latest]")?.textContent || "").includes("MiB"),
    null, { timeout: 10000 }).catch(() => fail("the latest value is not in the metric's unit"));
  await page.screenshot({ path: path.join(artifacts, "10-history-6h.png") });

  // A custom range in the past: from three hours ago to ninety minutes ago.
  const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const [from, to] = [Date.now() - 3 * 3600e3, Date.now() - 90 * 60e3];
  await page.selectOption("[data-testid=range-select]", "custom");
  await page.fill("[data-testid=range-from]", local(from));
  await page.fill("[data-testid=range-to]", local(to));
  await page.click("[data-testid=range-apply]");
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("sonde.range")).from > 0);
  const custom = await chart();
  results.custom = { points: custom.points, from_minutes_ago: Math.round((Date.now() - custom.from) / 60000), to_minutes_ago: Math.round((Date.now() - custom.to) / 60000) };
  if (!(custom.points > 0) || custom.from < from - 60e3 || custom.to > to + 60e3) fail("the custom range shows " + JSON.stringify(results.custom));
  await page.selectOption("[data-testid=range-select]", "6h");
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("sonde.range")).last === "6h");
  results.before.events = await search();
  await page.screenshot({ path: path.join(artifacts, "11-event-search.png") });

  console.log("SHOWN");
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once("line", resolve));
  rl.close();

  const again = await chart();
  const back = (Date.now() - again.from) / 60000;
  results.after = { long_points: again.points, reaches_back_minutes: Math.round(back) };
  if (!(back > 15) || Math.abs(again.from - long.from) > 5 * 60000) fail(`after the restart the chart starts ${back} minutes back`);
  if (again.points < long.points * 0.9) fail(`after the restart ${again.points} points, before ${long.points}`);
  await page.screenshot({ path: path.join(artifacts, "12-history-after-restart.png") });
  results.after.events = await search();
  if (results.after.events < results.before.events) fail("the event search found less after the restart");
} catch (e) {
  fail(String(e && e.stack || e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
