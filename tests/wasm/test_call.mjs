// The worker's part of the browser module: a call in remote-playout mode,
// driven as the worker drives it (text frames in, frames out, a clock of
// its own, here a fake one), with the playout's work coming out as records
// in the order it happened.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OUT, STATUS, END_REASON } from "../../web/core.js";
import { frequency as frequencyOf, newCore, sine, toInt16, ulawEncode }
  from "./support.mjs";

const FRAME = 160;

// One call and what the worker would do around it: after each call into
// the module, take the records; frames() sends what is queued.
function newCall({ events = false, lastWordsMs = -1 } = {}) {
  const core = newCore();
  const e = core.exports;
  e.wvw_init(0x9e3779b9);
  const h = e.wvw_call_create(8000, -1, lastWordsMs, events ? 1 : 0);
  assert.ok(h > 0, `create: ${h}`);
  const pcm = core.alloc(FRAME * 2);
  const call = {
    core, e, h, now: 0,
    // Records taken after each step, decoded.
    take() {
      const out = [];
      let p;
      while ((p = e.wvw_call_next_output(h))) {
        const r = core.record(p);
        out.push({
          kind: r.kind, a: r.a, b: r.b,
          bytes: r.data ? Uint8Array.from(core.u8Array(r.data, r.len)) : null,
          len: r.len,
          text: r.text ? core.string(r.text) : null,
        });
      }
      return out;
    },
    receive(event) {
      const text = typeof event === "string" ? event : JSON.stringify(event);
      const rc = core.withString(text,
                                 (p, n) => e.wvw_call_receive(h, p, n, call.now));
      return rc;
    },
    // Every frame queued, sent, as parsed JSON.
    frames() {
      const sent = [];
      let p;
      while ((p = e.wvw_call_peek_frame(h))) {
        const text = core.string(p, e.wvw_call_frame_len(h));
        assert.equal(text, core.string(p), "the length is the text's");
        sent.push(JSON.parse(text));
        e.wvw_call_frame_sent(h);
      }
      return sent;
    },
    writePcm(samples) {
      core.i16Array(pcm, samples.length).set(samples);
      return e.wvw_call_write_pcm(h, pcm, samples.length);
    },
    dtmf(digit) {
      return e.wvw_call_send_dtmf(h, digit.charCodeAt(0), call.now);
    },
    markPlayed(id) {
      return core.withString(id, (p) => e.wvw_call_mark_played(h, p, call.now));
    },
    tickAt(t) {
      call.now = t;
      e.wvw_call_tick(h, t);
    },
    status() { return STATUS[e.wvw_call_status(h)]; },
    endReason() { return END_REASON[e.wvw_call_end_reason(h)]; },
    stats() {
      const p = core.alloc(8 * e.wvw_call_stats(h, 0));
      e.wvw_call_stats(h, p);
      const s = Array.from(core.f64Array(p, 10));
      core.free(p);
      return { sent: s[0], audioIn: s[2], marksIn: s[4], marksAnswered: s[5],
               clears: s[6], dtmf: s[7], unknown: s[8], bad: s[9] };
    },
  };
  return call;
}

// The socket open and `start` sent.
function opened(opts) {
  const c = newCall(opts);
  c.e.wvw_call_connect(c.h, c.now);
  c.e.wvw_call_opened(c.h, c.now);
  c.frames();
  return c;
}

// Connected: the server's start taken too.
function connected(opts) {
  const c = opened(opts);
  c.receive({ event: "start", communication_id: "call-1" });
  c.take();
  return c;
}

function audioEvent(bytes) {
  return { event: "audio", payload: Buffer.from(bytes).toString("base64") };
}

