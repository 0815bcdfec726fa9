// The capture worklet: the microphone at the context's rate, through the
// core's capture and resampler, out as 20 ms frames of 8 kHz (Float32Array
// of 160 samples) to the call's worker, and its level to the page.
//
// The audio thread's rules: process() neither allocates nor waits. Frames
// go out in buffers the worker sends back once used; with none free (a
// worker that fell behind), a frame is dropped and counted, never queued.
import { CaptureCore } from "./call-core.js";

const FRAME = 160;
const BUFFERS = 16; /* 320 ms of frames in flight at most */
const LEVEL_EVERY_S = 0.2;

class Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.core = new CaptureCore(options.processorOptions.wasm, sampleRate);
    this.free = [];
    for (let i = 0; i < BUFFERS; i++) this.free.push(new Float32Array(FRAME));
    this.dropped = 0;
    this.sum = 0;
    this.count = 0;
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
    this.meter(input);
    return true;
  }

  meter(input) {
    for (let i = 0; i < input.length; i++) this.sum += input[i] * input[i];
    this.count += input.length;
    if (this.count < LEVEL_EVERY_S * sampleRate) return;
    const rms = Math.sqrt(this.sum / this.count);
    this.port.postMessage({ type: "level", side: "input",
                            db: 20 * Math.log10(rms || 1e-9),
                            dropped: this.dropped });
    this.sum = 0;
    this.count = 0;
  }
}

registerProcessor("wvoice-capture", Capture);
