// useTelephonySession() (web/react.js) in an application of its own, as a
// guide reader would switch to it: React from npm (its UMD builds, through
// an import map, no bundler), web/ served by that application's server on
// another origin, the call to `wvoice serve --record`.
//
// Run: WVOICE_BIN=build/wvoice node tests/browser/test_react.mjs
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

import { KEY, launch, readRecord, recordIds, startServer, tempDir, until }
  from "./harness.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");
const TYPES = { ".js": "text/javascript", ".html": "text/html",
                ".wasm": "application/wasm" };

/* The application: a component on the hook, and its own page. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>an application on useTelephonySession</title>
<script src="/react/umd/react.development.js"></script>
<script src="/react-dom/umd/react-dom.development.js"></script>
<script type="importmap">{"imports": {"react": "/app/react.js"}}</script>
<div id="root"></div>
<script type="module" src="/app/main.js"></script>`;

/* React as an ES module, for the hook's `import ... from "react"`. */
const REACT_MODULE = `const R = window.React;
export default R;
export const { useCallback, useEffect, useRef, useState } = R;`;

const MAIN = `import { useTelephonySession } from "/web/react.js";
const h = React.createElement;
window.ids = [];
function App() {
  const call = useTelephonySession({
    wsBaseUrl: window.serverUrl, apiKey: window.apiKey, from: "alice",
    onCommunicationId: (id) => window.ids.push(id),
    playout: window.playout, prebufferMs: window.prebufferMs,
  });
  window.call = call;
  return h("p", { id: "state" }, JSON.stringify({
    status: call.status, error: call.error, elapsed: call.elapsed,
    isMuted: call.isMuted, communicationId: call.communicationId }));
}
ReactDOM.createRoot(document.getElementById("root")).render(h(App));`;

/* The application's own server: its page, React from node_modules, and
   web/ with the WebAssembly build's module, on a port of its own. */
function appServer() {
  const modules = join(HERE, "node_modules");
  const web = [join(ROOT, "web"), join(ROOT, "build-wasm", "web")];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let body = null, type = "text/javascript";
    if (path === "/") {
      body = PAGE;
      type = "text/html";
    } else if (path === "/app/react.js") {
      body = REACT_MODULE;
    } else if (path === "/app/main.js") {
      body = MAIN;
    } else if (/^\/react(-dom)?\/umd\/[\w.-]+\.js$/.test(path)) {
      body = readFileSync(join(modules, normalize(path)));
    } else if (/^\/web\/[\w.-]+$/.test(path)) {
      const file = web.map((d) => join(d, path.slice(5))).find(existsSync);
      if (file) {
        body = readFileSync(file);
        type = TYPES[file.slice(file.lastIndexOf("."))] || "text/plain";
      }
    }
    if (body === null) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": type }).end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(server)));
}

const dir = tempDir("react");
const records = join(dir, "records");
const app = await appServer();
const appOrigin = `http://127.0.0.1:${app.address().port}`;
const server = await startServer(["--record", records,
                                  "--allow-origin", appOrigin]);
const browser = await launch(null);

test.after(async () => {
  await browser.close();
  await server.stop();
  app.close();
});

async function openApp(key, { playout, prebufferMs } = {}) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.addInitScript(([url, k, p, ms]) => {
    window.serverUrl = url;
    window.apiKey = k;
    window.playout = p;
    window.prebufferMs = ms;
  }, [`ws://${server.url}`, key, playout, prebufferMs]);
  await page.goto(appOrigin + "/");
  page.errors = errors;
  return page;
}

const state = async (page) =>
  JSON.parse(await page.locator("#state").textContent());

test("the hook places a call, as the guide's did", async () => {
  const before = recordIds(records);
  const page = await openApp(KEY);
  assert.deepEqual(await state(page), { status: "idle", error: null,
                                        elapsed: 0, isMuted: false,
                                        communicationId: null });
  await page.evaluate(() => window.call.connect("echo"));
  const s = await state(page);
  assert.equal(s.status, "connected");
  assert.equal(s.communicationId.length, 36);
  assert.deepEqual(await page.evaluate(() => window.ids),
                   [s.communicationId], "onCommunicationId, once");
  await page.evaluate(() => window.call.setMuted(true));
  await until(async () => (await state(page)).isMuted, "isMuted");
  await page.evaluate(() => window.call.setMuted(false));
  await page.evaluate(() => window.call.sendDtmf("7"));
  await until(async () => (await state(page)).elapsed >= 2, "elapsed");
  const stats = await until(() => page.evaluate(() =>
    window.call.stats.targetMs !== undefined && window.call.stats),
    "the playout's figures in the hook's stats");
  assert.ok(stats.framesSent > 0, JSON.stringify(stats));
  for (const k of ["targetMs", "delayMs", "playoutJitterMs", "concealedMs",
                   "insertedMs", "droppedMs", "lateArrivals"])
    assert.ok(Number.isFinite(stats[k]) && stats[k] >= 0,
              `${k}: ${JSON.stringify(stats)}`);
  await page.evaluate(() => window.call.hangup());
  await until(async () => (await state(page)).status === "disconnected",
              "the end");
  const id = await until(() => recordIds(records).find((r) =>
    !before.includes(r)), "the record");
  assert.equal(id, s.communicationId);
  const r = await until(() => {
    try {
      const rec = readRecord(records, id);
      return rec.events.at(-1).event === "end" ? rec : null;
    } catch {
      return null;
    }
  }, "the complete record");
  assert.equal(r.events[0].from, "alice");
  assert.deepEqual(r.events.filter((e) => e.event === "dtmf")
                     .map((e) => e.dtmf), ["7"]);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the hook passes playout and prebufferMs to the session", async () => {
  for (const [options, words] of [
    [{ playout: "slow" }, /^playout "slow": "adaptive" or "fixed"/],
    [{ playout: "adaptive", prebufferMs: 100 }, /fixed playout's target/]]) {
    const page = await openApp(KEY, options);
    const rejected = await page.evaluate(() =>
      window.call.connect("echo").then(() => null, (e) => e.message));
    assert.match(rejected || "", words, JSON.stringify(options));
    assert.equal((await state(page)).status, "idle", "no call was tried");
    await page.close();
  }
  const page = await openApp(KEY, { playout: "fixed", prebufferMs: 100 });
  await page.evaluate(() => window.call.connect("echo"));
  assert.equal((await state(page)).status, "connected");
  await page.evaluate(() => window.call.hangup());
  await until(async () => (await state(page)).status === "disconnected",
              "the end");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the hook's error says why, and connect() rejects", async () => {
  const page = await openApp("wrong-key");
  const rejected = await page.evaluate(() =>
    window.call.connect("echo").then(() => null, (e) => e.message));
  assert.match(rejected, /refused/);
  await until(async () => /refused/.test((await state(page)).error || ""),
              "the hook's error");
  assert.equal((await state(page)).status, "disconnected");
  await page.close();
});
