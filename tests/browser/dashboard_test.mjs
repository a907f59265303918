#!/usr/bin/env node
// Headless browser test of the orderpulse dashboard page (web/dashboard.html).
//
//   node dashboard_test.mjs --url http://127.0.0.1:PORT/ --screenshot out.png
//        [--timeout 60] [--width 1280] [--height 800] [--chromium /usr/bin/chromium]
//        [--no-reconnect]
//
// Works against the real `orderpulse serve` and against tests/browser/fake_server.py.
// Opens the page, waits for the WebSocket feed, compares what the page shows with /api/snapshot,
// checks layout, takes a full-page screenshot. Exit 0 when every check passed, 1 otherwise.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

// ------------------------------------------------------------------ arguments
function parseArgs(argv) {
  const o = { url: null, screenshot: null, timeout: 60, width: 1280, height: 800,
              chromium: "/usr/bin/chromium", reconnect: true, expectAlert: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--url") o.url = next();
    else if (a === "--screenshot") o.screenshot = next();
    else if (a === "--timeout") o.timeout = Number(next());
    else if (a === "--width") o.width = Number(next());
    else if (a === "--height") o.height = Number(next());
    else if (a === "--chromium") o.chromium = next();
    else if (a === "--no-reconnect") o.reconnect = false;
    else if (a === "--expect-alert") o.expectAlert = next();
    else if (a === "-h" || a === "--help") usage(null);
    else usage(`unknown argument: ${a}`);
  }
  if (!o.url) usage("--url is required");
  if (!(o.timeout > 0)) usage("--timeout must be a positive number of seconds");
  return o;
}
function usage(err) {
  const text = "usage: node dashboard_test.mjs --url http://127.0.0.1:PORT/ [--screenshot OUT.png] " +
    "[--timeout 60] [--width 1280] [--height 800] [--chromium /usr/bin/chromium] [--no-reconnect] [--expect-alert RULE]";
  if (err) { console.error(`error: ${err}\n${text}`); process.exit(1); }
  console.log(text); process.exit(0);
}

const opt = parseArgs(process.argv.slice(2));
const base = new URL(opt.url);
const snapshotUrl = new URL("/api/snapshot", base).toString();
const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1) + "s";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ reporting
let passed = 0, failed = 0;
function pass(name, detail = "") { passed++; console.log(`PASS ${name}${detail ? " - " + detail : ""}`); }
function fail(name, detail = "") { failed++; console.log(`FAIL ${name}${detail ? " - " + detail : ""}`); }
// first line of an error, without terminal colour codes (playwright adds a call log)
function errText(e) {
  const m = e && e.message ? e.message : String(e);
  return m.replace(/\x1b\[[0-9;]*m/g, "").split("\n")[0].trim();
}
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) fail(name); else pass(name, typeof r === "string" ? r : "");
  } catch (e) {
    fail(name, errText(e));
  }
}
function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

let browser = null;
// hard bound on the whole run
const hardTimer = setTimeout(async () => {
  fail("time limit", `the test did not finish within ${opt.timeout} s`);
  try { if (browser) await Promise.race([browser.close(), sleep(2000)]); } catch { /* ignore */ }
  finish();
}, opt.timeout * 1000);
hardTimer.unref();

