// The capture worklet: the microphone at the context's rate, through the
// core's capture and resampler, out as 20 ms frames of 8 kHz (Float32Array
// of 160 samples) to the call's worker, and its level to the page.
//
// The audio thread's rules: process() neither allocates nor waits. Frames
// go out in buffers the worker sends back once used; with none free (a
// worker that fell behind), a frame is dropped and counted, never queued.
import { CaptureCore } from "./call-core.js";
import { LevelMeter } from "./level.js";

const FRAME = 160;
const BUFFERS = 16; /* 320 ms of frames in flight at most */

class Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.core = new CaptureCore(options.processorOptions.wasm, sampleRate);
    this.free = [];
    for (let i = 0; i < BUFFERS; i++) this.free.push(new Float32Array(FRAME));
    this.dropped = 0;
    this.level = new LevelMeter(sampleRate);
    this.worker = null;
    this.port.onmessage = (e) => {
      if (e.data.type !== "port") return;
      this.worker = e.data.port;
      this.worker.onmessage = (m) => {
        if (m.data.type === "buffer") this.free.push(m.data.samples);
      };
    };
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true; /* no microphone yet, or it ended */
    this.core.write(input);
    while (this.core.framesReady() > 0) {
      const buf = this.free.pop();
      if (!buf || !this.worker) {
        this.core.dropFrame();
        this.dropped++;
        continue;
      }
      this.core.takeFrame(buf);
      this.worker.postMessage({ type: "frames", samples: buf }, [buf.buffer]);
    }
    if (this.level.feed(input))
      this.port.postMessage({ type: "level", side: "input",
                              db: this.level.db(), dropped: this.dropped });
    return true;
  }
}

registerProcessor("wvoice-capture", Capture);
