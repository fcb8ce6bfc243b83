// Debian's Chromium through playwright-core, as every browser check starts
// it: headless, no sandbox (CI containers), nothing fetched on its own.

import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require(path.resolve("tests/peers/node_modules/playwright-core"));

/// Starts the browser and opens one 1280×900 page: { browser, page }.
export async function openPage() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  return { browser, page };
}

/// Prints "FAIL: <message>" and exits 1.
export function fail(message) { console.error("FAIL: " + message); process.exit(1); }