async function waitFor(what, fn, ms, every = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() >= end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}` +
      (last instanceof Error ? ` (${last.message})` : ""));
    await sleep(every);
  }
}

async function fetchSnapshot() {
  const r = await fetch(snapshotUrl, { cache: "no-store", signal: AbortSignal.timeout(5000) });
  if (!r.ok) throw new Error(`GET ${snapshotUrl}: HTTP ${r.status}`);
  const j = await r.json();
  // the contract: /api/snapshot returns the snapshot message {"type":"snapshot","data":{...}}
  return j && j.type === "snapshot" && j.data ? j.data : j;
}

// Values the page shows, read in one go from the DOM.
const KPI_IDS = ["kpi-revenue", "kpi-orders", "kpi-items", "kpi-customers", "kpi-minute-revenue",
  "kpi-minute-orders", "feed-status", "watermark", "watermark-lag", "records-per-second",
  "count-read", "count-accepted", "count-rejected", "count-late", "count-duplicate"];

function readPage(page) {
  return page.evaluate(() => {
    const dv = (id) => { const e = document.getElementById(id); return e ? e.getAttribute("data-value") : null; };
    const dropped = {};
    document.querySelectorAll("#dropped-reasons li[data-reason]").forEach((li) => {
      dropped[li.getAttribute("data-reason")] = li.getAttribute("data-value");
    });
    return {
      revenue: dv("kpi-revenue"), orders: dv("kpi-orders"), items: dv("kpi-items"),
      customers: dv("kpi-customers"),
      minuteRevenue: dv("kpi-minute-revenue"), minuteOrders: dv("kpi-minute-orders"),
      read: dv("count-read"), accepted: dv("count-accepted"), rejected: dv("count-rejected"),
      late: dv("count-late"), duplicate: dv("count-duplicate"),
      dropped,
      batches: document.body.getAttribute("data-batches"),
    };
  });
}

function newestOpen(snap, spec) {
  let best = null;
  for (const w of snap.open_windows || []) {
    if (w && w.window === spec && (!best || Date.parse(w.start) > Date.parse(best.start))) best = w;
  }
  return best;
}

// Expected page values from a snapshot; all compared as numbers.
function expected(snap) {
  const t = snap.totals || {}, c = snap.counters || {};
  const specs = snap.windows || [];
  const chartSpec = specs.includes("1m/1m") || specs.length === 0 ? "1m/1m" : specs[0];
  const m = newestOpen(snap, chartSpec);
  const dropped = {};
  for (const [k, v] of Object.entries(c.dropped_by_reason || {})) if (Number(v) > 0) dropped[k] = Number(v);
  return {
    revenue: t.revenue, orders: t.orders, items: t.items, customers: t.active_customers,
    minuteRevenue: m ? m.revenue : 0, minuteOrders: m ? m.orders : 0,
    read: c.read, accepted: c.accepted, rejected: c.rejected, late: c.late, duplicate: c.duplicate,
    dropped,
  };
}

function diff(pageVals, exp) {
  const out = [];
  for (const k of Object.keys(exp)) {
    if (k === "dropped") continue;
    const pv = pageVals[k];
    if (pv === null || pv === "" || Number(pv) !== Number(exp[k])) out.push(`${k}: page ${JSON.stringify(pv)} vs snapshot ${JSON.stringify(exp[k])}`);
  }
  const pd = pageVals.dropped, ed = exp.dropped;
  const keys = new Set([...Object.keys(pd), ...Object.keys(ed)]);
  for (const k of keys) {
    if (Number(pd[k]) !== Number(ed[k])) out.push(`dropped_by_reason[${k}]: page ${JSON.stringify(pd[k] ?? null)} vs snapshot ${JSON.stringify(ed[k] ?? null)}`);
  }
  return out;
}

// ------------------------------------------------------------------ the test
async function run() {
  console.log(`dashboard test: ${opt.url} at ${opt.width}x${opt.height}`);
  browser = await chromium.launch({
    executablePath: opt.chromium,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 20000,
  });
  const context = await browser.newContext({ viewport: { width: opt.width, height: opt.height }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(`console error: ${m.text()}`); });
  const external = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (!["data:", "blob:"].includes(u.protocol) && u.host !== base.host) external.push(r.url());
  });

  let loaded = false;
  await check("page loads", async () => {
    const resp = await page.goto(opt.url, { waitUntil: "load", timeout: 15000 });
    if (!resp || !resp.ok()) throw new Error(`HTTP ${resp ? resp.status() : "no response"}`);
    const title = await page.title();
    if (!/orderpulse/i.test(title)) throw new Error(`title is ${JSON.stringify(title)}`);
    loaded = true;
    return `HTTP ${resp.status()}, title "${title}"`;
  });
  if (!loaded) return;
  pageForShot = page;

  await check("all KPI elements are present", async () => {
    const missing = await page.evaluate((ids) => ids.filter((id) => !document.getElementById(id)), KPI_IDS);
    const more = await page.evaluate(() => ["top-products", "categories", "dropped-reasons", "chart"]
      .filter((id) => !document.getElementById(id)));
    if (missing.length || more.length) throw new Error(`missing: ${[...missing, ...more].join(", ")}`);
    return `${KPI_IDS.length} ids + tables, list, canvas`;
  });

  let live = false;
  await check("feed connects and data arrives", async () => {
    try {
      await waitFor("feed-status 'connected' and a snapshot", () => page.evaluate(() => {
        const s = document.getElementById("feed-status");
        return s && s.textContent.trim() === "connected" && document.body.getAttribute("data-snapshot") === "1" &&
          document.getElementById("kpi-revenue").getAttribute("data-value") !== "";
      }), 15000);
    } catch (e) {
      const st = await page.evaluate(() => ({
        status: document.getElementById("feed-status").textContent.trim(),
        messages: document.body.getAttribute("data-messages") || "0",
        last: document.body.getAttribute("data-last-type") || "none",
      })).catch(() => null);
      throw new Error(errText(e) + (st ? `; feed-status "${st.status}", ${st.messages} message(s) received, last type ${st.last}` : ""));
    }
    live = true;
    return `after ${elapsed()}`;
  });
  if (!live) return;

  await check("totals and counters match /api/snapshot", async () => {
    const deadline = Date.now() + 10000;
    let attempts = 0, lastDiff = [], lastBatches = "";
    while (Date.now() < deadline) {
      attempts++;
      const before = await readPage(page);
      const snap = await fetchSnapshot();            // right after reading the page
      const exp = expected(snap);
      const d1 = diff(before, exp);
      if (d1.length === 0) return `equal on attempt ${attempts} (revenue ${before.revenue}, orders ${before.orders}, read ${before.read})`;
      const after = await readPage(page);             // the page may have caught up meanwhile
      if (diff(after, exp).length === 0) return `equal on attempt ${attempts} (revenue ${after.revenue}, orders ${after.orders}, read ${after.read})`;
      lastDiff = d1;
      lastBatches = `page batches ${before.batches}, snapshot batches ${snap.batches}`;
      await sleep(150 + Math.random() * 250);
    }
    throw new Error(`still different after ${attempts} attempts (${lastBatches}): ${lastDiff.slice(0, 6).join("; ")}`);
  });

  await check("header shows watermark, lag and records/s like the snapshot", async () => {
    const snap = await fetchSnapshot();
    const v = await page.evaluate(() => ({
      wm: document.getElementById("watermark").getAttribute("data-value"),
      wmText: document.getElementById("watermark").textContent.trim(),
      lag: document.getElementById("watermark-lag").textContent.trim(),
      rps: document.getElementById("records-per-second").textContent.trim(),
    }));
    if (snap.watermark === null || snap.watermark === undefined) {
      if (v.wm !== "") throw new Error(`snapshot has no watermark but the page has ${JSON.stringify(v.wm)}`);
      return "no watermark yet (empty server)";
    }
    if (!v.wm) throw new Error("watermark data-value is empty");
    if (!/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(v.wmText)) throw new Error(`watermark text ${JSON.stringify(v.wmText)}`);
    if (!/\d/.test(v.lag)) throw new Error(`lag text ${JSON.stringify(v.lag)}`);
    if (!/rec\/s/.test(v.rps)) throw new Error(`records/s text ${JSON.stringify(v.rps)}`);
    return `watermark ${v.wmText}, lag ${v.lag}, ${v.rps}`;
  });

  await check("top products and categories show the snapshot's window", async () => {
    const snap = await fetchSnapshot();
    const specs = snap.windows || [];
    const topSpec = specs.includes("10m/1m") || specs.length === 0 ? "10m/1m" : specs[specs.length - 1];
    const hasWindow = !!newestOpen(snap, topSpec) ||
      (snap.recent_windows || []).some((w) => w.window === topSpec);
    const rows = await page.evaluate(() => ({
      products: document.querySelectorAll("#top-products tbody tr[data-product]").length,
      cats: document.querySelectorAll("#categories tbody tr[data-category]").length,
    }));
    if (hasWindow && (rows.products === 0 || rows.cats === 0)) throw new Error(`snapshot has a ${topSpec} window but the page shows ${rows.products} products, ${rows.cats} categories`);
    if (!hasWindow && (rows.products || rows.cats)) throw new Error(`no ${topSpec} window in the snapshot but the page shows rows`);
    return hasWindow ? `${rows.products} products, ${rows.cats} categories` : "no window yet, empty tables";
  });

  if (opt.expectAlert) {
    // The server was configured so that this rule fires: its alert must reach the panel.
    await check(`alert ${opt.expectAlert} appears in the alerts panel`, async () => {
      const got = await waitFor(`a ${opt.expectAlert} alert in #alerts`, () => page.evaluate((rule) => {
        const li = [...document.querySelectorAll("#alerts li.alert")].find((e) => e.querySelector(".alert-rule")?.textContent === rule);
        return li ? { state: li.getAttribute("data-state"), cls: li.className, badge: document.getElementById("alerts-badge").textContent } : null;
      }, opt.expectAlert), 30_000, 200);
      if (!/sev-(info|warning|critical)/.test(got.cls)) throw new Error(`no severity class on the alert: ${got.cls}`);
      if (got.state !== "firing" && got.state !== "resolved") throw new Error(`state ${got.state}`);
      return `${got.state}, ${got.cls}, badge "${got.badge}"`;
    });
  }

  await check("no horizontal scroll", async () => {
    const w = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    if (w.sw > opt.width) throw new Error(`scrollWidth ${w.sw} > ${opt.width}`);
    return `scrollWidth ${w.sw}`;
  });

  await check("KPI values fit their cards", async () => {
    const bad = await page.evaluate(() => [...document.querySelectorAll(".card-value")]
      .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => `${e.id} (${e.scrollWidth} > ${e.clientWidth})`));
    if (bad.length) throw new Error(`overflowing: ${bad.join(", ")}`);
  });

  await check("chart canvas has a size and is drawn", async () => {
    await sleep(300); // one animation frame at least
    const r = await page.evaluate(() => {
      const c = document.getElementById("chart");
      const b = c.getBoundingClientRect();
      let painted = 0;
      try {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4 * 7) if (d[i] !== 0) painted++;
      } catch { painted = -1; }
      return { w: b.width, h: b.height, cw: c.width, ch: c.height, painted };
    });
    if (!(r.w > 0 && r.h > 0 && r.cw > 0 && r.ch > 0)) throw new Error(`canvas is ${r.w}x${r.h} (backing ${r.cw}x${r.ch})`);
    if (r.painted === 0) throw new Error("canvas is blank");
    return `${Math.round(r.w)}x${Math.round(r.h)} css px`;
  });

  if (opt.reconnect) {
    await check("reconnects after the socket drops", async () => {
      const seen = await page.evaluate(() => {
        window.__states = [];
        const el = document.getElementById("feed-status");
        new MutationObserver(() => window.__states.push(el.getAttribute("data-state")))
          .observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
        window.orderpulse.dropConnection();
        return true;
      });
      if (!seen) return false;
      await waitFor("feed-status back to 'connected'", () => page.evaluate(() =>
        window.__states.includes("reconnecting") &&
        document.getElementById("feed-status").textContent.trim() === "connected"), 10000);
      return "reconnecting\u2026 then connected";
    });
  }

  await check("no page errors and no external requests", async () => {
    if (pageErrors.length) throw new Error(pageErrors.slice(0, 5).join(" | "));
    if (external.length) throw new Error(`external requests: ${external.slice(0, 5).join(", ")}`);
  });

}

let pageForShot = null;
async function screenshot() {
  if (!opt.screenshot || !pageForShot) return;
  await check("screenshot saved", async () => {
    const out = resolve(opt.screenshot);
    mkdirSync(dirname(out), { recursive: true });
    await pageForShot.evaluate(() => window.scrollTo(0, 0));
    await pageForShot.screenshot({ path: out, fullPage: true, timeout: 10000 });
    return out;
  });
}

try {
  await run();
} catch (e) {
  fail("test run", errText(e));
}
try {
  await screenshot(); // also after a failure: it shows what went wrong
} finally {
  try { if (browser) await Promise.race([browser.close(), sleep(5000)]); } catch { /* ignore */ }
}
finish();
