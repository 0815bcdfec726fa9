// What a 20 ms frame costs in the browser, each way: libwvoice's core as
// WebAssembly in a worker and in an audio worklet (where the page runs
// it), the browser guide's JavaScript pipeline in the same browser, and
// the native core (bench_core) beside them.
//
// Run: node bench/bench_browser.mjs [frames]   (make bench runs it)
// Needs build-wasm/web/wvoice-core.wasm (make wasm), Debian's chromium and
// tests/browser/node_modules (scripts/browser-deps.sh); WVOICE_BENCH_CORE
// names build/bench_core for the native line.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { launch } from "../tests/browser/harness.mjs";

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const FRAMES = Number(process.argv[2]) || 5000;
const TYPES = { ".js": "text/javascript", ".html": "text/html",
                ".wasm": "application/wasm" };
/* What the page may fetch: the bench's files and the client's. */
const FOLDERS = { "/bench/browser/": [join(ROOT, "bench", "browser")],
                  "/web/": [join(ROOT, "web"), join(ROOT, "build-wasm", "web")] };

const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  for (const [prefix, dirs] of Object.entries(FOLDERS)) {
    const name = path.slice(prefix.length);
    if (!path.startsWith(prefix) || !/^[\w.-]+$/.test(name)) continue;
    const file = dirs.map((d) => join(d, name)).find(existsSync);
    if (file) {
      res.writeHead(200, { "content-type":
        TYPES[name.slice(name.lastIndexOf("."))] || "text/plain" });
      res.end(readFileSync(file));
      return;
    }
  }
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await launch(null);
let results;
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error("page:", e.message));
  await page.goto(`${origin}/bench/browser/bench.html?frames=${FRAMES}`);
  results = await page.waitForFunction(() => window.results,
                                       null, { timeout: 120000 })
    .then((h) => h.jsonValue());
} finally {
  await browser.close();
  server.close();
}

const us = (v) => v.toFixed(2).padStart(8);
const version = results.browser.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? "?";
console.log(`wvoice in ${version} (${results.frames} frames of 20 ms; ` +
            "us per frame, 48 kHz device)");
console.log("                              outbound   inbound");
console.log(`wasm core, worker            ${us(results.worker.wasm.outbound)}` +
            `  ${us(results.worker.wasm.inbound)}`);
console.log(`wasm core, audio worklet     ${us(results.worklet.wasm.outbound)}` +
            `  ${us(results.worklet.wasm.inbound)}   (Date.now: 1 ms steps)`);
console.log(`guide's JavaScript, worker   ${us(results.worker.guide.outbound)}` +
            `  ${us(results.worker.guide.inbound)}`);
const core = process.env.WVOICE_BENCH_CORE;
if (core && existsSync(core)) {
  const out = execFileSync(core, ["--count", "20000"], { encoding: "utf8" });
  const o = out.match(/outbound ([\d.]+) us/);
  const i = out.match(/inbound ([\d.]+) us/);
  if (o && i)
    console.log(`native core (bench_core)     ${us(Number(o[1]))}  ` +
                `${us(Number(i[1]))}   (inbound to 8 kHz int16)`);
}