test("opened: a start frame to send; the server's start: connected, with its id",
     () => {
  const c = newCall();
  assert.equal(c.status(), "idle");
  assert.equal(c.e.wvw_call_connect(c.h, c.now), 0);
  assert.deepEqual(c.take().map((r) => [r.kind, r.a, r.b]),
                   [[OUT.STATUS, 1, 0]]);
  assert.deepEqual(c.frames(), [], "nothing before the socket opens");
  c.now = 120;
  assert.equal(c.e.wvw_call_opened(c.h, c.now), 0);
  assert.deepEqual(c.frames(), [{ event: "start" }]);
  assert.equal(c.e.wvw_call_next_deadline(c.h), 120 + 10000,
               "the start timeout, on the caller's clock");
  c.now = 200;
  assert.equal(c.receive({ event: "start", communication_id: "abc-123" }), 0);
  const records = c.take();
  assert.deepEqual(records.map((r) => r.kind),
                   [OUT.STATUS, OUT.COMMUNICATION_ID]);
  assert.equal(records[0].a, 2, "connected");
  assert.equal(records[0].b, 1, "from connecting");
  assert.equal(records[1].text, "abc-123");
  assert.equal(c.status(), "connected");
  assert.equal(c.core.string(c.e.wvw_call_communication_id(c.h)), "abc-123");
  assert.equal(c.e.wvw_call_next_deadline(c.h), Infinity);
  c.now = 1700;
  assert.equal(c.e.wvw_call_elapsed_ms(c.h, c.now), 1500);
});

test("server audio, marks and clears come out as records in order", () => {
  const c = connected();
  const a1 = ulawEncode(toInt16(sine(440, 8000, 0.02, 0.5)));
  const a2 = new Uint8Array(320).fill(0x55);
  c.receive(audioEvent(a1));
  c.receive({ event: "mark", mark: "m-1" });
  c.receive(audioEvent(a2));
  c.receive({ event: "clear" });
  c.receive({ event: "mark", mark: "m-2 é" });
  const records = c.take();
  assert.deepEqual(records.map((r) => r.kind),
                   [OUT.PLAYOUT_AUDIO, OUT.PLAYOUT_MARK, OUT.PLAYOUT_AUDIO,
                    OUT.PLAYOUT_CLEAR, OUT.PLAYOUT_MARK]);
  assert.deepEqual(records[0].bytes, a1);
  assert.equal(records[1].text, "m-1");
  assert.deepEqual(records[2].bytes, a2);
  assert.equal(records[4].text, "m-2 é");
  assert.deepEqual(c.frames(), [], "nothing answered before it is played");
  const s = c.stats();
  assert.equal(s.audioIn, 2);
  assert.equal(s.marksIn, 2);
  assert.equal(s.clears, 1);
});

test("a mark played is answered with a mark frame", () => {
  const c = connected();
  c.receive({ event: "mark", mark: "greeting" });
  c.take();
  assert.equal(c.markPlayed("greeting"), 0);
  c.e.wvw_call_tick(c.h, c.now);
  assert.deepEqual(c.frames(), [{ event: "mark", mark: "greeting" }]);
  assert.equal(c.stats().marksAnswered, 1);
});

test("the server's stop: flush, then drained ends the call with remote-stop",
     () => {
  const c = connected();
  c.receive(audioEvent(new Uint8Array(FRAME).fill(0x10)));
  c.receive({ event: "stop" });
  assert.deepEqual(c.take().map((r) => r.kind),
                   [OUT.PLAYOUT_AUDIO, OUT.PLAYOUT_FLUSH]);
  assert.equal(c.status(), "connected", "the last words play first");
  assert.equal(c.e.wvw_call_stopping(c.h), 1);
  assert.equal(c.e.wvw_call_next_deadline(c.h), 2000, "last_words_ms");
  c.receive(audioEvent(new Uint8Array(FRAME)));
  assert.deepEqual(c.take(), [], "nothing taken from the server after stop");
  c.now = 40;
  c.e.wvw_call_playout_drained(c.h, c.now);
  const records = c.take();
  assert.deepEqual(records.map((r) => [r.kind, r.a]), [[OUT.STATUS, 3]]);
  assert.equal(c.status(), "disconnected");
  assert.equal(c.endReason(), "remote-stop");
  c.frames();
  assert.equal(c.e.wvw_call_should_close(c.h), 1000);
});

