// The page at /: one call at a time, through TelephonySession.
import { TelephonySession } from "./wvoice.js";

const $ = (id) => document.getElementById(id);
const form = $("call-form");
const keypad = [...document.querySelectorAll(".keypad button")];

const STATUS_WORDS = {
  idle: "Ready",
  connecting: "Calling…",
  connected: "In a call",
  disconnected: "Call ended",
};

let session = null;
let timer = null;

// The key may come in the address's fragment (#key=...), which never
// reaches a server; it is taken out of the address bar at once. So may
// the agent and the playout (#agent=echo&playout=fixed).
function keyFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.get("key");
  if (key) {
    $("key").value = key;
    history.replaceState(null, "", location.pathname + location.search);
  }
  const agent = params.get("agent");
  if (agent) $("agent").value = agent;
  const playout = params.get("playout"); // "adaptive" or "fixed"
  if ([...$("playout").options].some((o) => o.value === playout))
    $("playout").value = playout;
}

function say(text) {
  $("message").textContent = text;
}

function problem(text) {
  $("problem").textContent = text ? capitalize(text) + "." : "";
}

function capitalize(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function mmss(seconds) {
  const m = Math.floor(seconds / 60), s = seconds % 60;
  return String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
}

function inCall(on) {
  $("call").disabled = on;
  $("hangup").disabled = !on;
  $("mute").disabled = !on;
  for (const b of keypad) b.disabled = !on;
  for (const f of ["agent", "key", "url", "microphone", "speaker", "playout"])
    $(f).disabled = on;
}

function showStatus() {
  const status = session ? session.status : "idle";
  $("status").textContent = STATUS_WORDS[status];
  document.body.dataset.status = status;
  inCall(status === "connecting" || status === "connected");
  const muted = !!(session && session.isMuted);
  $("mute").setAttribute("aria-pressed", String(muted));
  $("mute").textContent = muted ? "Unmute" : "Mute";
  if (status === "connected") say("Connected. Speak now.");
  if (status === "disconnected" && !session.error) say("The call has ended.");
}

/* Milliseconds in words, or a dash for a figure not known yet. */
function ms(v) {
  return v !== undefined ? `${Math.round(v)} ms` : "–";
}

function showTime() {
  $("timer").textContent = mmss(session ? session.elapsed : 0);
  const st = session ? session.stats() : {};
  $("q-underruns").textContent = st.underruns ?? 0;
  $("q-jitter").textContent = ms(st.jitterMs);
  $("q-mark").textContent = ms(st.markRoundTripMs);
  // The playout's: the delay it plays at and aims at, and what the
  // audio's lateness cost (silence played in its place).
  $("q-delay").textContent = ms(st.delayMs);
  $("q-target").textContent = ms(st.targetMs);
  $("q-concealed").textContent = ms(st.concealedMs);
}

function meter(el, db) {
  el.value = Number.isFinite(db) ? Math.max(-60, Math.min(0, db)) : -60;
}

async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices)
    return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind] of [[$("microphone"), "audioinput"],
                                [$("speaker"), "audiooutput"]]) {
    const chosen = select.value;
    select.length = 1;
    for (const d of devices.filter((d) => d.kind === kind && d.deviceId &&
                                          d.deviceId !== "default")) {
      const o = new Option(d.label || `${kind} ${select.length}`, d.deviceId);
      select.add(o);
    }
    select.value = chosen;
    if (select.selectedIndex < 0) select.value = "";
  }
}

async function call(event) {
  event.preventDefault();
  problem("");
  say("Calling…");
  session = new TelephonySession({
    url: $("url").value.trim() || undefined,
    apiKey: $("key").value.trim(),
    inputDeviceId: $("microphone").value || undefined,
    outputDeviceId: $("speaker").value || undefined,
    playout: $("playout").value,
  });
  window.wvoiceSession = session; // for the console, and the tests
  session.addEventListener("status", showStatus);
  session.addEventListener("tick", showTime);
  session.addEventListener("error", (e) => problem(e.detail));
  session.addEventListener("level", (e) => {
    meter($("in-level"), e.detail.input);
    meter($("out-level"), e.detail.output);
  });
  clearInterval(timer);
  timer = setInterval(showTime, 250);
  try {
    await session.connect($("agent").value.trim());
    listDevices(); // labels are known once the microphone is allowed
  } catch (e) {
    problem(e.message);
    say("");
  }
}

form.addEventListener("submit", call);
$("hangup").addEventListener("click", () => session && session.hangup());
$("mute").addEventListener("click", () => {
  if (session) session.setMuted(!session.isMuted);
});
for (const b of keypad)
  b.addEventListener("click", () => sendDigit(b.textContent));

function sendDigit(digit) {
  if (!session || session.status !== "connected") return;
  session.sendDtmf(digit);
  say(`Sent ${digit}.`);
}

// The keyboard's digits, * and # while in a call (not while typing).
document.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement || e.ctrlKey || e.metaKey ||
      e.altKey)
    return;
  if (/^[0-9*#]$/.test(e.key) && session && session.status === "connected") {
    e.preventDefault();
    sendDigit(e.key);
  }
});

keyFromFragment();
showStatus();
showTime();
listDevices().catch(() => {});
