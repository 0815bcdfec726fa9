// wvoice in the browser: a call to a voice agent from a web page.
//
//   import { TelephonySession } from "./wvoice.js";
//
//   const call = new TelephonySession({ url: "wss://agents.example",
//                                       apiKey: key });
//   call.addEventListener("status", () => console.log(call.status));
//   await call.connect("support");   // resolves once the call is confirmed
//   call.sendDtmf("5");
//   call.hangup();
//
// The audio and the protocol are libwvoice's own core, compiled to
// WebAssembly, in three places off the main thread:
//
//   capture-worklet.js   microphone at the context's rate -> the core's
//                        capture and resampler -> 20 ms frames of 8 kHz
//   worker.js            the WebSocket and the core's call state machine
//   playback-worklet.js  the core's playout buffer (adaptive or fixed
//                        delay, marks, clear, cap, underruns) ->
//                        resampled to the context's rate
//
// They talk through message ports, so the main thread carries no audio
// (a page busy for seconds does not make the call stutter) and the page
// needs no cross-origin isolation. One AudioContext, at the device's rate.
//
// Events: "status" (status changed), "error" (error set; detail: the
// message), "mark" (detail: { id, direction: "in" | "out" }: the server
// placed a mark, or playback reached it and it was answered), "level"
// (detail: { input, output } in dBFS, a few times a second), "clear"
// (detail: { queuedMsBefore, queuedMsAfter }: the agent was interrupted,
// and its audio waiting to be played went), "event" (detail: { name,
// json }: an event the protocol does not define).

import { playoutPolicy } from "./call-core.js";

const here = (name) => new URL(name, import.meta.url);