test("without drained, the last words end by the deadline", () => {
  const c = connected({ lastWordsMs: 500 });
  c.receive({ event: "stop" });
  c.take();
  c.tickAt(499);
  assert.equal(c.status(), "connected");
  c.tickAt(500);
  assert.equal(c.status(), "disconnected");
  assert.equal(c.endReason(), "remote-stop");
});

test("DTMF: digits checked, sent only while connected", () => {
  const c = opened();
  const name = (rc) => c.core.string(c.e.wvw_error_name(rc));
  assert.equal(name(c.dtmf("5")), "STATE", "not connected yet");
  c.receive({ event: "start", communication_id: "x" });
  for (const bad of ["x", "A", " ", "é", "\u0000"])
    assert.equal(name(c.dtmf(bad)), "DTMF", JSON.stringify(bad));
  assert.equal(name(c.e.wvw_call_send_dtmf(c.h, 0x135, 0)), "DTMF");
  for (const d of "0123456789*#") assert.equal(c.dtmf(d), 0);
  const sent = c.frames();
  assert.deepEqual(sent.map((f) => f.dtmf).join(""), "0123456789*#");
  assert.ok(sent.every((f) => f.event === "dtmf"));
  assert.equal(c.stats().dtmf, 12);
});

test("audio written goes out as 20 ms frames, exactly; muted, as silence",
     () => {
  const c = connected();
  const tone = toInt16(sine(1000, 8000, 0.02, 0.7));
  assert.equal(c.writePcm(tone), 0);
  let sent = c.frames();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].event, "audio");
  assert.deepEqual(new Uint8Array(Buffer.from(sent[0].payload, "base64")),
                   ulawEncode(tone), "every sample as written");
  c.e.wvw_call_set_muted(c.h, 1);
  assert.equal(c.e.wvw_call_muted(c.h), 1);
  c.writePcm(tone);
  c.writePcm(tone);
  sent = c.frames();
  assert.equal(sent.length, 2);
  for (const f of sent) {
    const bytes = Buffer.from(f.payload, "base64");
    assert.equal(bytes.length, FRAME);
    assert.ok(bytes.every((b) => b === 0xff), "mu-law silence");
  }
  assert.equal(c.stats().sent, 3);
});

test("unknown events and bad frames come out as records; the call goes on",
     () => {
  const c = connected({ events: true });
  c.receive('{"event":"transcript","text":"hello"}');
  let records = c.take();
  const unknown = records.find((r) => r.kind === OUT.UNKNOWN_EVENT);
  assert.equal(unknown.text, "transcript");
  assert.deepEqual(JSON.parse(Buffer.from(unknown.bytes).toString()),
                   { event: "transcript", text: "hello" });
  assert.ok(c.receive("{not json") < 0);
  records = c.take();
  const error = records.find((r) => r.kind === OUT.ERROR);
  assert.ok(error, "an error record");
  assert.equal(c.core.string(c.e.wvw_error_name(error.a)), "JSON");
  assert.ok(error.text.length > 0, "with its detail");
  assert.equal(c.status(), "connected");
  const s = c.stats();
  assert.equal(s.unknown, 1);
  assert.equal(s.bad, 1);
});

test("with events on, every event in and out is a record", () => {
  const c = newCall({ events: true });
  c.e.wvw_call_connect(c.h, 0);
  c.e.wvw_call_opened(c.h, 0);
  c.receive({ event: "start", communication_id: "id-9" });
  c.receive(audioEvent(new Uint8Array(FRAME)));
  c.dtmf("7");
  const events = c.take().filter((r) => r.kind === OUT.EVENT)
    .map((r) => [r.a ? "out" : "in", r.text, r.len]);
  assert.deepEqual(events, [["out", "start", 0], ["in", "start", 4],
                            ["in", "audio", FRAME], ["out", "dtmf", 1]]);
});

test("no start from the server: the call ends at the deadline", () => {
  const c = opened();
  c.tickAt(9999);
  assert.equal(c.status(), "connecting");
  c.tickAt(10000);
  assert.equal(c.endReason(), "start-timeout");
  assert.deepEqual(c.frames(), [{ event: "stop" }]);
  assert.equal(c.e.wvw_call_should_close(c.h), 1000);
});

