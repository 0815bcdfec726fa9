// The browser module as a whole, loaded by web/core.js: what it imports
// (what core.js must provide, in a worklet too), what it exports (what
// wasm/web_api.h promises), and core.js's own helpers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeUTF8, encodeUTF8, loadCore } from "../../web/core.js";
import { newCore } from "./support.mjs";

const header = readFileSync(new URL("../../wasm/web_api.h", import.meta.url),
                            "utf8");
const promised = [...header.matchAll(/^WVW_API[^(]*?\b(wvw_\w+)\(/gm)]
  .map((m) => m[1]);

// The module itself, compiled from the same bytes, to ask what it holds.
function moduleOf() {
  return new WebAssembly.Module(readFileSync(process.env.WVOICE_WASM ??
    new URL("../../build-wasm/web/wvoice-core.wasm", import.meta.url)));
}

test("it imports only the two functions core.js provides", () => {
  const imports = WebAssembly.Module.imports(moduleOf())
    .map((i) => `${i.module}.${i.name}`).sort();
  assert.deepEqual(imports, ["env.emscripten_notify_memory_growth",
                             "wasi_snapshot_preview1.clock_time_get"]);
});

test("it exports every function of web_api.h, and no other wvw_", () => {
  assert.ok(promised.length > 50, `${promised.length} in the header`);
  const exported = WebAssembly.Module.exports(moduleOf())
    .map((e) => e.name).filter((n) => n.startsWith("wvw_"));
  assert.deepEqual(exported.sort(), [...promised].sort());
  const core = newCore();
  assert.ok(core.memory instanceof WebAssembly.Memory);
  for (const name of promised)
    assert.equal(typeof core.exports[name], "function", name);
});

test("its version is the project's", () => {
  const cmake = readFileSync(new URL("../../CMakeLists.txt", import.meta.url),
                             "utf8");
  const version = cmake.match(/project\(wvoice VERSION ([0-9.]+)/)[1];
  const core = newCore();
  assert.equal(core.string(core.exports.wvw_version()), version);
});

test("loadCore takes a WebAssembly.Module; instances share nothing", () => {
  const module = moduleOf();
  const a = loadCore(module);
  const b = loadCore(module);
  assert.notEqual(a.memory, b.memory);
  const pa = a.newString("one");
  const pb = b.newString("two");
  assert.equal(a.string(pa), "one");
  assert.equal(b.string(pb), "two");
});

test("memory that grows leaves the helpers working", () => {
  const core = newCore();
  const before = core.memory.buffer.byteLength;
  const keep = core.newString("before the growth");
  const big = core.alloc(32 << 20);
  assert.ok(core.memory.buffer.byteLength > before, "it grew");
  assert.equal(core.u8.length, core.memory.buffer.byteLength,
               "views made again");
  core.f32Array(big, 4).set([1, 2, 3, 4]);
  assert.deepEqual(Array.from(core.f32.subarray(big / 4, big / 4 + 4)),
                   [1, 2, 3, 4]);
  assert.equal(core.string(keep), "before the growth");
  core.free(big);
  core.free(keep);
});

test("strings: UTF-8 by hand, as TextEncoder and TextDecoder would", () => {
  const core = newCore();
  const samples = ["", "mark-1", "é", "€", "日本語", "😀 emoji", "a\u0000b",
                   "\ud800 lone", "end \udc00", "mixed é€😀 ascii"];
  for (const s of samples) {
    const want = new TextEncoder().encode(s);
    assert.deepEqual(encodeUTF8(s), want, JSON.stringify(s));
    assert.equal(decodeUTF8(want), new TextDecoder().decode(want));
    core.withString(s, (p, n) => {
      assert.equal(n, want.length);
      assert.deepEqual(core.u8Array(p, n), want);
      assert.equal(core.u8[p + n], 0, "NUL-terminated");
      assert.equal(core.string(p, n), new TextDecoder().decode(want));
    });
  }
  assert.equal(core.string(0), "");
});

test("error codes have their names and messages", () => {
  const core = newCore();
  assert.equal(core.error(-13), "bad DTMF digit");
  assert.equal(core.string(core.exports.wvw_error_name(-14)), "RATE");
  assert.equal(core.string(core.exports.wvw_status_name(2)), "connected");
  assert.equal(core.string(core.exports.wvw_status_name(9)), "unknown");
  assert.equal(core.string(core.exports.wvw_end_reason_name(2)),
               "remote-stop");
});
