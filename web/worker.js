// The call's worker: the WebSocket and the core's call state machine
// (wv_call, in remote playout mode: the playout buffer is the playback
// worklet's). Started by wvoice.js with the core's bytes and a port to
// each worklet:
//
//   capture  -> { type: "frames", samples: Float32Array }   20 ms, 8 kHz
//   capture  <- { type: "buffer", samples }   the same buffer, to reuse
//   playback <- { type: "audio", ulaw } | "mark" | "clear" | "flush"
//   playback -> { type: "played", id } | { type: "drained" }
//   page     <- status, tick, mark, event, error, ended (see wvoice.js)
//   page     -> hangup, dtmf, mute
import { CallCore } from "./call-core.js";

const TICK_MS = 20;
/* Above this much unsent, audio waits in the core's queue (which drops
   the oldest past its cap, and counts them) rather than in the socket's. */
const SEND_BACKLOG = 64 * 1024;
const CLOSE_GRACE_MS = 1000;

let call = null;
let ws = null;
let capture = null;
let playback = null;
let opened = false;
let socketGone = false;
let timer = 0;
let reportedStatus = "idle";
let sentStats = 0;
const markTimes = new Map(); /* mark id -> when it came: its round trip */
let lastMarkRoundTrip;
let lastAudioAt = 0;
const gaps = [];
let jitter = 0; /* RFC 3550's estimate: 20 ms frames against arrivals */
let done = false;

const now = () => performance.now();
const post = (m) => postMessage(m);

self.onmessage = (e) => {
  const m = e.data;
  switch (m.type) {
    case "start":
      start(m);
      break;
    case "hangup":
      if (call) {
        call.hangup(now());
        if (ws && ws.readyState === WebSocket.CONNECTING) ws.close();
        step();
      }
      break;
    case "dtmf": {
      const rc = call ? call.sendDtmf(m.digit, now()) : 0;
      if (rc < 0)
        post({ type: "error", message: "digit not sent: " + call.error(rc) });
      pump();
      break;
    }
    case "mute":
      if (call) call.setMuted(m.muted);
      break;
  }
};

function start(m) {
  try {
    call = new CallCore(m.wasm);
  } catch (e) {
    end("the call's WebAssembly core would not start: " + e.message);
    return;
  }
  call.setMuted(!!m.muted);
  capture = m.capture;
  playback = m.playback;
  capture.onmessage = (e) => {
    if (e.data.type !== "frames" || !call) return;
    const samples = e.data.samples;
    call.writeAudio(samples);
    // The buffer goes back: the worklet allocates none of its own.
    capture.postMessage({ type: "buffer", samples }, [samples.buffer]);
    step();
  };
  playback.onmessage = (e) => fromPlayback(e.data);
  call.connect(now());
  report();
  try {
    // Browsers send the key as a subprotocol: "apikey, KEY".
    ws = new WebSocket(m.url, ["apikey", m.apiKey]);
  } catch (e) {
    end("bad call URL: " + e.message);
    return;
  }
  ws.onopen = () => {
    opened = true;
    call.opened(now());
    step();
  };
  ws.onmessage = (e) => {
    if (typeof e.data !== "string") {
      // The core sees only text; a binary frame is the server's mistake.
      post({ type: "error", message: "binary frame from server ignored" });
      return;
    }
    call.receive(e.data, now());
    step();
  };
  ws.onclose = (e) => {
    socketGone = true;
    call.closed(e.code, e.reason, !e.wasClean, now());
    step();
    if (!opened && call.endReason() !== "hangup") whyNotOpened(m.url);
  };
  ws.onerror = () => {}; // onclose follows, with what can be known
  timer = setInterval(step, TICK_MS);
}

/* The gaps between the server's audio events, and their jitter. */
function noteAudioArrival() {
  const t = now();
  if (lastAudioAt) {
    const gap = t - lastAudioAt;
    gaps.push(gap);
    if (gaps.length > 250) gaps.shift();
    jitter += (Math.abs(gap - 20) - jitter) / 16;
  }
  lastAudioAt = t;
}

function fromPlayback(m) {
  if (!call) return;
  if (m.type === "played") {
    call.markPlayed(m.id, now());
    const came = markTimes.get(m.id);
    if (came !== undefined) {
      lastMarkRoundTrip = now() - came;
      markTimes.delete(m.id);
    }
    post({ type: "mark", id: m.id, direction: "out" });
  } else if (m.type === "drained") {
    call.playoutDrained(now());
  }
  step();
}

