// What the browser module's tests share: the module loaded through
// web/core.js exactly as the browser loads it (bytes in, instantiated
// synchronously, no Emscripten JavaScript), signals, and G.711 written out
// independently of the core.
import { readFileSync } from "node:fs";
import { loadCore } from "../../web/core.js";

// CTest gives the module's path; by hand, the default build's.
const wasmPath = process.env.WVOICE_WASM ??
  new URL("../../build-wasm/web/wvoice-core.wasm", import.meta.url);
const bytes = readFileSync(wasmPath);

// The module's bytes, a copy each time (as the page copies them to each
// context).
export function moduleBytes() {
  return bytes.buffer.slice(bytes.byteOffset,
                            bytes.byteOffset + bytes.byteLength);
}

// A fresh instance, as each worklet and the worker make their own.
export function newCore() {
  return loadCore(moduleBytes());
}

export function sine(freq, rate, seconds, amplitude) {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++)
    x[i] = amplitude * Math.sin(2 * Math.PI * freq * i / rate);
  return x;
}

export function rms(x, from = 0, to = x.length) {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
}

// Frequency from the rising zero crossings between the first and the last.
export function frequency(x, rate, from = 0, to = x.length) {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = from + 1; i < to; i++) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      if (first < 0) first = i;
      else count++;
      last = i;
    }
  }
  return count > 0 ? count * rate / (last - first) : 0;
}

// G.711 mu-law as spandsp and the browser guide encode it (bias 0x84).
export function ulawEncode(pcm) {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) {
    let v = pcm[i];
    let mask = 0xff;
    if (v < 0) {
      v = 0x84 - v - 1;
      mask = 0x7f;
    } else {
      v = 0x84 + v;
    }
    const seg = (31 - Math.clz32(v | 0xff)) - 7;
    out[i] = seg >= 8 ? 0x7f ^ mask : ((seg << 4) | ((v >> (seg + 3)) & 15)) ^ mask;
  }
  return out;
}

export function toInt16(x) {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++)
    out[i] = Math.max(-32768, Math.min(32767, Math.round(x[i] * 32767)));
  return out;
}
