// What one 20 ms frame costs the browser's module under node, on each path
// as the page runs it (printed, never asserted: machines are shared):
//
//   outbound  capture worklet: 48 kHz float in render quanta of 128 ->
//             20 ms frames of 8 kHz; worker: the frame -> the call -> the
//             JSON text of an `audio` event, taken out as a string
//   inbound   worker: the JSON text of an `audio` event -> the call ->
//             the mu-law record; playback worklet: pushed, and 20 ms read
//             at 48 kHz in render quanta; with the fixed playout (at 0 ms)
//             and with the adaptive one (the page's default)
//
// Usage: node tests/wasm/bench_web_api.mjs [--quick]   (WVOICE_WASM: the
// module; build-wasm/web/wvoice-core.wasm by default)
import { newCore, sine } from "./support.mjs";

const RATE = 48000;
const BLOCK = RATE / 50;
const QUANTUM = 128;
const frames = process.argv.includes("--quick") ? 20000 : 100000;

function outbound() {
  const cap = newCore();
  const wk = newCore();
  const c = cap.exports;
  const w = wk.exports;
  const hc = c.wvw_capture_create(RATE, -1);
  const hw = w.wvw_call_create(8000, -1, -1, 0);
  w.wvw_call_connect(hw, 0);
  w.wvw_call_opened(hw, 0);
  const input = sine(440, RATE, 1, 0.5);
  const inp = cap.alloc(QUANTUM * 4);
  const frame = cap.alloc(160 * 4);
  const wframe = wk.alloc(160 * 4);
  let at = 0;
  let chars = 0;
  const run = (n) => {
    for (let f = 0; f < n; f++) {
      for (let done = 0; done < BLOCK; done += QUANTUM) {
        const k = Math.min(QUANTUM, BLOCK - done);
        if (at + k > input.length) at = 0;
        cap.f32Array(inp, k).set(input.subarray(at, at + k));
        at += k;
        if (c.wvw_capture_write(hc, inp, k) > 0) {
          c.wvw_capture_read_float(hc, frame, 1);
          wk.f32Array(wframe, 160).set(cap.f32Array(frame, 160));
          w.wvw_call_write_audio(hw, wframe, 160);
          let p;
          while ((p = w.wvw_call_peek_frame(hw))) {
            chars += wk.string(p, w.wvw_call_frame_len(hw)).length;
            w.wvw_call_frame_sent(hw);
          }
        }
      }
    }
  };
  run(frames / 10); // warm up
  const t0 = performance.now();
  run(frames);
  const us = (performance.now() - t0) * 1000 / frames;
  if (chars === 0) throw new Error("outbound: nothing came out");
  return us;
}

function inbound(flags) {
  const wk = newCore();
  const pb = newCore();
  const w = wk.exports;
  const p = pb.exports;
  const hw = w.wvw_call_create(8000, -1, -1, 0);
  w.wvw_call_connect(hw, 0);
  w.wvw_call_opened(hw, 0);
  wk.withString('{"event":"start","communication_id":"b"}',
                (s, n) => w.wvw_call_receive(hw, s, n, 0));
  while (w.wvw_call_next_output(hw));
  const ulaw = new Uint8Array(160);
  for (let i = 0; i < 160; i++) ulaw[i] = (i * 37) & 0xff;
  const text = JSON.stringify({ event: "audio",
                                payload: Buffer.from(ulaw).toString("base64") });
  const hp = p.wvw_playout_create(RATE, flags ? -1 : 0, -1, -1, -1, flags);
  const bytes = pb.alloc(160);
  const out = pb.alloc(QUANTUM * 4);
  let sum = 0;
  const run = (n) => {
    for (let f = 0; f < n; f++) {
      wk.withString(text, (s, len) => w.wvw_call_receive(hw, s, len, 0));
      let r;
      while ((r = w.wvw_call_next_output(hw))) {
        const rec = wk.record(r);
        pb.u8Array(bytes, rec.len).set(wk.u8Array(rec.data, rec.len));
        p.wvw_playout_push_ulaw(hp, bytes, rec.len);
      }
      for (let done = 0; done < BLOCK; done += QUANTUM) {
        const k = Math.min(QUANTUM, BLOCK - done);
        p.wvw_playout_read(hp, out, k);
        sum += pb.f32Array(out, 1)[0];
      }
    }
  };
  run(frames / 10);
  const t0 = performance.now();
  run(frames);
  const us = (performance.now() - t0) * 1000 / frames;
  if (Number.isNaN(sum)) throw new Error("inbound: NaN");
  return us;
}

console.log(`wvoice-core.wasm under node ${process.version} (${frames} frames of 20 ms)`);
console.log(`outbound  48 kHz float -> audio JSON text        ${outbound().toFixed(2)} us/frame`);
console.log(`inbound   audio JSON text -> 48 kHz float played ${inbound(0).toFixed(2)} us/frame (fixed playout)`);
console.log(`inbound   the same, adaptive playout             ${inbound(2).toFixed(2)} us/frame`);