/* After anything: the core's time, what it says, what it sends. */
function step() {
  if (!call || done) return;
  call.tick(now());
  for (const out of call.outputs()) deliver(out);
  pump();
  report();
  // Over once the socket is gone too; a socket that never opened is
  // explained by whyNotOpened(), unless we hung up first.
  if (call.status() === "disconnected" && (socketGone || !ws) &&
      (opened || call.endReason() === "hangup"))
    end(null);
}

/* One of the call's outputs, to where it goes. */
function deliver(out) {
  switch (out.kind) {
    case "audio":
      noteAudioArrival();
      playback.postMessage({ type: "audio", ulaw: out.bytes },
                           [out.bytes.buffer]);
      break;
    case "mark":
      markTimes.set(out.id, now());
      playback.postMessage({ type: "mark", id: out.id });
      post({ type: "mark", id: out.id, direction: "in" });
      break;
    case "clear":
      markTimes.clear();
      playback.postMessage({ type: "clear" });
      break;
    case "flush":
      playback.postMessage({ type: "flush" });
      break;
    case "unknown":
      post({ type: "event", name: out.name, json: out.json });
      break;
    case "error":
      post({ type: "error", message: out.message });
      break;
  }
}

/* Frames out while the socket takes them; the close once all are out. */
function pump() {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  let frame;
  while (ws.bufferedAmount < SEND_BACKLOG && (frame = call.peekFrame())) {
    ws.send(frame);
    call.frameSent();
  }
  const code = call.shouldClose();
  if (code) {
    ws.close(code);
    // The close handshake is the browser's; bounded all the same.
    setTimeout(() => {
      if (!socketGone) {
        socketGone = true;
        step();
      }
    }, CLOSE_GRACE_MS);
  }
}

function stats() {
  const st = call.stats();
  const worst = gaps.length ? Math.max(...gaps) : undefined;
  return {
    framesSent: st.framesSent,
    framesReceived: st.framesReceived,
    framesDropped: st.framesDropped,
    marksAnswered: st.marksAnswered,
    markRoundTripMs: lastMarkRoundTrip,
    inboundGapMs: worst,
    jitterMs: lastAudioAt ? jitter : undefined,
  };
}

function report() {
  const status = call.status();
  // The id comes with the server's start, which is a change of status.
  if (status !== reportedStatus) {
    reportedStatus = status;
    if (status !== "disconnected")
      post({ type: "status", status,
             communicationId: call.communicationId() });
  }
  const t = now();
  if (t - sentStats >= 250) {
    sentStats = t;
    post({ type: "tick", elapsedMs: call.elapsedMs(t), stats: stats() });
  }
}

/* Why the socket never opened: a browser does not say (no HTTP status, no
   reason), so ask whether the server answers HTTP at all. */
async function whyNotOpened(url) {
  const http = new URL(url);
  http.protocol = http.protocol === "wss:" ? "https:" : "http:";
  http.pathname = "/";
  http.search = "";
  let reachable = false;
  try {
    await fetch(http, { mode: "no-cors", cache: "no-store" });
    reachable = true;
  } catch (e) {
    reachable = false;
  }
  end(reachable
        ? "the server refused the call: check the API key and the agent " +
          "(or the server is full)"
        : `cannot reach the server at ${http.host}`);
}

/* The call is over: what ended it, once. */
function end(error) {
  if (done) return;
  done = true;
  clearInterval(timer);
  let reason = "error";
  let elapsedMs = 0;
  let st = {};
  if (call) {
    reason = call.endReason();
    elapsedMs = call.elapsedMs(now());
    st = stats();
    if (!error) error = explain(call);
  }
  post({ type: "ended", reason, error, elapsedMs, stats: st });
  if (capture) capture.close();
  if (playback) playback.close();
}

/* The words for an end that was not a hang-up, or null. */
function explain(c) {
  switch (c.endReason()) {
    case "hangup":
    case "remote-stop":
      return null;
    case "closed": {
      const { code, reason } = c.closeCode();
      if (code === 1000) return null;
      if (code === 1006) return "the call dropped: the connection was lost";
      return `the server closed the call: ${code}${reason ? " " + reason
                                                          : ""}`;
    }
    case "error":
      return "the call dropped: " + (c.lastError() ||
                                     "the connection was lost");
    default:
      return c.lastError() || "the call failed";
  }
}
