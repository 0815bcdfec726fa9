// The three uses of the core (wasm/web_api.h, loaded by core.js), shaped
// for the contexts that make them:
//
//   CaptureCore   the capture worklet: write() the microphone's blocks,
//                 takeFrame() 20 ms of 8 kHz at a time
//   PlaybackCore  the playback worklet: the agent's audio in, read() out
//                 at the context's rate, the marks reached, drained()
//   CallCore      the worker: the call state machine, its playout buffer
//                 the worklet's (its records come out of outputs())
//
// The worklets' hot paths (write, takeFrame, read, drained) allocate
// nothing: their buffers in linear memory are made once, here.
import { END_REASON, OUT, STATUS, encodeUTF8, loadCore } from "./core.js";

const FRAME = 160;
const MAX_BLOCK = 4096; /* the largest render quantum a worklet may get */
const MAX_PREBUFFER_MS = 60000; /* the playout's cap (wasm/web_api.h) */
const PLAYOUT_ADAPTIVE = 2; /* WVW_PLAYOUT_ADAPTIVE */

/**
 * The playout policy a session's options ask for, as `wvoice call` takes
 * its flags:
 *
 *   playout       "adaptive" (the default): the delay follows the
 *                 arrivals, as little as they allow (40 to 500 ms, aimed at
 *                 the 95th percentile of their delay); "fixed": prebufferMs
 *                 before each utterance, as the browser guide does
 *   prebufferMs   the fixed policy's target (default 300, 0 to 60000)
 *
 * prebufferMs alone means fixed. With playout "adaptive" it means nothing,
 * so it is refused rather than ignored. Returns { playout, prebufferMs }
 * (prebufferMs undefined for adaptive); throws a RangeError naming the
 * option that is wrong. null counts as not given (React passes it so).
 */
export function playoutPolicy({ playout, prebufferMs } = {}) {
  const given = prebufferMs !== undefined && prebufferMs !== null;
  if (playout === undefined || playout === null)
    playout = given ? "fixed" : "adaptive";
  if (playout !== "adaptive" && playout !== "fixed")
    throw new RangeError(`playout "${playout}": "adaptive" or "fixed"`);
  if (given && !(Number.isInteger(prebufferMs) && prebufferMs >= 0 &&
                 prebufferMs <= MAX_PREBUFFER_MS))
    throw new RangeError(`prebufferMs ${prebufferMs}: a whole number of ` +
                         `milliseconds from 0 to ${MAX_PREBUFFER_MS}`);
  if (given && playout === "adaptive")
    throw new RangeError("prebufferMs is the fixed playout's target: " +
                         'with playout "adaptive", leave it out');
  return { playout,
           prebufferMs: playout === "fixed" ? (given ? prebufferMs : 300)
                                            : undefined };
}

export class CaptureCore {
  constructor(bytes, rate) {
    this.core = loadCore(bytes);
    const x = (this.x = this.core.exports);
    this.h = x.wvw_capture_create(rate, -1);
    if (this.h < 0) throw new Error("capture: " + this.core.error(this.h));
    this.in = this.core.alloc(MAX_BLOCK * 4);
    this.frame = this.core.alloc(FRAME * 4);
    this.ready = 0;
  }

  /** Feeds a block of the microphone (Float32Array at the context's rate). */
  write(samples) {
    const n = Math.min(samples.length, MAX_BLOCK);
    this.core.f32.set(n === samples.length ? samples
                                           : samples.subarray(0, n),
                      this.in >> 2);
    const r = this.x.wvw_capture_write(this.h, this.in, n);
    this.ready = r > 0 ? r : 0;
  }

  framesReady() {
    return this.ready;
  }

  /** The oldest waiting frame into buf (a Float32Array of 160). */
  takeFrame(buf) {
    this.x.wvw_capture_read_float(this.h, this.frame, 1);
    const f32 = this.core.f32;
    const at = this.frame >> 2;
    for (let i = 0; i < FRAME; i++) buf[i] = f32[at + i];
    this.ready--;
  }

  dropFrame() {
    this.x.wvw_capture_read_float(this.h, this.frame, 1);
    this.ready--;
  }
}

