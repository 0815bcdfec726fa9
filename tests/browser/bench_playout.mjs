// The page's two playouts side by side in Debian's chromium, against a
// `wvoice serve` of its own on loopback (printed, never asserted: the
// machine is shared). A script agent says twelve 1 s utterances, each
// followed by a mark it waits for and 600 ms of pause; each call runs
// with playout "adaptive" or "fixed" (300 ms), in turn.
//
// Per policy it prints what the page saw: the mark's time from its
// arrival in the page to its answer (the audio before it played out: the
// delay the playout adds, plus the hops between the worker and the
// worklet), for the first utterance (before the adaptive policy has
// measured anything) and for the others; underrun events and the
// concealed milliseconds, summed over the calls; the target and delay at
// the end (their range over the calls).
//
// Usage: WVOICE_BIN=build/wvoice node tests/browser/bench_playout.mjs
//        [--calls N] (3 a policy)
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { KEY, launch, startServer, tempDir, wav } from "./harness.mjs";

const UTTERANCES = 12;
const argCalls = process.argv.indexOf("--calls");
const calls = argCalls > 0 ? Number(process.argv[argCalls + 1]) : 3;

/* The agent, as --script's NAME=FILE: 1 s of 440 Hz, a mark, wait for
   it, 600 ms of pause, over and over. */
function talkAgent(dir) {
  const pcm = new Int16Array(8000);
  for (let i = 0; i < pcm.length; i++)
    pcm[i] = Math.round(6000 * Math.sin(2 * Math.PI * 440 * i / 8000));
  wav(join(dir, "utterance.wav"), pcm, 8000);
  const steps = [];
  for (let i = 0; i < UTTERANCES; i++)
    steps.push({ play: "utterance.wav" }, { mark: `m${i}` },
               { wait_mark: `m${i}` }, { pause: 600 });
  const script = join(dir, "talk.json");
  writeFileSync(script, JSON.stringify(steps));
  return `talk=${script}`;
}

/* One call with playout; resolves with the marks' round trips (ms, in
   order) and the session's stats at the end. */
async function oneCall(browser, server, playout) {
  const page = await browser.newPage();
  await page.goto(`${server.http}/`);
  const seconds = UTTERANCES * 1.6 + 2;
  const r = await page.evaluate(async ([key, playout, seconds]) => {
    const { TelephonySession } = await import("/wvoice.js");
    const s = new TelephonySession({ apiKey: key, playout });
    const came = new Map();
    const trips = [];
    s.addEventListener("mark", (e) => {
      const t = performance.now();
      if (e.detail.direction === "in") came.set(e.detail.id, t);
      else trips.push(t - came.get(e.detail.id));
    });
    await s.connect("talk");
    await new Promise((ok) => setTimeout(ok, seconds * 1000));
    const st = s.stats();
    s.hangup();
    return { trips, st };
  }, [KEY, playout, seconds]);
  await page.close();
  return r;
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const dir = tempDir("bench-playout");
const server = await startServer(["--script", talkAgent(dir)]);
const browser = await launch(null);
try {
  const head = ["policy  ", "first p50", "others p50", "p95", "max",
                "underruns", "concealed ms", "target ms", "delay ms"];
  console.log(`the page's playout: ${calls} calls a policy, ${UTTERANCES} ` +
              "utterances a call; a mark's round trip in ms");
  console.log(head.join("  "));
  for (const playout of ["adaptive", "fixed"]) {
    const first = [], others = [], targets = [], delays = [];
    let underruns = 0, concealed = 0;
    for (let c = 0; c < calls; c++) {
      const { trips, st } = await oneCall(browser, server, playout);
      first.push(trips[0]);
      others.push(...trips.slice(1));
      underruns += st.underruns;
      concealed += st.concealedMs;
      targets.push(st.targetMs);
      delays.push(st.delayMs);
    }
    first.sort((a, b) => a - b);
    others.sort((a, b) => a - b);
    const range = (v) => `${Math.min(...v)}-${Math.max(...v)}`;
    const row = [playout, quantile(first, 0.5), quantile(others, 0.5),
                 quantile(others, 0.95), others.at(-1), underruns,
                 concealed.toFixed(1), range(targets), range(delays)]
      .map((v) => typeof v === "number" ? String(Math.round(v)) : v);
    console.log(row.map((v, i) => i ? v.padStart(head[i].length)
                                    : v.padEnd(head[i].length)).join("  "));
  }
} finally {
  await browser.close();
  await server.stop();
}
