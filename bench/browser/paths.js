// One 20 ms frame each way, three implementations, timed over n frames:
//
//   wasm     libwvoice's core as the page runs it (call-core.js): 48 kHz
//            float -> capture and resampler -> the call -> JSON text out;
//            JSON text in -> the call -> playout -> 48 kHz float out
//   guide    the browser guide's pipeline, written out here the way its
//            JavaScript does it: linear interpolation, mu-law by
//            arithmetic, btoa of a binary string and JSON.stringify out;
//            JSON.parse, atob, mu-law decode and linear interpolation in
//
// clock() is the context's (performance.now in a worker, Date.now in an
// audio worklet, which has no performance). Returns microseconds a frame.
import { CallCore, CaptureCore, PlaybackCore } from "../../web/call-core.js";

const RATE = 48000;
const BLOCK = 960; /* 20 ms at 48 kHz */

function speechLike(n) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++)
    x[i] = 0.3 * Math.sin(2 * Math.PI * 220 * i / RATE) +
           0.1 * Math.sin(2 * Math.PI * 1800 * i / RATE);
  return x;
}

/* The server's audio event, made where there is btoa (not in a worklet). */
export function serverAudio() {
  let bin = "";
  for (let i = 0; i < 160; i++) bin += String.fromCharCode((i * 37) & 0xff);
  return JSON.stringify({ event: "audio", payload: btoa(bin) });
}

export function wasm(bytes, n, clock, text) {
  const cap = new CaptureCore(bytes, RATE);
  const call = new CallCore(bytes);
  const play = new PlaybackCore(bytes, RATE, 0);
  call.connect(0);
  call.opened(0);
  call.peekFrame();
  call.frameSent();
  call.receive('{"event":"start","communication_id":"bench"}', 0);
  const input = speechLike(BLOCK);
  const frame = new Float32Array(160);
  const out = new Float32Array(BLOCK);
  let sink = 0;

  const run = (frames, fn) => {
    const t0 = clock();
    for (let i = 0; i < frames; i++) fn(i);
    return (clock() - t0) * 1000 / frames;
  };
  const outboundFrame = () => {
    cap.write(input);
    while (cap.framesReady() > 0) {
      cap.takeFrame(frame);
      call.writeAudio(frame);
    }
    const f = call.peekFrame();
    if (f) {
      sink += f.length;
      call.frameSent();
    }
  };
  const inboundFrame = (i) => {
    call.receive(text, i * 20);
    for (const o of call.outputs())
      if (o.kind === "audio") play.pushUlaw(o.bytes);
    play.read(out);
    sink += out[0];
  };
  run(n / 10, outboundFrame); /* the JIT's turn first */
  run(n / 10, inboundFrame);
  const outbound = run(n, outboundFrame);
  const inbound = run(n, inboundFrame);
  return { outbound, inbound, sink };
}

/* mu-law as the guide computes it: bias 0x84, clip 32635. */
function ulawEncode(s) {
  const sign = s < 0 ? 0x80 : 0;
  let v = Math.min(Math.abs(s), 32635) + 0x84;
  let exp = 7;
  for (let mask = 0x4000; (v & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (v >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

function ulawDecode(u) {
  u = ~u & 0xff;
  const sign = u & 0x80, exp = (u >> 4) & 7, mant = u & 0x0f;
  const v = (((mant << 3) + 0x84) << exp) - 0x84;
  return sign ? -v : v;
}

export function guide(n, clock) {
  const r1 = guideOnce(n / 10, clock); /* the JIT's turn first */
  const r = guideOnce(n, clock);
  r.sink += r1.sink;
  return r;
}

function guideOnce(n, clock) {
  const input = speechLike(BLOCK);
  const text = serverAudio();
  const out = new Float32Array(BLOCK);
  let sink = 0;

  let t0 = clock();
  for (let i = 0; i < n; i++) {
    const ratio = RATE / 8000;
    const m = Math.floor(BLOCK / ratio);
    const pcm = new Int16Array(m);
    for (let j = 0; j < m; j++) {
      const p = j * ratio, a = Math.floor(p), f = p - a;
      const s = input[a] * (1 - f) + (input[a + 1] ?? input[a]) * f;
      pcm[j] = Math.max(-32768, Math.min(32767, Math.round(s * 32767)));
    }
    let bin = "";
    for (let j = 0; j < m; j++) bin += String.fromCharCode(ulawEncode(pcm[j]));
    const msg = JSON.stringify({ event: "audio", payload: btoa(bin) });
    sink += msg.length;
  }
  const outbound = (clock() - t0) * 1000 / n;

  t0 = clock();
  for (let i = 0; i < n; i++) {
    const ev = JSON.parse(text);
    const bin = atob(ev.payload);
    const pcm = new Float32Array(bin.length);
    for (let j = 0; j < bin.length; j++)
      pcm[j] = ulawDecode(bin.charCodeAt(j)) / 32768;
    const ratio = pcm.length / BLOCK;
    for (let j = 0; j < BLOCK; j++) {
      const p = j * ratio, a = Math.floor(p), f = p - a;
      out[j] = pcm[a] * (1 - f) + (pcm[a + 1] ?? pcm[a]) * f;
    }
    sink += out[1];
  }
  const inbound = (clock() - t0) * 1000 / n;
  return { outbound, inbound, sink };
}
