// Explore, PromQL views and Alerts in a real browser.
// usage: node explore.mjs <url> <artifacts-dir>
// The hub behind <url> has received `shop_orders_total` for routes /a and
// /b, evaluates a rule file with an alert that fires (BrowserTestFiring),
// one that stays pending and one that stays inactive, and shows a PromQL
// view from its configuration ("ingest rate"). The script completes a
// query from the hub's names, labels and values, draws it, shows it as a
// table, shows a parse error at its position, saves the query as a view
// that survives a reload, and finds the firing alert with its labels and
// annotations, whose expression opens in Explore. Its last stdout line is
// a JSON object of what it saw; screenshots land in <artifacts-dir>.

import path from "node:path";
import { fail, openPage } from "./chromium.mjs";

const [url, artifacts] = process.argv.slice(2);
const { browser, page } = await openPage();
const results = { screenshots: [] };
const shot = async (name) => { await page.screenshot({ path: path.join(artifacts, name), fullPage: true }); results.screenshots.push(name); };
const completions = () => page.$$eval("[data-testid=completion]", (cs) => cs.map((c) => c.firstChild.textContent));
const waitFor = (fn, arg, what) => page.waitForFunction(fn, arg, { timeout: 15000 }).catch(() => fail(what));
const box = "[data-testid=explore-query]";

