import { guide, serverAudio, wasm } from "./paths.js";

self.onmessage = (e) => {
  const { bytes, n } = e.data;
  const clock = () => performance.now();
  postMessage({ wasm: wasm(bytes, n, clock, serverAudio()),
                guide: guide(n, clock) });
};
