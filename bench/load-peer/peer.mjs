// bench_load's Node peer: N concurrent calls from one Node process, each
// running the browser guide's pipeline over the `ws` package, so that
// `wvoice load` has a yardstick measured on the same machine in the same
// run (bench/bench_load.py).
//
// Per call, what the guide's page does with its two worklets and worker:
//   - a 20 ms clock of its own (the guide gives each session its own
//     AudioContext, so each call here has its own timer), which delivers
//     every chunk that is due, as an audio clock does after a stall;
//   - outbound, per chunk: 960 float samples at 48 kHz (the mic worklet's
//     copy) -> linear interpolation to 8 kHz -> Int16 -> mu-law (bias 0x84,
//     clip 32635, as the guide's codec) -> a binary string and btoa ->
//     JSON.stringify({event: "audio", payload}) -> send, dropped unless the
//     socket is open;
//   - inbound: JSON.parse, atob, mu-law decode, Int16 -> Float32, into a
//     playout ring with the guide's 300 ms pre-buffer, read 160 samples a
//     tick; a mark is placed at the write position and answered with
//     {event: "mark", mark} when the read position passes it; clear empties
//     the ring and drops the marks;
//   - the subprotocols ["apikey", KEY], {event: "start"} on open,
//     {event: "stop"} then close to hang up.
// Lateness: each frame's send time minus its schedule, open + k x 20 ms.
//
// Run: node peer.mjs --url ws://127.0.0.1:PORT --calls N [--rate CPS]
//        [--duration SEC] [--agent ID] [--api-key KEY] [--timeout SEC]
// (the key also from WVOICE_API_KEY). Prints one JSON line at the end:
// {"counts": {...}, "metrics": {"lateness_ms": {...}}, ...}, the same
// names as wvoice load's report where they mean the same. Exit 0, or 1
// when a call failed, 2 on a usage error.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

const USAGE = "usage: node peer.mjs --url ws://HOST:PORT --calls N " +
  "[--rate CPS] [--duration SEC] [--agent ID] [--api-key KEY] [--timeout SEC]";