export class PlaybackCore {
  /** policy: the options playoutPolicy() takes (default: adaptive). */
  constructor(bytes, rate, policy = {}) {
    const { playout, prebufferMs } = playoutPolicy(policy);
    this.core = loadCore(bytes);
    const x = (this.x = this.core.exports);
    this.h = x.wvw_playout_create(rate, prebufferMs ?? -1, -1, -1, -1,
                                  playout === "adaptive" ? PLAYOUT_ADAPTIVE
                                                         : 0);
    if (this.h < 0) throw new Error("playback: " + this.core.error(this.h));
    this.out = this.core.alloc(MAX_BLOCK * 4);
    this.ulaw = this.core.alloc(MAX_BLOCK);
    this.st = this.core.alloc(x.wvw_playout_stats(this.h, 0) * 8);
  }

  /** The agent's mu-law bytes (a Uint8Array), in as many pieces as fit. */
  pushUlaw(bytes) {
    for (let at = 0; at < bytes.length; at += MAX_BLOCK) {
      const piece = bytes.subarray(at, at + MAX_BLOCK);
      this.core.u8.set(piece, this.ulaw);
      this.x.wvw_playout_push_ulaw(this.h, this.ulaw, piece.length);
    }
  }

  mark(id) {
    this.core.withString(id, (p) => this.x.wvw_playout_mark(this.h, p));
  }

  clear() {
    this.x.wvw_playout_clear(this.h);
  }

  flush() {
    this.x.wvw_playout_flush(this.h);
  }

  /** Fills out (a Float32Array at the context's rate). */
  read(out) {
    const n = Math.min(out.length, MAX_BLOCK);
    this.x.wvw_playout_read(this.h, this.out, n);
    const f32 = this.core.f32;
    const at = this.out >> 2;
    for (let i = 0; i < n; i++) out[i] = f32[at + i];
  }

  /** The id of the next mark playback reached, or null. */
  nextMark() {
    const p = this.x.wvw_playout_next_mark(this.h);
    return p ? this.core.string(p) : null;
  }

  /** True once per flush, when what came before it has played. */
  drained() {
    return this.x.wvw_playout_drained(this.h) !== 0;
  }

  /**
   * The buffer's figures. The policy's (since 0.5): targetMs and delayMs
   * (the delay aimed at and played at now), playoutJitterMs (RFC 3550's
   * estimate of the pushes' jitter, the core's own), concealedMs (silence
   * played in underruns), insertedMs and droppedMs (silence added or
   * taken out to move the delay), lateArrivals (audio that came while
   * silence stood in for it). Milliseconds of 8 kHz samples: eighths.
   */
  stats() {
    this.x.wvw_playout_stats(this.h, this.st);
    const v = this.core.f64;
    const i = this.st >> 3;
    return {
      queuedMs: v[i + 1],
      playedSamples: v[i + 3],
      underruns: v[i + 5],
      overflowSamples: v[i + 6],
      clearedSamples: v[i + 7],
      playing: v[i + 11] === 1,
      targetMs: v[i + 13],
      delayMs: v[i + 14],
      playoutJitterMs: v[i + 15],
      concealedMs: v[i + 16] / 8,
      insertedMs: v[i + 17] / 8,
      droppedMs: v[i + 18] / 8,
      lateArrivals: v[i + 19],
    };
  }
}

/* TextEncoder and TextDecoder where there are (a worker), else by hand
   (a worklet). */
const encoder = typeof TextEncoder === "function" ? new TextEncoder() : null;
const decoder = typeof TextDecoder === "function" ? new TextDecoder() : null;

export class CallCore {
  constructor(bytes) {
    this.core = loadCore(bytes);
    const x = (this.x = this.core.exports);
    const seed = new Uint32Array(1);
    if (globalThis.crypto) crypto.getRandomValues(seed);
    x.wvw_init(seed[0] || (Date.now() >>> 0) || 1);
    this.h = x.wvw_call_create(8000, -1, -1, 0);
    if (this.h < 0) throw new Error("call: " + this.core.error(this.h));
    this.st = this.core.alloc(x.wvw_call_stats(this.h, 0) * 8);
    this.buf = 0;
    this.cap = 0;
  }

  /* bytes in linear memory for this call only: grown, never shrunk */
  scratch(n) {
    if (n > this.cap) {
      if (this.buf) this.core.free(this.buf);
      this.cap = Math.max(n, 4096);
      this.buf = this.core.alloc(this.cap);
    }
    return this.buf;
  }

