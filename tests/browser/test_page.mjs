// The page at / in headless Chromium, calling a real `wvoice serve
// --record`: what the server records is what the page did.
//
// Run: WVOICE_BIN=build/wvoice node tests/browser/test_page.mjs [filter]
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

import { KEY, SLOW, artifacts, dbfs, launch, readRecord, recordIds,
         startServer, tempDir, until, wav } from "./harness.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const RATE = 48000;

/* A script agent that talks without a pause for 20 s. */
function longAgent(dir) {
  const pcm = new Int16Array(20 * 8000);
  for (let i = 0; i < pcm.length; i++)
    pcm[i] = Math.round(6000 * Math.sin(2 * Math.PI * 440 * i / 8000));
  wav(join(dir, "long.wav"), pcm, 8000);
  writeFileSync(join(dir, "long.json"),
                JSON.stringify([{ play: "long.wav" }, { mark: "done" }]));
  return `long=${join(dir, "long.json")}`;
}

/* The fake microphone, looped by chromium every 4 s: 1.5 s of speech,
   0.5 s of silence, 1 s of a 1 kHz tone, 1 s of silence. */
function micWav(dir) {
  const speech8k = JSON.parse(execFileSync("python3", ["-c", `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(HERE, "..", "serve"))})
import harness
print(json.dumps(harness.speech(1.5, level_dbfs=-18.0, seed=7)))`]));
  const n = 4 * RATE;
  const pcm = new Int16Array(n);
  for (let i = 0; i < 1.5 * RATE; i++) pcm[i] = speech8k[Math.floor(i / 6)];
  const amp = 32767 * Math.pow(10, -12 / 20) * Math.SQRT2;
  for (let i = 2 * RATE; i < 3 * RATE; i++)
    pcm[i] = Math.round(amp * Math.sin(2 * Math.PI * 1000 * i / RATE));
  return wav(join(dir, "mic.wav"), pcm, RATE);
}

/* Zero crossings a second over samples[from, to) at rate: twice the
   frequency of a tone. */
function crossingsPerSecond(x, rate, from, to) {
  let n = 0;
  for (let i = Math.floor(from * rate) + 1; i < Math.floor(to * rate); i++)
    if ((x[i - 1] < 0) !== (x[i] < 0)) n++;
  return n / (to - from);
}

/* The first second or so of the 1 kHz tone: a run of 100 ms blocks near
   1 kHz and loud, measured over its inside (its ends meet silence). */
function toneRun(x, rate) {
  const blocks = Math.floor(x.length / (rate / 10));
  let start = -1;
  for (let b = 0; b <= blocks; b++) {
    const t = b / 10;
    const near = b < blocks &&
                 Math.abs(crossingsPerSecond(x, rate, t, t + 0.1) - 2000) < 100
                 && dbfs(x, rate, t, t + 0.1) > -20;
    if (near && start < 0) start = b;
    if (!near && start >= 0) {
      if (b - start >= 6)
        return { from: (start + 1) / 10, to: (b - 1) / 10,
                 crossings: 2 * medianFrequency(x, rate, (start + 1) / 10,
                                                (b - 1) / 10) };
      start = -1;
    }
  }
  return null;
}

/* The tone's frequency over x[from, to) (seconds at rate), from the median
   time between zero crossings, each placed between its samples: a block
   glitched on a loaded machine (a discontinuity) moves a few intervals,
   not the median. */
function medianFrequency(x, rate, from, to) {
  const at = [];
  for (let i = Math.floor(from * rate) + 1; i < Math.floor(to * rate); i++)
    if ((x[i - 1] < 0) !== (x[i] < 0))
      at.push(i - 1 + x[i - 1] / (x[i - 1] - x[i]));
  const gaps = at.slice(1).map((t, i) => t - at[i]).sort((a, b) => a - b);
  return rate / (2 * gaps[gaps.length >> 1]);
}