test("hang-up sends stop; the socket's close is recorded", () => {
  const c = connected();
  assert.equal(c.e.wvw_call_hangup(c.h, c.now), 0);
  assert.deepEqual(c.frames(), [{ event: "stop" }]);
  assert.equal(c.endReason(), "hangup");
  c.core.withString("bye", (p) => c.e.wvw_call_closed(c.h, 1000, p, 0, c.now));
  assert.equal(c.e.wvw_call_close_code(c.h), 1000);
  assert.equal(c.core.string(c.e.wvw_call_close_reason(c.h)), "bye");
});

test("a socket that closes without stop ends the call as closed", () => {
  const c = connected();
  c.e.wvw_call_closed(c.h, 1006, 0, 1, c.now);
  assert.equal(c.status(), "disconnected");
  assert.ok(["closed", "error"].includes(c.endReason()));
  assert.ok(c.take().some((r) => r.kind === OUT.STATUS && r.a === 3));
});

test("the three contexts together: capture, call and playback, echoed", () => {
  const RATE = 48000;
  const QUANTUM = 128;
  // The capture worklet, the worker and the playback worklet: three
  // instances, talking only through copies, as through message ports.
  const cap = newCore();
  const hc = cap.exports.wvw_capture_create(RATE, -1);
  const c = connected();
  const pb = newCore();
  const hp = pb.exports.wvw_playout_create(RATE, -1, -1, -1, -1, 0);
  const mic = sine(1000, RATE, 0.5, 0.5);
  const capIn = cap.alloc(QUANTUM * 4);
  const capOut = cap.alloc(160 * 4);
  const callIn = c.core.alloc(160 * 4);
  const pbIn = pb.alloc(4000);
  const pbOut = pb.alloc(QUANTUM * 4);
  const echoed = [];
  // The microphone, 20 ms frames to the worker, frames to the "server".
  for (let at = 0; at < mic.length; at += QUANTUM) {
    cap.f32Array(capIn, QUANTUM).set(mic.subarray(at, at + QUANTUM));
    if (cap.exports.wvw_capture_write(hc, capIn, QUANTUM) > 0) {
      cap.exports.wvw_capture_read_float(hc, capOut, 1);
      c.core.f32Array(callIn, 160).set(cap.f32Array(capOut, 160));
      assert.equal(c.e.wvw_call_write_audio(c.h, callIn, 160), 0);
      for (const f of c.frames()) echoed.push(f.payload);
    }
  }
  assert.equal(echoed.length, 25);
  // The server says it all back, then a mark.
  for (const payload of echoed) c.receive({ event: "audio", payload });
  c.receive({ event: "mark", mark: "echo-1" });
  // The worker forwards the records to the playback worklet.
  for (const r of c.take()) {
    if (r.kind === OUT.PLAYOUT_AUDIO) {
      pb.u8Array(pbIn, r.bytes.length).set(r.bytes);
      pb.exports.wvw_playout_push_ulaw(hp, pbIn, r.bytes.length);
    } else if (r.kind === OUT.PLAYOUT_MARK) {
      pb.withString(r.text, (p) => pb.exports.wvw_playout_mark(hp, p));
    }
  }
  // The speaker, 0.6 s of render quanta; the marks reached go back.
  const heard = new Float32Array(RATE * 0.6);
  const played = [];
  for (let at = 0; at < heard.length; at += QUANTUM) {
    pb.exports.wvw_playout_read(hp, pbOut, QUANTUM);
    heard.set(pb.f32Array(pbOut, QUANTUM), at);
    let p;
    while ((p = pb.exports.wvw_playout_next_mark(hp))) played.push(pb.string(p));
  }
  const tone = heard.subarray(RATE * 0.01, RATE * 0.49);
  assert.ok(Math.abs(frequencyOf(tone, RATE) - 1000) < 2, "1 kHz, as said");
  assert.deepEqual(played, ["echo-1"]);
  for (const id of played) assert.equal(c.markPlayed(id), 0);
  assert.deepEqual(c.frames(), [{ event: "mark", mark: "echo-1" }]);
});
