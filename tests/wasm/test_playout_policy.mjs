// The playout policy as a page chooses it: TelephonySession's options
// playout and prebufferMs (web/wvoice.js), read by playoutPolicy() and
// handed to the playback worklet's PlaybackCore (web/call-core.js), which
// makes the core's playout with them and reports its figures.
import { test } from "node:test";
import assert from "node:assert/strict";

import { PlaybackCore, playoutPolicy } from "../../web/call-core.js";
import { TelephonySession } from "../../web/wvoice.js";
import { moduleBytes, sine, toInt16, ulawEncode } from "./support.mjs";

const RATE = 48000;
const FRAME = 160;
const TONE = ulawEncode(toInt16(sine(440, 8000, 1, 0.5)));

test("the options, as wvoice call takes its flags", () => {
  const cases = [
    [{}, { playout: "adaptive", prebufferMs: undefined }],
    [{ playout: "adaptive" }, { playout: "adaptive", prebufferMs: undefined }],
    [{ playout: "fixed" }, { playout: "fixed", prebufferMs: 300 }],
    [{ playout: "fixed", prebufferMs: 120 },
     { playout: "fixed", prebufferMs: 120 }],
    // prebufferMs alone: fixed, as it was before there was a choice.
    [{ prebufferMs: 1500 }, { playout: "fixed", prebufferMs: 1500 }],
    [{ prebufferMs: 0 }, { playout: "fixed", prebufferMs: 0 }],
    // React's hook passes what it was not given as undefined or null.
    [{ playout: undefined, prebufferMs: undefined },
     { playout: "adaptive", prebufferMs: undefined }],
    [{ playout: null, prebufferMs: null },
     { playout: "adaptive", prebufferMs: undefined }],
  ];
  for (const [options, want] of cases)
    assert.deepEqual(playoutPolicy(options), want, JSON.stringify(options));
});

test("options it does not take are refused, naming the option", () => {
  const cases = [
    [{ playout: "slow" }, /^playout "slow": "adaptive" or "fixed"/],
    [{ playout: "Fixed" }, /^playout "Fixed"/],
    [{ prebufferMs: -1 }, /^prebufferMs -1: a whole number/],
    [{ prebufferMs: 2.5 }, /^prebufferMs 2.5/],
    [{ prebufferMs: "300" }, /^prebufferMs 300/],
    [{ prebufferMs: 60001 }, /from 0 to 60000/],
    [{ playout: "adaptive", prebufferMs: 100 },
     /prebufferMs is the fixed playout's target/],
  ];
  for (const [options, words] of cases) {
    assert.throws(() => playoutPolicy(options),
                  (e) => e instanceof RangeError && words.test(e.message),
                  JSON.stringify(options));
    assert.throws(() => new TelephonySession(options), RangeError,
                  "the session refuses it when made: " +
                  JSON.stringify(options));
  }
});

test("a session's options are kept as given", () => {
  const s = new TelephonySession({ apiKey: "k", prebufferMs: 200 });
  assert.equal(s.options.prebufferMs, 200);
  assert.equal(s.options.playout, undefined);
  assert.deepEqual(new TelephonySession().stats(), {});
});

/* Paced 20 ms pushes until the playback core plays: how many frames. */
function framesBeforePlaying(core) {
  const out = new Float32Array(128);
  for (let i = 0; i < 50; i++) {
    core.pushUlaw(TONE.subarray(i * FRAME, (i + 1) * FRAME));
    for (let k = 0; k < 7.5 * 2; k++) // 20 ms at 48 kHz in halves of 128
      core.read(out.subarray(0, 64));
    if (core.stats().playing) return i + 1;
  }
  return Infinity;
}

test("PlaybackCore makes the playout the options ask for", () => {
  const cases = [
    [{ prebufferMs: 100 }, (n) => n === 5, (t) => t === 100],
    [{ playout: "fixed" }, (n) => n === 15, (t) => t === 300],
    [{ playout: "fixed", prebufferMs: 0 }, (n) => n === 1, (t) => t === 0],
    // Adaptive starts sooner than the guide's 300 ms on a clean stream,
    // at a target of its own.
    [{}, (n) => n < 15, (t) => t >= 40 && t <= 500],
    [{ playout: "adaptive" }, (n) => n < 15, (t) => t >= 40 && t <= 500],
  ];
  for (const [options, frames, target] of cases) {
    const core = new PlaybackCore(moduleBytes(), RATE, options);
    const n = framesBeforePlaying(core);
    const t = core.stats().targetMs;
    assert.ok(frames(n), `${JSON.stringify(options)}: ${n} frames`);
    assert.ok(target(t), `${JSON.stringify(options)}: target ${t} ms`);
  }
  assert.throws(() => new PlaybackCore(moduleBytes(), RATE,
                                       { playout: "slow" }), RangeError);
});

test("PlaybackCore's stats carry the policy's figures beside the old ones",
     () => {
  const core = new PlaybackCore(moduleBytes(), RATE); // adaptive
  for (let i = 0; i < 10; i++)
    core.pushUlaw(TONE.subarray(i * FRAME, (i + 1) * FRAME));
  const out = new Float32Array(128);
  for (let k = 0; k < 48000 * 0.6 / 128; k++) core.read(out);
  const s = core.stats();
  assert.deepEqual(Object.keys(s).sort(), [
    "clearedSamples", "concealedMs", "delayMs", "droppedMs", "insertedMs",
    "lateArrivals", "overflowSamples", "playedSamples", "playing",
    "playoutJitterMs", "queuedMs", "targetMs", "underruns"]);
  assert.equal(s.playedSamples, 1600, "200 ms of tone played");
  for (const [k, v] of Object.entries(s)) {
    if (k === "playing") continue;
    assert.ok(Number.isFinite(v) && v >= 0, `${k} ${v}`);
  }
  // Milliseconds of 8 kHz samples: whole eighths.
  for (const k of ["concealedMs", "insertedMs", "droppedMs"])
    assert.ok(Number.isInteger(s[k] * 8), `${k} ${s[k]}`);
});