/* The longest run of exact zeros (muted frames are mu-law silence). */
function longestZeroRun(x) {
  let best = 0, run = 0;
  for (const v of x) {
    run = v === 0 ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

const shots = artifacts();
const dir = tempDir("page");
const records = join(dir, "records");
const mic = micWav(dir);
const server = await startServer(["--record", records,
                                  "--script", longAgent(dir)]);
const browser = await launch(mic);

async function openPage({ width = 1280, height = 860, key = KEY } = {}) {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(`${server.http}/${key ? "#key=" + key : ""}`);
  page.errors = errors;
  return page;
}

const status = (page) => page.locator("#status").textContent();
const problem = (page) => page.locator("#problem").textContent();

async function call(page, agent) {
  await page.getByLabel("Agent").fill(agent);
  await page.getByRole("button", { name: "Call" }).click();
  await until(async () => (await status(page)) === "In a call",
              `"In a call" (problem: ${await problem(page)})`);
}

async function hangUp(page) {
  await page.getByRole("button", { name: "Hang up" }).click();
  await until(async () => (await status(page)) === "Call ended",
              "the call to end");
}

/* The record of the call the page made last. */
async function lastRecord(before) {
  const id = await until(() => recordIds(records).find((r) =>
    !before.includes(r)), "the call's record");
  return until(() => {
    try {
      const r = readRecord(records, id);
      const last = r.events[r.events.length - 1];
      return last && last.event === "end" ? r : null;
    } catch {
      return null;
    }
  }, "the record to be complete");
}

test.after(async () => {
  await browser.close();
  await server.stop();
});

test("the page idle: fields, buttons and the key from the fragment",
     async () => {
  const page = await openPage();
  assert.equal(await page.getByLabel("API key").inputValue(), KEY);
  assert.equal(new URL(page.url()).hash, "", "the key stays in the bar");
  for (const name of ["Call", "Hang up", "Mute", "1", "0", "*", "#"])
    assert.equal(await page.getByRole("button", { name, exact: true })
                   .count(), 1, name);
  assert.equal(await page.getByRole("button", { name: "Mute" })
                 .getAttribute("aria-pressed"), "false");
  await page.screenshot({ path: join(shots, "idle-desktop.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, "idle-phone.png"),
                          fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a call to echo: speech at 8000 a second, marks, DTMF, mute, hang-up",
     async () => {
  const before = recordIds(records);
  const page = await openPage();
  await call(page, "echo");
  // The session's own events, as an application would take them.
  await page.evaluate(() => {
    const s = window.wvoiceSession;
    window.seen = { marks: [], levels: 0 };
    s.addEventListener("mark", (e) =>
      window.seen.marks.push(`${e.detail.direction}:${e.detail.id}`));
    s.addEventListener("level", (e) => {
      if (Number.isFinite(e.detail.input)) window.seen.levels++;
    });
  });
  await page.waitForTimeout(5000);
  await page.screenshot({ path: join(shots, "call-desktop.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, "call-phone.png"),
                          fullPage: true });
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.getByRole("button", { name: "5", exact: true }).click();
  await page.keyboard.press("#");
  const mute = page.getByRole("button", { name: "Mute" });
  await mute.click();
  assert.equal(await page.getByRole("button", { name: "Unmute" })
                 .getAttribute("aria-pressed"), "true");
  await page.waitForTimeout(2000);
  await page.getByRole("button", { name: "Unmute" }).click();
  await page.waitForTimeout(4500);
  await hangUp(page);
  const r = await lastRecord(before);
  assert.equal(r.rate, 8000);
  const caller = r.channels[0];
  const ev = r.events;
  // DTMF, in order, from the keypad and the keyboard.
  assert.deepEqual(ev.filter((e) => e.event === "dtmf").map((e) => e.dtmf),
                   ["5", "#"]);
  // Marks came back in the order they went out.
  const out = ev.filter((e) => e.event === "mark" && e.dir === "out")
                .map((e) => e.mark);
  const back = ev.filter((e) => e.event === "mark" && e.dir === "in")
                 .map((e) => e.mark);
  assert.ok(out.length >= 1, "echo placed no mark: " + JSON.stringify(ev));
  assert.deepEqual(back, out.slice(0, back.length));
  assert.ok(back.length >= 1, "no mark came back");
  const stats = await page.evaluate(() => window.wvoiceSession.stats());
  assert.ok(stats.framesReceived > 0 && stats.marksAnswered >= 1 &&
            Number.isFinite(stats.jitterMs) &&
            Number.isFinite(stats.markRoundTripMs), JSON.stringify(stats));
  const seen = await page.evaluate(() => window.seen);
  assert.ok(seen.levels >= 10, "level events: " + seen.levels);
  for (const m of back) {
    const i = seen.marks.indexOf("in:" + m), o = seen.marks.indexOf("out:" + m);
    assert.ok(i >= 0 && o > i, `mark events for ${m}: ${seen.marks}`);
  }
  // The stop was the page's, and the close its.
  const end = ev[ev.length - 1];
  assert.equal(end.reason, "client-stop", JSON.stringify(end));
  // The tone is at 1 kHz: 2000 crossings a second, not sped up (the
  // browser guide's resampler ran 0.5% fast: 10 more).
  const tone = toneRun(caller, 8000);
  assert.ok(tone, "the 1 kHz tone is not in the record");
  assert.ok(Math.abs(tone.crossings - 2000) <= 8,
            `the tone is at ${tone.crossings / 2} Hz`);
  // Frames arrived at 50 a second over the call.
  const audioIn = ev.filter((e) => e.event === "audio" && e.dir === "in");
  const seconds = audioIn[audioIn.length - 1].t - audioIn[0].t;
  assert.ok(Math.abs(audioIn.length / seconds - 50) < 2.5,
            `${audioIn.length} frames in ${seconds} s`);
  // Speech is there, and 2 s of mute is silence.
  assert.ok(dbfs(caller, 8000) > -40, "the caller's channel is silent");
  assert.ok(longestZeroRun(caller) >= 1.5 * 8000, "mute did not mute");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("barge-in: the demo's clear empties the page's playback at once",
     async () => {
  const before = recordIds(records);
  const page = await openPage();
  await call(page, "demo"); // the caller talks over it, every 4 s
  await page.evaluate(() => {
    window.clears = [];
    window.wvoiceSession.addEventListener("clear", (e) =>
      window.clears.push(e.detail));
  });
  // A clear with the agent's audio waiting (on a loaded machine the
  // first may come before any has arrived): all of it goes at once.
  const clears = await until(() => page.evaluate(() =>
    window.clears.some((c) => c.queuedMsBefore > 0) && window.clears),
    "a clear of queued audio", 20000);
  for (const c of clears) assert.equal(c.queuedMsAfter, 0, clears);
  await hangUp(page);
  const st = await page.evaluate(() => window.wvoiceSession.stats());
  const r = await lastRecord(before);
  // Each clear the page took was the server's (one sent as the call
  // ended may find the page gone).
  assert.ok(r.events.filter((e) => e.event === "clear").length >=
            st.clears, JSON.stringify(st));
  assert.deepEqual(page.errors, []);
  await page.close();
});

/* The playout's figures in stats(), each a number >= 0. */
const PLAYOUT_KEYS = ["targetMs", "delayMs", "playoutJitterMs", "concealedMs",
                      "insertedMs", "droppedMs", "lateArrivals"];

/* The playout's figures and the two jitters, for the log. */
function pick(st) {
  const out = { underruns: st.underruns, jitterMs: st.jitterMs };
  for (const k of PLAYOUT_KEYS) out[k] = st[k];
  return out;
}

/* A call to the agent that talks for 20 s with the page's playout
   (adaptive unless the address says #playout=fixed), once it has played
   a second: the session's stats() and the page's playout panel. */
async function playoutFigures(playout) {
  const page = await openPage();
  if (playout) {
    await page.locator("details summary").click();
    await page.getByLabel("Playout", { exact: true }).selectOption(playout);
  }
  await call(page, "long");
  const st = await until(() => page.evaluate(() => {
    const s = window.wvoiceSession.stats();
    return s.playedSamples >= 8000 && s.targetMs !== undefined && s;
  }), "a second of the agent played, and the playout's figures", 15000);
  await page.waitForTimeout(300); // the panel's next refresh (250 ms)
  const shown = {};
  for (const id of ["q-delay", "q-target", "q-concealed"])
    shown[id] = await page.locator("#" + id).textContent();
  return { page, st, shown };
}

test("the playout's figures: stats() has them, the page shows them",
     async () => {
  const { page, st, shown } = await playoutFigures();
  for (const k of PLAYOUT_KEYS)
    assert.ok(Number.isFinite(st[k]) && st[k] >= 0, `${k}: ` +
              JSON.stringify(st));
  // Beside the keys that were there before, which keep their meaning.
  assert.ok(Number.isFinite(st.jitterMs) && st.queuedMs >= 0 &&
            st.underruns >= 0 && st.framesReceived > 0, JSON.stringify(st));
  // Adaptive, the page's default: a target within its floor and ceiling.
  assert.ok(st.targetMs >= 40 && st.targetMs <= 500, JSON.stringify(st));
  assert.ok(st.delayMs <= 500 + 20, JSON.stringify(st));
  assert.ok(st.underruns > 0 || st.concealedMs === 0, JSON.stringify(st));
  console.log("adaptive:", JSON.stringify(pick(st)));
  // In words, each labelled: a number of milliseconds, not a colour.
  for (const [id, text] of Object.entries(shown))
    assert.match(text, /^\d+ ms$/, `#${id}: ${text}`);
  const panel = page.getByLabel("Playout delay", { exact: true });
  assert.match(await panel.textContent(),
               /^\s*playout delay\s+\d+ ms\s+·\s+target\s+\d+ ms\s+·\s+concealed\s+\d+ ms/);
  await page.screenshot({ path: join(shots, "playout-desktop.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, "playout-phone.png"),
                          fullPage: true });
  await hangUp(page);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the page's Fixed playout holds 300 ms, as the guide's", async () => {
  const { page, st, shown } = await playoutFigures("fixed");
  assert.equal(st.targetMs, 300, JSON.stringify(st));
  assert.equal(st.insertedMs + st.droppedMs, 0, "fixed never moves its delay");
  assert.equal(shown["q-target"], "300 ms");
  console.log("fixed:", JSON.stringify(pick(st)));
  await page.screenshot({ path: join(shots, "playout-fixed-desktop.png") });
  await hangUp(page);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a main thread busy for 2 s does not make the call stutter",
     async () => {
  const page = await openPage();
  // A session of the test's own, with 1.5 s of fixed pre-buffer
  // (prebufferMs alone means the fixed playout): a loaded machine's late
  // frames cannot empty it, and a page that carried the audio on its main
  // thread would (2 s blocked is more than it holds).
  await page.evaluate(async (key) => {
    const { TelephonySession } = await import("/wvoice.js");
    window.busy = new TelephonySession({ apiKey: key, prebufferMs: 1500 });
    await window.busy.connect("long");
  }, KEY);
  // Playing, with most of the pre-buffer queued. (On a loaded machine a
  // late delivery can end a burst early, start playback short, and cost
  // an underrun, after which it refills: those are the network's, before
  // the block, and do not count against it.)
  await until(() => page.evaluate(() =>
    window.busy.stats().queuedMs >= 1200 &&
    window.busy.stats().playedSamples > 0), "the agent's audio playing",
    15000);
  const before = await page.evaluate(() => window.busy.stats().underruns);
  await page.evaluate(() => {
    const end = performance.now() + 2000;
    while (performance.now() < end);
  });
  await page.waitForTimeout(1000);
  const st = await page.evaluate(() => window.busy.stats());
  assert.equal(st.underruns - before, 0, JSON.stringify(st));
  assert.ok(st.framesReceived >= 150, JSON.stringify(st));
  await page.evaluate(() => window.busy.hangup());
  await until(() => page.evaluate(() => window.busy.status ===
                                        "disconnected"), "the end");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a wrong key and an unreachable server say what happened",
     async () => {
  const page = await openPage({ key: "wrong-key" });
  // By keyboard alone: Enter in the Agent field places the call.
  await page.getByLabel("Agent").focus();
  await page.keyboard.press("Enter");
  await until(async () => /refused/.test(await problem(page)),
              "the refusal");
  assert.match(await problem(page), /API key/);
  assert.equal(await status(page), "Call ended");
  await page.screenshot({ path: join(shots, "error-desktop.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, "error-phone.png"),
                          fullPage: true });
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.locator("details summary").click();
  await page.getByLabel("Server").fill("ws://127.0.0.1:9");
  await page.getByLabel("API key").fill(KEY);
  await page.getByRole("button", { name: "Call" }).click();
  await until(async () => /reach/.test(await problem(page)),
              "the unreachable server");
  assert.match(await problem(page), /Cannot reach the server at 127\.0\.0\.1:9/);
  await page.close();
});

test("a microphone refused, or none, is said in words", async () => {
  for (const [how, words] of [[{ allow: false }, /^Microphone permission denied/],
                              [{ microphone: false }, /^No microphone/]]) {
    const b = await launch(null, how);
    try {
      const page = await b.newPage();
      await page.goto(`${server.http}/#key=${KEY}`);
      await page.getByRole("button", { name: "Call" }).click();
      await until(async () => words.test(await problem(page)),
                  `${words} (problem: ${await problem(page)})`);
      assert.equal(await status(page), "Call ended");
    } finally {
      await b.close();
    }
  }
});

test("a server that dies mid-call: the call dropped", async () => {
  // Another server, which lets this page's origin call it.
  const doomed = await startServer(["--allow-origin", server.http]);
  const page = await browser.newPage();
  try {
    await page.goto(`${server.http}/#key=${KEY}`);
    await page.locator("details summary").click();
    await page.getByLabel("Server").fill(`ws://${doomed.url}`);
    await call(page, "echo");
    doomed.process.kill("SIGKILL");
    await until(async () => /dropped/.test(await problem(page)),
                "the dropped call");
    assert.match(await problem(page), /The call dropped/);
    assert.equal(await status(page), "Call ended");
  } finally {
    await page.close();
    await doomed.stop();
  }
});

void SLOW;
