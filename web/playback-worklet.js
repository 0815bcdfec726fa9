// The playback worklet: the core's playout buffer (its policy, adaptive
// or fixed, marks, clear, cap, underruns) at 8 kHz, resampled to the
// context's rate by the core's resampler. The call's worker sends it the
// agent's audio, marks, clears and the flush of the last words; it says
// which marks it has played and when it has played out what came before
// a flush.
//
// Messages run on the audio thread between process() calls, so the
// playout buffer's two sides are one thread here. process() neither
// allocates nor waits: marks reached are few and far between.
import { PlaybackCore } from "./call-core.js";
import { LevelMeter } from "./level.js";

class Playback extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.core = new PlaybackCore(o.wasm, sampleRate,
                                 { playout: o.playout,
                                   prebufferMs: o.prebufferMs });
    this.worker = null;
    this.level = new LevelMeter(sampleRate);
    this.port.onmessage = (e) => {
      if (e.data.type !== "port") return;
      this.worker = e.data.port;
      this.worker.onmessage = (m) => this.take(m.data);
    };
  }

  take(m) {
    switch (m.type) {
      case "audio":
        this.core.pushUlaw(m.ulaw);
        break;
      case "mark":
        this.core.mark(m.id);
        break;
      case "clear": {
        /* What it dropped, said at once: the page shows it, and the
           tests hold it to "at once". */
        const before = this.core.stats().queuedMs;
        this.core.clear();
        this.port.postMessage({ type: "cleared", queuedMsBefore: before,
                                queuedMsAfter: this.core.stats().queuedMs });
        break;
      }
      case "flush":
        this.core.flush();
        break;
    }
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    this.core.read(out);
    if (this.worker) {
      let id;
      while ((id = this.core.nextMark()) !== null)
        this.worker.postMessage({ type: "played", id });
      if (this.core.drained()) this.worker.postMessage({ type: "drained" });
    }
    if (this.level.feed(out))
      this.port.postMessage({ type: "level", side: "output",
                              db: this.level.db(), stats: this.core.stats() });
    return true;
  }
}

registerProcessor("wvoice-playback", Playback);