const CALL_PATH = "/telephony/websocket/call";
const DTMF = /^[0-9*#]$/;

/** The words for a failure to get the microphone. */
function microphoneError(e) {
  switch (e && e.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "microphone permission denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "no microphone";
    case "NotReadableError":
    case "AbortError":
      return "the microphone is in use by another program";
    default:
      return "cannot use the microphone: " + ((e && e.message) || e);
  }
}

/** base64url of a JSON object's text, as the protocol's metadata. */
function metadataParam(metadata) {
  const text = typeof metadata === "string" ? metadata
                                            : JSON.stringify(metadata);
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error("metadata is not JSON: " + e.message);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error("metadata must be a JSON object");
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The call's URL: base (ws://, wss://, or the page's own origin). */
export function callUrl(base, agentId,
                        { from, metadata, metadataBase64, synthetic } = {}) {
  let u;
  if (!base) {
    u = new URL(location.origin);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  } else {
    u = new URL(base);
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:")
    throw new Error(`url "${base}": a call's URL is ws:// or wss://`);
  if (u.search)
    throw new Error(`url "${base}": no query; the options say the rest`);
  let path = u.pathname.replace(/\/+$/, "");
  if (!path.endsWith(CALL_PATH)) path += CALL_PATH;
  u.pathname = path;
  const q = new URLSearchParams({ agent_id: agentId });
  if (from) q.set("from", from);
  if (metadata !== undefined && metadata !== null && metadata !== "")
    q.set("metadata", metadataParam(metadata));
  else if (metadataBase64)
    q.set("metadata", metadataBase64); // the guide's form, as it is
  if (synthetic) q.set("synthetic", "true");
  u.search = q.toString();
  return u.toString();
}

let wasmBytes = null; // fetched once a page, copied to each context

async function coreBytes(wasmUrl) {
  if (!wasmBytes) {
    wasmBytes = fetch(wasmUrl).then(async (r) => {
      if (!r.ok) throw new Error(`cannot load ${wasmUrl}: ${r.status}`);
      return r.arrayBuffer();
    });
    wasmBytes.catch(() => { wasmBytes = null; });
  }
  return (await wasmBytes).slice(0);
}

export class TelephonySession extends EventTarget {
  /**
   * url: "ws://host:port" or "wss://..." (default: the page's origin);
   * apiKey; from; metadata (an object, or JSON text of one) or
   * metadataBase64 (base64url of one, as the guide's hook takes); synthetic;
   * playout and prebufferMs (below); inputDeviceId and outputDeviceId
   * (default devices); wasmUrl (default: wvoice-core.wasm beside this
   * file).
   *
   * playout: how long the agent's audio waits before it is heard.
   * "adaptive" (the default) measures the jitter of its arrivals and holds
   * as little as they need: 40 ms at least, 500 at most, aimed at the 95th
   * percentile of their delay, moved only where nobody hears it (before an
   * utterance, inside silence). "fixed" holds prebufferMs (300) before
   * each utterance, as the browser guide does. prebufferMs alone means
   * fixed (what it meant before there was a choice); prebufferMs with
   * playout "adaptive" is refused. Throws a RangeError for a playout or
   * prebufferMs it does not take.
   */
  constructor(options = {}) {
    super();
    this._playout = playoutPolicy(options);
    this.options = { ...options };
    this.status = "idle";
    this.error = null;
    this.communicationId = null;
    this.isMuted = false;
    this._elapsedMs = 0;
    this._stats = {};
    this._levels = { input: -Infinity, output: -Infinity };
    this._parts = null;
  }

  /** Seconds since the call was confirmed (0 before). */
  get elapsed() {
    return Math.floor(this._elapsedMs / 1000);
  }

  /**
   * The call's figures: framesSent, framesReceived, framesDropped,
   * underruns, queuedMs (the agent's audio waiting to be played),
   * marksAnswered, markRoundTripMs (the last mark's time from arrival to
   * answer), jitterMs (of the server's audio's arrivals, RFC 3550's
   * estimate), inboundGapMs (the worst gap between them, lately), clears
   * and lastClear ({ queuedMsBefore, queuedMsAfter }: what the last
   * barge-in dropped, and what was left: nothing).
   *
   * The playout's, as WebRTC's NetEq reports them (from the playback
   * worklet, a few times a second; undefined until it first reports):
   * targetMs (the delay the playout aims at now), delayMs (the delay it
   * plays at now), playoutJitterMs (the jitter of the audio's arrivals at
   * the playout, RFC 3550's estimate, the core's own: jitterMs above is
   * the worker's, measured where the frames leave the socket),
   * concealedMs (silence played because the audio was late: what an
   * underrun costs), insertedMs and droppedMs (silence added and taken
   * out to move the delay), lateArrivals (audio that came while silence
   * stood in for it). All milliseconds are of the agent's 8 kHz audio.
   */
  stats() {
    return { ...this._stats };
  }

  /**
   * Calls agentId. Resolves once the server's start confirms the call;
   * rejects with an Error that says why it could not be made.
   */
  async connect(agentId) {
    if (this.status === "connecting" || this.status === "connected")
      throw new Error("a call is already " + this.status);
    if (!agentId) throw new Error("no agent to call");
    if (!this.options.apiKey) throw new Error("no API key");
    this._setError(null);
    this._cancelled = false;
    this.communicationId = null;
    this._elapsedMs = 0;
    this._stats = {};
    this._setStatus("connecting");
    const url = callUrl(this.options.url, agentId, this.options);
    try {
      const parts = await this._start(url);
      await new Promise((resolve, reject) => {
        parts.confirmed = resolve;
        parts.failed = reject;
      });
    } catch (e) {
      this._fail(e.message);
      throw e;
    }
  }

  /** Ends the call (sends stop). Nothing if there is none. */
  hangup() {
    if (this._parts && this._parts.worker)
      this._parts.worker.postMessage({ type: "hangup" });
    else if (this.status === "connecting")
      this._cancelled = true; /* still asking for the microphone */
  }

  /** Sends one DTMF digit; throws on anything but 0-9 * #. */
  sendDtmf(digit) {
    if (typeof digit !== "string" || !DTMF.test(digit))
      throw new RangeError(`"${digit}" is not a DTMF digit (0-9, * or #)`);
    if (this.status !== "connected")
      throw new Error("no call to send a digit in");
    this._parts.worker.postMessage({ type: "dtmf", digit });
  }

  /** Silence goes out while muted; the stream never stops. */
  setMuted(muted) {
    this.isMuted = !!muted;
    if (this._parts)
      this._parts.worker.postMessage({ type: "mute", muted: this.isMuted });
    this.dispatchEvent(new Event("status"));
  }

  /** The microphone and speaker to use (deviceIds; undefined: default). */
  async setDevices({ inputDeviceId, outputDeviceId } = {}) {
    this.options.inputDeviceId = inputDeviceId;
    this.options.outputDeviceId = outputDeviceId;
    const ctx = this._parts && this._parts.context;
    if (ctx && outputDeviceId !== undefined && ctx.setSinkId)
      await ctx.setSinkId(outputDeviceId || "");
  }

  // ---- the parts of a call ----

  async _start(url) {
    const o = this.options;
    const wasm = coreBytes(o.wasmUrl || here("wvoice-core.wasm"));
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: {
          deviceId: o.inputDeviceId ? { exact: o.inputDeviceId } : undefined,
          channelCount: 1,
          echoCancellation: true,
          noiseSuppression: true,
          autoGainControl: true,
        },
      });
    } catch (e) {
      throw new Error(microphoneError(e));
    }
    const parts = { stream };
    this._parts = parts;
    if (this._cancelled) {
      this._teardown();
      throw new Error("hung up before the call was made");
    }
    try {
      // The device's own rate: no second context, no resampling twice.
      parts.context = new AudioContext({ latencyHint: "interactive" });
      if (o.outputDeviceId && parts.context.setSinkId)
        await parts.context.setSinkId(o.outputDeviceId);
      const ctx = parts.context;
      await Promise.all([
        ctx.audioWorklet.addModule(here("capture-worklet.js")),
        ctx.audioWorklet.addModule(here("playback-worklet.js")),
      ]);
      const bytes = await wasm;
      const toCapture = new MessageChannel();
      const toPlayback = new MessageChannel();
      parts.capture = new AudioWorkletNode(ctx, "wvoice-capture", {
        numberOfInputs: 1,
        numberOfOutputs: 0,
        channelCount: 1,
        channelCountMode: "explicit",
        processorOptions: { wasm: bytes.slice(0) },
      });
      parts.playback = new AudioWorkletNode(ctx, "wvoice-playback", {
        numberOfInputs: 0,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions: { wasm: bytes.slice(0),
                            playout: this._playout.playout,
                            prebufferMs: this._playout.prebufferMs },
      });
      parts.capture.port.postMessage({ type: "port", port: toCapture.port1 },
                                     [toCapture.port1]);
      parts.playback.port.postMessage(
        { type: "port", port: toPlayback.port1 }, [toPlayback.port1]);
      parts.capture.port.onmessage = (m) => this._fromWorklet(m.data);
      parts.playback.port.onmessage = (m) => this._fromWorklet(m.data);
      parts.source = ctx.createMediaStreamSource(stream);
      parts.source.connect(parts.capture);
      parts.playback.connect(ctx.destination);
      await ctx.resume(); // the Call click allows it
      if (this._cancelled) throw new Error("hung up before the call was made");

      parts.worker = new Worker(here("worker.js"), { type: "module" });
      parts.worker.onmessage = (m) => this._fromWorker(m.data);
      parts.worker.onerror = (e) => this._fail("the call's worker failed: " +
                                               (e.message || "unknown"));
      parts.worker.postMessage({
        type: "start",
        url,
        apiKey: o.apiKey,
        wasm: bytes,
        muted: this.isMuted,
        capture: toCapture.port2,
        playback: toPlayback.port2,
      }, [bytes, toCapture.port2, toPlayback.port2]);
      return parts;
    } catch (e) {
      this._teardown();
      throw e;
    }
  }

  _fromWorklet(m) {
    if (m.type === "cleared") {
      const detail = { queuedMsBefore: m.queuedMsBefore,
                       queuedMsAfter: m.queuedMsAfter };
      this._stats.clears = (this._stats.clears || 0) + 1;
      this._stats.lastClear = detail;
      this.dispatchEvent(new CustomEvent("clear", { detail }));
    } else if (m.type === "level") {
      this._levels[m.side] = m.db;
      if (m.side === "output") {
        Object.assign(this._stats, m.stats);
        this.dispatchEvent(new CustomEvent("level",
                                           { detail: { ...this._levels } }));
      }
    }
  }

  _fromWorker(m) {
    const parts = this._parts;
    switch (m.type) {
      case "status":
        if (m.communicationId) this.communicationId = m.communicationId;
        if (m.status === "connected" && parts && parts.confirmed) {
          parts.confirmed();
          parts.confirmed = null;
        }
        this._setStatus(m.status);
        break;
      case "tick":
        this._elapsedMs = m.elapsedMs;
        Object.assign(this._stats, m.stats);
        this.dispatchEvent(new Event("tick"));
        break;
      case "mark":
        this.dispatchEvent(new CustomEvent("mark", {
          detail: { id: m.id, direction: m.direction } }));
        break;
      case "event":
        this.dispatchEvent(new CustomEvent("event", {
          detail: { name: m.name, json: m.json } }));
        break;
      case "error":
        this._setError(m.message);
        break;
      case "ended":
        this._elapsedMs = m.elapsedMs;
        Object.assign(this._stats, m.stats);
        this.endReason = m.reason;
        if (m.error) this._setError(m.error);
        if (parts && parts.failed) {
          parts.failed(new Error(m.error || "the call ended before it " +
                                             "was confirmed"));
          parts.failed = null;
        }
        this._teardown();
        this._setStatus("disconnected");
        break;
    }
  }

  _fail(message) {
    const parts = this._parts;
    this._setError(message);
    if (parts && parts.failed) {
      parts.failed(new Error(message));
      parts.failed = null;
    }
    this._teardown();
    this._setStatus("disconnected");
  }

  _teardown() {
    const parts = this._parts;
    if (!parts) return;
    this._parts = null;
    if (parts.worker) parts.worker.terminate();
    if (parts.stream) for (const t of parts.stream.getTracks()) t.stop();
    if (parts.context) parts.context.close();
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.dispatchEvent(new Event("status"));
  }

  _setError(message) {
    this.error = message;
    if (message)
      this.dispatchEvent(new CustomEvent("error", { detail: message }));
  }
}