try {
  page.on("pageerror", (e) => fail("page error: " + e.message));
  await page.goto(url + "/#/explore");
  // The last five minutes: a step of one second, so the few seconds of
  // orders sent so far make a line.
  await page.evaluate(() => { localStorage.clear(); localStorage.setItem("sonde.range", JSON.stringify({ last: "5m" })); });
  await page.reload();
  await page.waitForSelector(box);

  // Completion: a metric name, a label name, a label value.
  await page.type(box, "shop_ord");
  await waitFor(() => document.querySelectorAll("[data-testid=completion]").length > 0, null, "no completion for shop_ord");
  results.names = await completions();
  if (!results.names.includes("shop_orders_total")) fail("names offered: " + results.names);
  await page.keyboard.press("Tab");
  await page.type(box, "{ro");
  await waitFor(() => [...document.querySelectorAll("[data-testid=completion]")].some((c) => c.textContent.startsWith("route")), null, "no label completion");
  await page.keyboard.press("Tab");
  await page.type(box, '="');
  await waitFor(() => document.querySelectorAll("[data-testid=completion][data-kind=value]").length === 2, null, "no value completion");
  results.values = await completions();
  await page.click("[data-testid=completion] >> text=/b");
  await page.type(box, "}");
  results.completed = await page.inputValue(box);
  if (results.completed !== 'shop_orders_total{route="/b"}') fail("completed to " + results.completed);

  // A rate by route, drawn over the range.
  await page.fill(box, "sum by (route) (rate(shop_orders_total[1m]))");
  await page.keyboard.press("Enter");
  await waitFor(() => document.querySelector("[data-testid=explore-result]")?.dataset.state === "done", null, "the query did not finish");
  const chart = await page.$eval("[data-testid=explore-result] [data-testid=chart]", (c) => ({ series: Number(c.dataset.series), points: Number(c.dataset.points), canvas: !!c.querySelector("canvas"), legend: c.textContent, unit: c.dataset.unit }));
  results.graph = chart;
  if (chart.series !== 2 || !chart.canvas || !(chart.points > 2)) fail("graph: " + JSON.stringify(chart));
  if (!chart.legend.includes('route="/a"') || !/[0-9]\/s/.test(chart.legend) || chart.unit !== "/s") fail("legend: " + chart.legend + " unit " + chart.unit);
  if (!decodeURIComponent(page.url()).includes("rate(shop_orders_total[1m])")) fail("the query is not in the address: " + page.url());
  await shot("20-explore-graph.png");

  // The same as a table of the latest values.
  await page.click("[data-testid=explore-tab-table]");
  await waitFor(() => document.querySelectorAll("[data-testid=explore-row]").length === 2, null, "table rows");
  results.table = await page.$$eval("[data-testid=explore-row]", (rs) => rs.map((r) => r.textContent));
  await shot("21-explore-table.png");

  // A parse error, shown with its position, the cursor put there.
  await page.fill(box, "sum(rate(shop_orders_total[1m])");
  await page.keyboard.press("Enter");
  await page.waitForSelector("[data-testid=query-error]", { timeout: 10000 });
  results.error = await page.$eval("[data-testid=query-error]", (e) => ({ text: e.textContent, position: e.dataset.position }));
  if (!results.error.text.includes("bad_data") || results.error.position == null) fail("error: " + JSON.stringify(results.error));
  results.cursor = await page.$eval(box, (t) => t.selectionStart);
  await shot("22-explore-error.png");

  // Saved as a view: it draws on the views page, and after a reload.
  await page.click("[data-testid=explore-tab-graph]");
  await page.fill(box, "sum by (route) (rate(shop_orders_total[1m]))");
  await page.fill("[data-testid=explore-view-title]", "orders by route");
  await page.selectOption("[data-testid=explore-view-kind]", "stacked_area");
  await page.click("[data-testid=explore-save-view]");
  await waitFor(() => (localStorage.getItem("sonde.views") || "").includes("orders by route"), null, "the view was not saved");
  const view = async () => {
    await page.goto(url + "/#/views");
    await page.waitForSelector('[data-testid=view][data-title="orders by route"] [data-testid=chart] canvas', { timeout: 30000 }).catch(() => fail("the saved view does not draw"));
    return page.$eval('[data-testid=view][data-title="orders by route"] [data-testid=chart]', (c) => Number(c.dataset.series));
  };
  results.view_series = await view();
  await page.reload();
  results.view_series_after_reload = await view();
  if (results.view_series !== 2 || results.view_series_after_reload !== 2) fail("view series " + JSON.stringify(results));
  await page.waitForSelector('[data-testid=view][data-title="ingest rate"] [data-testid=chart] canvas', { timeout: 30000 }).catch(() => fail("the configured view does not draw"));
  await shot("23-promql-views.png");

  // Alerts: firing with labels and annotations, pending, inactive.
  await page.goto(url + "/#/alerts");
  await waitFor(() => document.querySelector('[data-testid=alert-rule][data-name=BrowserTestFiring][data-state=firing] [data-testid=alert]'), null, "no firing alert");
  results.alerts = await page.$$eval("[data-testid=alert-rule]", (rs) => rs.map((r) => [r.dataset.name, r.dataset.state]));
  const firing = await page.$eval("[data-testid=alert-rule][data-name=BrowserTestFiring]", (r) => r.textContent);
  if (!firing.includes("severity=page") || !firing.includes("fired at 1")) fail("firing alert shows " + firing);
  const states = Object.fromEntries(results.alerts);
  if (states.BrowserTestPending !== "pending" || states.BrowserTestInactive !== "inactive") fail("states " + JSON.stringify(states));
  await shot("24-alerts.png");
  await page.click("[data-testid=alerts-show-inactive]");
  await waitFor(() => !document.querySelector("[data-testid=alert-rule][data-name=BrowserTestInactive]"), null, "the inactive filter");
  await page.click("[data-testid=alert-rule][data-name=BrowserTestFiring] [data-testid=alert-expr]");
  await waitFor(() => document.querySelector("[data-testid=explore-result]")?.dataset.state === "done", null, "the alert's expression in Explore");
  results.alert_expr = await page.inputValue(box);
  if (results.alert_expr !== "vector(1) > 0") fail("explore opened " + results.alert_expr);
  console.log(JSON.stringify(results));
} catch (e) {
  fail(String(e && e.stack || e));
} finally {
  await browser.close();
}
