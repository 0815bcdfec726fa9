// In the audio worklet's scope (no performance, no btoa: the guide's codec
// ran in its worker), the core as the worklets run it.
import { wasm } from "./paths.js";

class Bench extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { bytes, n, text } = options.processorOptions;
    this.port.onmessage = () =>
      this.port.postMessage({ wasm: wasm(bytes, n, () => Date.now(), text) });
  }

  process() {
    return true;
  }
}

registerProcessor("wvoice-bench", Bench);