  connect(now) { return this.x.wvw_call_connect(this.h, now); }
  opened(now) { return this.x.wvw_call_opened(this.h, now); }
  tick(now) { this.x.wvw_call_tick(this.h, now); }
  nextDeadline() { return this.x.wvw_call_next_deadline(this.h); }
  hangup(now) { return this.x.wvw_call_hangup(this.h, now); }
  setMuted(m) { this.x.wvw_call_set_muted(this.h, m ? 1 : 0); }
  playoutDrained(now) { this.x.wvw_call_playout_drained(this.h, now); }
  frameSent() { this.x.wvw_call_frame_sent(this.h); }
  shouldClose() { return this.x.wvw_call_should_close(this.h); }

  /** A text message from the server, as it came. */
  receive(text, now) {
    const cap = text.length * 3; /* UTF-8 needs at most 3 bytes a unit */
    const p = this.scratch(cap);
    let n;
    if (encoder) {
      n = encoder.encodeInto(text, this.core.u8Array(p, cap)).written;
    } else {
      const bytes = encodeUTF8(text);
      this.core.u8.set(bytes, p);
      n = bytes.length;
    }
    return this.x.wvw_call_receive(this.h, p, n, now);
  }

  closed(code, reason, error, now) {
    this.core.withString(reason || "", (p) =>
      this.x.wvw_call_closed(this.h, code, p, error ? 1 : 0, now));
  }

  sendDtmf(digit, now) {
    return this.x.wvw_call_send_dtmf(this.h, digit.charCodeAt(0), now);
  }

  /** 8 kHz samples (a Float32Array), as the capture worklet sends them. */
  writeAudio(samples) {
    const p = this.scratch(samples.length * 4);
    this.core.f32.set(samples, p >> 2);
    return this.x.wvw_call_write_audio(this.h, p, samples.length);
  }

  markPlayed(id, now) {
    return this.core.withString(id, (p) =>
      this.x.wvw_call_mark_played(this.h, p, now));
  }

  /** The next frame to send (a string), or null. */
  peekFrame() {
    const p = this.x.wvw_call_peek_frame(this.h);
    if (!p) return null;
    const len = this.x.wvw_call_frame_len(this.h);
    return decoder ? decoder.decode(this.core.u8Array(p, len))
                   : this.core.string(p, len);
  }

  /** What the call said since the last time: { kind, ... } each. */
  *outputs() {
    let p;
    while ((p = this.x.wvw_call_next_output(this.h))) {
      const r = this.core.record(p);
      switch (r.kind) {
        case OUT.PLAYOUT_AUDIO:
          yield { kind: "audio", bytes: this.core.u8Array(r.data, r.len)
                                                 .slice() };
          break;
        case OUT.PLAYOUT_MARK:
          yield { kind: "mark", id: this.core.string(r.text) };
          break;
        case OUT.PLAYOUT_CLEAR:
          yield { kind: "clear" };
          break;
        case OUT.PLAYOUT_FLUSH:
          yield { kind: "flush" };
          break;
        case OUT.UNKNOWN_EVENT:
          yield { kind: "unknown", name: this.core.string(r.text),
                  json: this.core.string(r.data, r.len) };
          break;
        case OUT.ERROR:
          yield { kind: "error", code: r.a,
                  message: this.core.string(r.text) };
          break;
        default: /* status and id: read from the call itself */
          break;
      }
    }
  }

  status() { return STATUS[this.x.wvw_call_status(this.h)]; }
  endReason() { return END_REASON[this.x.wvw_call_end_reason(this.h)]; }
  elapsedMs(now) { return this.x.wvw_call_elapsed_ms(this.h, now); }
  lastError() { return this.core.string(this.x.wvw_call_last_error(this.h)); }
  /** The words for a WV_ERR_* code ("not allowed in the current call state"). */
  error(code) { return this.core.error(code); }

  communicationId() {
    const p = this.x.wvw_call_communication_id(this.h);
    return p ? this.core.string(p) : null;
  }

  closeCode() {
    return { code: this.x.wvw_call_close_code(this.h),
             reason: this.core.string(this.x.wvw_call_close_reason(this.h)) };
  }

  stats() {
    this.x.wvw_call_stats(this.h, this.st);
    const v = this.core.f64;
    const i = this.st >> 3;
    return {
      framesSent: v[i], framesDropped: v[i + 1], framesReceived: v[i + 2],
      marksReceived: v[i + 4], marksAnswered: v[i + 5],
      clearsReceived: v[i + 6], dtmfSent: v[i + 7],
    };
  }
}
