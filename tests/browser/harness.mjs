// The browser tests' harness: a `wvoice serve` of their own on 127.0.0.1
// port 0, Debian's chromium through playwright-core with a fake
// microphone fed from a WAV file, and readers for the server's records.
//
// Environment: WVOICE_BIN (the binary), WV_SANITIZED (stretches timeouts),
// WV_ARTIFACTS (where screenshots go; default: a temporary folder).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, existsSync, mkdirSync,
         writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const SLOW = process.env.WV_SANITIZED === "thread" ? 4
                  : process.env.WV_SANITIZED ? 2 : 1;
export const KEY = "k-browser-test-3141";

export function tempDir(name) {
  return mkdtempSync(join(tmpdir(), `wvoice-browser-${name}-`));
}

export function artifacts() {
  const dir = process.env.WV_ARTIFACTS || tempDir("artifacts");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** `wvoice serve` with args; resolves once it listens. */
export async function startServer(args = []) {
  const bin = process.env.WVOICE_BIN;
  if (!bin) throw new Error("WVOICE_BIN is not set");
  const p = spawn(bin, ["serve", "--port", "0", "--api-key", KEY, ...args],
                  { stdio: ["ignore", "pipe", "pipe"] });
  const server = { process: p, log: [], stdout: [] };
  p.stderr.setEncoding("utf8");
  p.stderr.on("data", (d) => server.log.push(...d.split("\n").filter(Boolean)));
  p.stdout.setEncoding("utf8");
  server.url = await new Promise((resolve, reject) => {
    let buf = "";
    p.stdout.on("data", (d) => {
      buf += d;
      server.stdout.push(d);
      const m = buf.match(/listening on ws:\/\/([^\s]+)/);
      if (m) resolve(m[1]);
    });
    p.on("exit", (code) => reject(new Error(
      `wvoice serve exited ${code}: ${server.log.join("\n")}`)));
    setTimeout(() => reject(new Error("wvoice serve did not start")),
               10000 * SLOW);
  });
  server.http = `http://${server.url}`;
  server.stop = () => new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null)
      return resolve(p.exitCode);
    p.on("exit", resolve);
    p.kill("SIGTERM");
  });
  return server;
}

/**
 * Chromium with a fake microphone playing wav (looped by chromium). With
 * microphone: false it has none (a headless machine's); with allow: false
 * it refuses the page the microphone as a person would.
 */
export async function launch(wav, { microphone = true, allow = true } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      allow ? "--use-fake-ui-for-media-stream" : "--deny-permission-prompts",
      ...(microphone ? ["--use-fake-device-for-media-stream"] : []),
      ...(wav ? [`--use-file-for-fake-audio-capture=${wav}`] : []),
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

/** Waits until fn() is truthy (polled), or fails saying what. */
export async function until(fn, what, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs * SLOW;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The record of call id in dir: its JSONL events and WAV channels. */
export function readRecord(dir, id) {
  const events = readFileSync(join(dir, `${id}.jsonl`), "utf8")
    .split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const wav = readFileSync(join(dir, `${id}.wav`));
  return { events, ...parseWav(wav) };
}

export function recordIds(dir) {
  return existsSync(dir)
    ? readdirSync(dir).filter((f) => f.endsWith(".jsonl"))
        .map((f) => f.slice(0, -6))
    : [];
}

/** A 16-bit PCM WAV: rate and each channel's samples. */
export function parseWav(buf) {
  let off = 12, rate = 0, channels = 0, data = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === "fmt ") {
      channels = buf.readUInt16LE(off + 10);
      rate = buf.readUInt32LE(off + 12);
    } else if (id === "data") {
      data = buf.subarray(off + 8, off + 8 + size);
    }
    off += 8 + size + (size & 1);
  }
  const n = data ? Math.floor(data.length / 2 / channels) : 0;
  const ch = Array.from({ length: channels }, () => new Float64Array(n));
  for (let i = 0; i < n; i++)
    for (let c = 0; c < channels; c++)
      ch[c][i] = data.readInt16LE((i * channels + c) * 2);
  return { rate, channels: ch };
}

/** RMS in dBFS of samples[from, to) (seconds at rate). */
export function dbfs(samples, rate, from = 0, to = Infinity) {
  const a = Math.floor(from * rate), b = Math.min(samples.length,
                                                  Math.floor(to * rate));
  let sum = 0;
  for (let i = a; i < b; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / Math.max(1, b - a)) / 32768;
  return 20 * Math.log10(rms || 1e-9);
}

/** A WAV of samples (Int16Array, mono) at rate, written to path. */
export function wav(path, samples, rate) {
  const data = Buffer.from(samples.buffer);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0); h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVE", 8); h.write("fmt ", 12); h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24); h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34);
  h.write("data", 36); h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
  return path;
}