function parseArgs(argv) {
  const o = { url: "", calls: 0, rate: 50, duration: 10, agent: "silent",
              apiKey: process.env.WVOICE_API_KEY || "", timeout: 10 };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      usage(`${name}: not a positive number: ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === "-h" || a === "--help") { console.log(USAGE); process.exit(0); }
    if (v === undefined) usage(`${a}: needs a value`);
    i++;
    switch (a) {
      case "--url": o.url = v.replace(/\/+$/, ""); break;
      case "--calls": o.calls = Math.floor(num(a, v)); break;
      case "--rate": o.rate = num(a, v); break;
      case "--duration": o.duration = num(a, v); break;
      case "--timeout": o.timeout = num(a, v); break;
      case "--agent": o.agent = v; break;
      case "--api-key": o.apiKey = v; break;
      default: usage(`unknown option ${a}`);
    }
  }
  if (!/^wss?:\/\//.test(o.url)) usage("--url: ws:// or wss:// URL needed");
  if (!o.calls) usage("--calls N needed");
  return o;
}

function usage(msg) {
  console.error(`peer: ${msg}\n${USAGE}`);
  process.exit(2);
}

// ---- the guide's codec path, written out -------------------------------

const MIC_RATE = 48000;
const CHUNK = 960;        /* the mic worklet's 20 ms at 48 kHz */
const FRAME_MS = 20;
const PREBUFFER = 2400;   /* 300 ms at 8 kHz */
const RING0 = 40000;      /* the playout ring's first size, grown by this */

function linearResample(input, fromRate, toRate) {
  if (fromRate === toRate) return input;
  const ratio = fromRate / toRate;
  const out = new Float32Array(Math.ceil(input.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const p = i * ratio, a = Math.floor(p);
    const b = Math.min(a + 1, input.length - 1), t = p - a;
    out[i] = input[a] * (1 - t) + input[b] * t;
  }
  return out;
}

function float32ToInt16(input) {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const s = Math.max(-1, Math.min(1, input[i]));
    out[i] = s < 0 ? s * 0x8000 : s * 0x7fff;
  }
  return out;
}

function int16ToFloat32(input) {
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = input[i] / 0x8000;
  return out;
}

function ulawEncodeSample(s) {
  const sign = s < 0 ? 0x80 : 0;
  const v = Math.min(Math.abs(s), 32635) + 0x84;
  let exp = 7;
  for (let mask = 0x4000; (v & mask) === 0 && exp > 0; mask >>= 1) exp--;
  return ~(sign | (exp << 4) | ((v >> (exp + 3)) & 0x0f)) & 0xff;
}

function ulawDecodeSample(u) {
  u = ~u & 0xff;
  const exp = (u >> 4) & 7;
  const v = ((((u & 0x0f) << 3) + 0x84) << exp) - 0x84;
  return u & 0x80 ? -v : v;
}

function ulawEncode(pcm) {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = ulawEncodeSample(pcm[i]);
  return out;
}

function ulawDecode(bytes) {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = ulawDecodeSample(bytes[i]);
  return out;
}

function encodeBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i++)
    binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

function decodeBase64(b64) {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/* What the microphone hears, looped: 1.5 s of a voice-like tone with a
   syllable rhythm, then 1.5 s of silence, so an agent that answers
   utterances (echo) has turns to answer. */
const TALK = (() => {
  const n = 3 * MIC_RATE, x = new Float32Array(n);
  for (let i = 0; i < n / 2; i++) {
    const t = i / MIC_RATE;
    const env = 0.5 - 0.5 * Math.cos(2 * Math.PI * 4 * t);
    x[i] = env * (0.25 * Math.sin(2 * Math.PI * 180 * t) +
                  0.12 * Math.sin(2 * Math.PI * 720 * t) +
                  0.06 * Math.sin(2 * Math.PI * 1500 * t));
  }
  return x;
})();

// ---- the playout side: the guide's playback worklet, in short -----------

class Playout {
  constructor(onMark) {
    this.onMark = onMark;
    this.reset();
  }

  reset() {
    this.buf = new Float32Array(RING0);
    this.w = 0;
    this.r = 0;
    this.filled = 0;
    this.prebuffering = true;
    this.marks = [];
    this.totalWritten ??= 0; /* the guide keeps its totals across a clear */
    this.totalRead ??= 0;
  }

  push(samples) {
    while (this.filled + samples.length > this.buf.length) this.grow();
    for (let i = 0; i < samples.length; i++) {
      this.buf[this.w] = samples[i];
      this.w = (this.w + 1) % this.buf.length;
      this.filled++;
      this.totalWritten++;
    }
    if (this.prebuffering && this.filled >= PREBUFFER)
      this.prebuffering = false;
  }

  grow() {
    const next = new Float32Array(this.buf.length + RING0);
    for (let i = 0; i < this.filled; i++)
      next[i] = this.buf[(this.r + i) % this.buf.length];
    this.buf = next;
    this.r = 0;
    this.w = this.filled;
  }

  mark(id) {
    this.marks.push({ id, position: this.totalWritten });
  }

  /* One 20 ms block of the speaker's: 160 samples read. */
  process(out) {
    if (this.prebuffering) return;
    for (let i = 0; i < out.length; i++) {
      if (this.filled > 0) {
        out[i] = this.buf[this.r];
        this.r = (this.r + 1) % this.buf.length;
        this.filled--;
        this.totalRead++;
      } else {
        out[i] = 0;
      }
    }
    if (this.marks.length && this.totalRead >= this.marks[0].position) {
      const left = [];
      for (const m of this.marks)
        if (this.totalRead >= m.position) this.onMark(m.id); else left.push(m);
      this.marks = left;
    }
  }
}

// ---- the figures ----------------------------------------------------------

/* Lateness in 10 µs bins up to 2 s; beyond that, kept as they are. */
class Lateness {
  constructor() {
    this.bins = new Uint32Array(200000);
    this.over = [];
    this.count = 0;
    this.late = 0;
    this.max = 0;
  }

  add(ms) {
    const v = Math.max(0, ms);
    const b = Math.floor(v * 100);
    if (b < this.bins.length) this.bins[b]++; else this.over.push(v);
    this.count++;
    if (v > 10) this.late++;
    if (v > this.max) this.max = v;
  }

  quantile(q) {
    if (!this.count) return 0;
    const want = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let b = 0; b < this.bins.length; b++) {
      seen += this.bins[b];
      if (seen >= want) return Math.min(this.max, (b + 1) / 100);
    }
    const over = this.over.slice().sort((a, b) => a - b);
    return over[Math.min(over.length - 1, want - seen - 1)];
  }

  summary() {
    const r = (x) => Math.round(x * 1000) / 1000;
    return { p50: r(this.quantile(0.5)), p90: r(this.quantile(0.9)),
             p99: r(this.quantile(0.99)), p999: r(this.quantile(0.999)),
             max: r(this.max), count: this.count };
  }
}

// ---- one call ---------------------------------------------------------------

const counts = { calls_planned: 0, calls_started: 0, calls_connected: 0,
                 calls_completed: 0, calls_failed: 0, calls_peak: 0,
                 frames_sent: 0, frames_late: 0, frames_dropped: 0,
                 frames_received: 0, marks_received: 0, marks_answered: 0,
                 clears_received: 0 };
const errors = {};
const lateness = new Lateness();
let up = 0;
let ended = 0;

function tally(key) {
  errors[key] = (errors[key] || 0) + 1;
}

class Call {
  constructor(opt, url) {
    this.opt = opt;
    this.done = false;
    this.confirmed = false;
    this.timer = null;
    this.k = 0;
    this.talkAt = 0;
    this.speaker = new Float32Array(160);
    this.playout = new Playout((id) => {
      this.send({ event: "mark", mark: id });
      counts.marks_answered++;
    });
    counts.calls_started++;
    this.ws = new WebSocket(url, ["apikey", opt.apiKey],
                            { handshakeTimeout: opt.timeout * 1000,
                              perMessageDeflate: false });
    this.ws.on("open", () => this.opened());
    this.ws.on("message", (data, binary) => {
      if (!binary) this.received(data.toString());
    });
    this.ws.on("unexpected-response", (_req, res) => {
      this.end(`refused: ${res.statusCode}`);
      res.resume();
      this.ws.terminate();
    });
    this.ws.on("error", (e) => this.end(`error: ${e.code || e.message}`));
    this.ws.on("close",
               (code) => this.end(code === 1000 ? null : `close ${code}`));
    this.confirmTimer = setTimeout(() => {
      if (!this.confirmed) this.end("timeout: no start");
    }, opt.timeout * 1000);
  }

  opened() {
    this.send({ event: "start" });
    this.t0 = performance.now();
    this.tick();
  }

  /* The call's audio clock: every chunk that is due, then sleep to the
     next one. */
  tick() {
    if (this.done) return;
    const now = performance.now();
    for (let due = this.t0 + this.k * FRAME_MS; due <= now;
         due = this.t0 + this.k * FRAME_MS) {
      this.micChunk(due);
      this.playout.process(this.speaker);
      this.k++;
      if (this.done) return;
    }
    if (this.confirmed && now - this.confirmedAt >= this.opt.duration * 1000) {
      this.hangUp();
      return;
    }
    const next = this.t0 + this.k * FRAME_MS;
    this.timer = setTimeout(() => this.tick(),
                            Math.max(1, Math.ceil(next - now)));
  }

  micChunk(due) {
    /* The worklet's copy of its 960-sample buffer. */
    if (this.talkAt + CHUNK > TALK.length) this.talkAt = 0;
    const samples = TALK.slice(this.talkAt, this.talkAt + CHUNK);
    this.talkAt += CHUNK;
    if (this.ws.readyState !== WebSocket.OPEN) {
      counts.frames_dropped++;
      return;
    }
    const resampled = linearResample(samples, MIC_RATE, 8000);
    const encoded = ulawEncode(float32ToInt16(resampled));
    this.ws.send(JSON.stringify({ event: "audio",
                                  payload: encodeBase64(encoded) }));
    lateness.add(performance.now() - due);
    counts.frames_sent++;
  }

  received(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      tally("bad JSON from the server");
      return;
    }
    switch (msg.event) {
      case "start":
        if (this.confirmed) break;
        this.confirmed = true;
        this.confirmedAt = performance.now();
        clearTimeout(this.confirmTimer);
        counts.calls_connected++;
        if (++up > counts.calls_peak) counts.calls_peak = up;
        break;
      case "audio":
        if (typeof msg.payload === "string") {
          counts.frames_received++;
          this.playout.push(
            int16ToFloat32(ulawDecode(decodeBase64(msg.payload))));
        }
        break;
      case "mark":
        if (typeof msg.mark === "string") {
          counts.marks_received++;
          this.playout.mark(msg.mark);
        }
        break;
      case "clear":
        counts.clears_received++;
        this.playout.reset();
        break;
      case "stop":
        this.end(null);
        break;
      default:
        break;
    }
  }

  send(obj) {
    if (this.ws.readyState === WebSocket.OPEN)
      this.ws.send(JSON.stringify(obj));
  }

  hangUp() {
    this.send({ event: "stop" });
    this.end(null);
  }

  /* error: null for a call that ended as planned. */
  end(error) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    clearTimeout(this.confirmTimer);
    if (this.confirmed) up--;
    if (error === null && this.confirmed) {
      counts.calls_completed++;
    } else {
      counts.calls_failed++;
      tally(error ?? "ended before the start");
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    if (++ended === counts.calls_planned) finish();
  }
}

// ---- the run --------------------------------------------------------------

const opt = parseArgs(process.argv.slice(2));
const params = new URLSearchParams();
params.set("agent_id", opt.agent);
params.set("synthetic", "true");
const url = `${opt.url}/telephony/websocket/call?${params}`;
counts.calls_planned = opt.calls;

/* The JIT's turn first, off the clock: the pipeline both ways, as a page
   that has been up a while would have it compiled. */
{
  const speaker = new Float32Array(160);
  const play = new Playout(() => {});
  for (let i = 0; i < 2000; i++) {
    const at = (i * CHUNK) % (TALK.length - CHUNK);
    const text = JSON.stringify({ event: "audio", payload: encodeBase64(
      ulawEncode(float32ToInt16(linearResample(TALK.slice(at, at + CHUNK),
                                               MIC_RATE, 8000)))) });
    const msg = JSON.parse(text);
    play.push(int16ToFloat32(ulawDecode(decodeBase64(msg.payload))));
    play.process(speaker);
  }
}

const cpu0 = process.cpuUsage();
const wall0 = performance.now();
const calls = [];
for (let i = 0; i < opt.calls; i++)
  setTimeout(() => calls.push(new Call(opt, url)), (i * 1000) / opt.rate);

/* A bound on the whole run: the last start, one call, the timeouts. */
const limit = setTimeout(() => {
  for (const c of calls) if (!c.done) c.end("timeout: run");
}, ((opt.calls / opt.rate) + opt.duration + 2 * opt.timeout + 5) * 1000);

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(limit);
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - wall0) / 1000;
  counts.frames_late = lateness.late;
  const out = {
    peer: "node ws + the browser guide's pipeline",
    node: process.version,
    ws: wsVersion(),
    url: opt.url, agent: opt.agent, calls: opt.calls, rate_cps: opt.rate,
    duration_s: opt.duration,
    counts,
    metrics: { lateness_ms: lateness.summary() },
    errors,
    wall_s: Math.round(wall * 1000) / 1000,
    cpu_s: Math.round((cpu.user + cpu.system) / 1000) / 1000,
    peak_rss_kib: Math.round(process.resourceUsage().maxRSS),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
  /* Closing handshakes need not be waited for. */
  process.exitCode = counts.calls_failed ? 1 : 0;
  setTimeout(() => process.exit(), 200).unref();
}

function wsVersion() {
  try {
    return JSON.parse(
      readFileSync(new URL("./node_modules/ws/package.json", import.meta.url)))
      .version;
  } catch {
    return "?";
  }
}
