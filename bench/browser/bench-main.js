// Runs paths.js in a worker and in an audio worklet, where the page's own
// work runs, and leaves the figures in window.results.
import { serverAudio } from "./paths.js";
const N = Number(new URLSearchParams(location.search).get("frames")) || 5000;

async function inWorker(bytes) {
  const w = new Worker(new URL("bench-worker.js", import.meta.url),
                       { type: "module" });
  const done = new Promise((resolve, reject) => {
    w.onmessage = (e) => resolve(e.data);
    w.onerror = (e) => reject(new Error(e.message));
  });
  w.postMessage({ bytes, n: N });
  return done;
}

async function inWorklet(bytes) {
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule(new URL("bench-worklet.js",
                                           import.meta.url));
  const node = new AudioWorkletNode(ctx, "wvoice-bench", {
    numberOfInputs: 0, numberOfOutputs: 1,
    processorOptions: { bytes, n: N, text: serverAudio() },
  });
  const done = new Promise((resolve) => {
    node.port.onmessage = (e) => resolve(e.data);
  });
  node.port.postMessage("run");
  const r = await done;
  await ctx.close();
  return r;
}

const bytes = await (await fetch("/web/wvoice-core.wasm")).arrayBuffer();
const worker = await inWorker(bytes.slice(0));
const worklet = await inWorklet(bytes.slice(0));
window.results = { frames: N, worker, worklet,
                   browser: navigator.userAgent };
document.getElementById("out").textContent =
  JSON.stringify(window.results, null, 2);
