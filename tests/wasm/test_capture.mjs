// The capture worklet's part of the browser module: the microphone's blocks
// at the context's rate become 20 ms frames of 8 kHz, through web/core.js
// as the worklet does it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore, sine, rms, frequency } from "./support.mjs";

const FRAME = 160;
const QUANTUM = 128; // an AudioWorklet's block

// Feeds x in render quanta, reading the frames after each as the worklet
// does; returns them as one Int16Array.
function capture(core, h, x, readFloat = false) {
  const e = core.exports;
  const inp = core.alloc(QUANTUM * 4);
  const out = core.alloc(FRAME * 4 * 4);
  const frames = [];
  for (let at = 0; at < x.length; at += QUANTUM) {
    const block = x.subarray(at, Math.min(at + QUANTUM, x.length));
    core.f32Array(inp, block.length).set(block);
    const waiting = e.wvw_capture_write(h, inp, block.length);
    assert.ok(waiting >= 0, `write: ${waiting}`);
    const n = readFloat ? e.wvw_capture_read_float(h, out, 4)
                        : e.wvw_capture_read(h, out, 4);
    assert.equal(n, waiting, "read takes every frame waiting");
    frames.push(readFloat ? Float32Array.from(core.f32Array(out, n * FRAME))
                          : Int16Array.from(core.i16Array(out, n * FRAME)));
  }
  core.free(inp);
  core.free(out);
  const all = new (readFloat ? Float32Array : Int16Array)(
      frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    all.set(f, at);
    at += f.length;
  }
  return all;
}

for (const rate of [48000, 44100]) {
  test(`half a second of 1 kHz at ${rate} Hz is 25 frames of 1 kHz at 8 kHz`,
       () => {
    const core = newCore();
    const h = core.exports.wvw_capture_create(rate, -1);
    assert.ok(h > 0, `create: ${h}`);
    const pcm = capture(core, h, sine(1000, rate, 0.5, 0.5));
    assert.equal(pcm.length, 25 * FRAME);
    assert.equal(core.exports.wvw_capture_frames(h), 25);
    // Past the filter's delay (3 ms): the tone's level and pitch.
    const level = rms(pcm, 80) / 32768;
    assert.ok(Math.abs(20 * Math.log10(level / (0.5 / Math.SQRT2))) < 0.7,
              `level ${level}`);
    const f = frequency(pcm, 8000, 80);
    assert.ok(Math.abs(f - 1000) < 2, `frequency ${f}`);
    core.exports.wvw_capture_destroy(h);
  });
}

test("a tone above 4 kHz does not fold back into the frames", () => {
  const core = newCore();
  const h = core.exports.wvw_capture_create(48000, -1);
  const pcm = capture(core, h, sine(6000, 48000, 0.5, 0.5));
  assert.ok(rms(pcm, 80) / 32768 < 0.5 * 1e-3, "60 dB down at least");
});

test("mute gives zeros from the next write, and unmute the audio again",
     () => {
  const core = newCore();
  const e = core.exports;
  const h = e.wvw_capture_create(48000, -1);
  capture(core, h, sine(1000, 48000, 0.2, 0.5));
  e.wvw_capture_set_muted(h, 1);
  assert.equal(e.wvw_capture_muted(h), 1);
  const muted = capture(core, h, sine(1000, 48000, 0.2, 0.5));
  // What was in the resampler and the partial frame still comes out first.
  assert.ok(rms(muted, 0, FRAME) > 0);
  assert.equal(rms(muted, 2 * FRAME), 0);
  e.wvw_capture_set_muted(h, 0);
  const again = capture(core, h, sine(1000, 48000, 0.2, 0.5));
  assert.ok(rms(again, 2 * FRAME) / 32768 > 0.3);
});

test("frames nobody reads: the newest second is kept, the rest counted",
     () => {
  const core = newCore();
  const e = core.exports;
  const h = e.wvw_capture_create(8000, -1);
  const inp = core.alloc(8000 * 4);
  const x = new Float32Array(8000);
  for (let i = 0; i < x.length; i++) x[i] = (i % 160) / 32768;
  core.f32Array(inp, x.length).set(x);
  e.wvw_capture_write(h, inp, 8000);
  assert.equal(e.wvw_capture_write(h, inp, 8000), 50);
  assert.equal(e.wvw_capture_available(h), 50);
  assert.equal(e.wvw_capture_dropped(h), 50);
  assert.equal(e.wvw_capture_frames(h), 100);
});

test("float frames go back to the same int16 samples", () => {
  const core = newCore();
  const e = core.exports;
  const ints = capture(core, e.wvw_capture_create(48000, -1),
                       sine(1000, 48000, 0.2, 0.9));
  const floats = capture(core, e.wvw_capture_create(48000, -1),
                         sine(1000, 48000, 0.2, 0.9), true);
  assert.equal(floats.length, ints.length);
  for (let i = 0; i < ints.length; i++) {
    const f = floats[i];
    assert.ok(f >= -1 && f <= 1);
    // The core's float to int16: negatives times 32768, positives 32767.
    const back = Math.trunc(f < 0 ? f * 32768 : f * 32767);
    if (back !== ints[i]) assert.fail(`sample ${i}: ${f} -> ${back}, not ${ints[i]}`);
  }
});

test("a rate the core does not take is refused with WV_ERR_RATE", () => {
  const core = newCore();
  const rc = core.exports.wvw_capture_create(4000, -1);
  assert.equal(core.string(core.exports.wvw_error_name(rc)), "RATE");
});
