#!/usr/bin/env python3
"""How many concurrent calls one core generates in time: `wvoice load` and
a Node peer (bench/load-peer/peer.mjs: the ws package and the browser
guide's pipeline) against the same `wvoice serve`, in the same run, so the
ratio between them stands even on a noisy machine.

The server runs pinned to core 1 (taskset -c 1), each generator in turn to
core 0. The call count steps up; a side stops at the first step it does
not hold: a call failed or did not connect, or the p99 of its outbound
lateness (each frame's send time minus its schedule, start + k x 20 ms)
is over 10 ms. Two runs:

  silent  the agent says nothing back: the generator is what is measured;
          wvoice load and the Node peer, the largest count each held and
          their ratio.
  echo    the agent plays each utterance back (full duplex): wvoice load
          only, and which side ran out, from each core's CPU (the busiest
          second of the step; the server also stops the steps when its core
          is full).

Then the stable figure: instructions per outbound frame of `wvoice load`
under valgrind --tool=callgrind, from two short runs (the difference in
instructions over the difference in frames, so the set-up cancels out;
the plain total over frames beside it).

Rates: each step starts its calls at about N/8 a second, rounded to a rate
with no factor in common with 50, so the calls' 20 ms clocks fall evenly
over the 20 ms (at 100 a second, say, every call would tick at one of two
instants); each call lasts the ramp plus --hold seconds, so all N are up
together for that long.

The caller: wvoice load runs a script (--script) that says 1.5 s of a
voice-like tone and is silent 1.5 s, over and over, as the Node peer's
microphone does; so both encode real audio, and echo has turns to answer.

What it reads: wvoice load's --report FILE.json, its "counts"
(calls_planned, calls_connected, calls_failed, calls_peak, frames_sent,
frames_late) and "metrics"."lateness_ms" (p50, p99, max); the peer prints
the same names on one JSON line. CPU: /proc/PID/stat of both processes,
sampled every 0.25 s.

Before and after, the machine's own pauses: an idle 5 ms timer on the
generators' core for 5 s, its p99 and worst lateness; a worst of 100 ms
or more says another tenant or the hypervisor took the core, and a step
lost then is run again (--retries).

Run: python3 bench/bench_load.py [--quick] [--bin build/wvoice]
  (make bench runs it; scripts/bench-deps.sh installs the peer's ws
  package and valgrind). Raises its soft limit of open files to the hard
  one; a few thousand calls need that many descriptors on each side.
"""

import argparse
import json
import math
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER = os.path.join(HERE, "load-peer", "peer.mjs")
LATE_MS = 10.0
STEPS = [250, 400, 500, 600, 800, 1000, 1500, 2000, 2500, 3000]
QUICK_STEPS = [20, 50, 100]
SERVER_FULL = 97.0  # % of its core: the server has run out
TICK = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(*a, flush=True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def pinned(core):
    """taskset -c CORE, where there are two cores and taskset."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


def rate_for(n):
    """About n/8 calls a second (at least 50), coprime with 50."""
    r = max(50, int(round(n / 8)))
    while math.gcd(r, 50) != 1:
        r += 1
    return r


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


class CpuSampler(threading.Thread):
    """Each pid's CPU (% of one core): the mean over the run, and the
    busiest one-second window."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.halt = threading.Event()
        self.samples = {p: [] for p in pids}

    def run(self):
        while True:
            now = time.monotonic()
            for p in self.pids:
                c = cpu_seconds(p)
                if c is not None:
                    self.samples[p].append((now, c))
            if self.halt.wait(0.25):
                break

    def stop(self):
        self.halt.set()
        self.join()

    def figures(self, pid):
        s = self.samples.get(pid) or []
        if len(s) < 2:
            return None, None
        mean = 100 * (s[-1][1] - s[0][1]) / max(1e-9, s[-1][0] - s[0][0])
        peak, j = None, 0
        for i in range(len(s)):
            # j: the latest sample at least a second before i
            while j + 1 < i and s[i][0] - s[j + 1][0] >= 1.0:
                j += 1
            if s[i][0] - s[j][0] >= 1.0:
                v = 100 * (s[i][1] - s[j][1]) / (s[i][0] - s[j][0])
                peak = v if peak is None else max(peak, v)
        return mean, mean if peak is None else peak


class Server:
    """wvoice serve on 127.0.0.1, a free port, pinned to core 1."""

    def __init__(self, binary, key, max_calls):
        cmd = pinned(1) + [binary, "serve", "--port", "0", "--api-key", key,
                           "--max-calls", str(max_calls), "--quiet"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=raise_nofile)
        self.lines = []
        self.url = None
        ready = threading.Event()

        def drain():
            for line in self.proc.stdout:
                self.lines = (self.lines + [line.rstrip()])[-20:]
                m = re.search(r"listening on (wss?://\S+)", line)
                if m and not self.url:
                    self.url = m.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(15) or not self.url:
            self.stop()
            raise RuntimeError("wvoice serve did not start:\n  " +
                               "\n  ".join(self.lines))
        self.http = "http" + self.url[2:]

    @property
    def pid(self):
        return self.proc.pid

    def health(self):
        with urllib.request.urlopen(self.http + "/healthz", timeout=5) as r:
            return json.load(r)

    def wait_idle(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if self.health().get("calls_up", 0) == 0:
                    return True
            except OSError:
                pass
            time.sleep(0.25)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_caller(work, seconds):
    """The caller's script for wvoice load: 1.5 s of a voice-like tone
    with a syllable rhythm (the Node peer's), 1.5 s of silence, over and
    over for the call; an agent that answers utterances (echo) has turns
    to answer. Returns the script's path."""
    rate, n = 8000, 12000
    frames = bytearray()
    for i in range(n):
        t = i / rate
        env = 0.5 - 0.5 * math.cos(2 * math.pi * 4 * t)
        x = env * (0.25 * math.sin(2 * math.pi * 180 * t) +
                   0.12 * math.sin(2 * math.pi * 720 * t) +
                   0.06 * math.sin(2 * math.pi * 1500 * t))
        frames += int(round(x * 32767)).to_bytes(2, "little", signed=True)
    with wave.open(os.path.join(work, "talk.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    steps = [{"say": "talk.wav"}, {"silence": 1500}] * \
        int(math.ceil(seconds / 3.0) + 1)
    path = os.path.join(work, "caller.json")
    with open(path, "w") as f:
        json.dump(steps, f)
    return path


PROBE = """
import time
late, t0, k = [], time.monotonic(), 0
while k < %d:
    k += 1
    due = t0 + k * 0.005
    time.sleep(max(0, due - time.monotonic()))
    late.append((time.monotonic() - due) * 1000)
late.sort()
print(late[len(late) // 2], late[int(len(late) * 0.99)], late[-1])
"""


def noise(seconds=5):
    """The machine's own pauses: a 5 ms timer on the generators' core,
    idle, for a few seconds: its p99 and worst lateness, ms."""
    p = subprocess.run(pinned(0) + [sys.executable, "-c",
                                    PROBE % int(seconds * 200)],
                       capture_output=True, text=True, timeout=seconds + 30)
    try:
        _, p99, worst = map(float, p.stdout.split())
        return "an idle 5 ms timer on core 0 over %g s: p99 %.1f ms, " \
            "worst %.1f ms" % (seconds, p99, worst)
    except ValueError:
        return "(the noise probe failed)"


def has_load(binary):
    """Whether this wvoice has `load` (the bench was written before it)."""
    try:
        p = subprocess.run([binary, "load", "--help"], capture_output=True,
                           text=True, timeout=10)
    except OSError:
        return False
    return p.returncode == 0 and "--calls" in (p.stdout + p.stderr)


def peer_ready():
    if not shutil.which("node"):
        return "node is not installed"
    if not os.path.isdir(os.path.join(HERE, "load-peer", "node_modules",
                                      "ws")):
        return "bench/load-peer/node_modules is missing: scripts/bench-deps.sh"
    return None


def figures(doc):
    """The step's figures from a report (wvoice load's or the peer's)."""
    c = doc.get("counts", {})
    late = doc.get("metrics", {}).get("lateness_ms", {})
    return {"planned": c.get("calls_planned"),
            "connected": c.get("calls_connected", 0),
            "failed": c.get("calls_failed", 0),
            "peak": c.get("calls_peak", 0),
            "frames": c.get("frames_sent", 0),
            "late": c.get("frames_late", 0),
            "p50": late.get("p50"), "p99": late.get("p99"),
            "max": late.get("max")}


def run_step(side, n, agent, server, args, work, env):
    """One generator run of n calls; its figures and both processes' CPU."""
    rate = rate_for(n)
    ramp = n / rate
    duration = int(math.ceil(ramp + args.hold))
    report = os.path.join(work, "%s-%s-%d.json" % (side, agent, n))
    out = os.path.join(work, "%s-%s-%d.log" % (side, agent, n))
    if side == "wvoice":
        cmd = [args.bin, "load", "--url", server.url, "--agent", agent,
               "--calls", str(n), "--rate", str(rate),
               "--duration", str(duration), "--script", args.caller,
               "--report", report]
    else:
        cmd = ["node", PEER, "--url", server.url, "--agent", agent,
               "--calls", str(n), "--rate", str(rate),
               "--duration", str(duration)]
    server.wait_idle()
    with open(out, "w") as f:
        proc = subprocess.Popen(pinned(0) + cmd, stdout=f,
                                stderr=subprocess.STDOUT, env=env,
                                preexec_fn=raise_nofile)
        sampler = CpuSampler([proc.pid, server.pid])
        sampler.start()
        t0 = time.monotonic()
        try:
            rc = proc.wait(timeout=ramp + duration + 90)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            sampler.stop()
            raise
        wall = time.monotonic() - t0
        sampler.stop()
    with open(out) as f:
        text = f.read()
    r = {"side": side, "agent": agent, "calls": n, "rate": rate,
         "duration": duration, "rc": rc, "wall": wall}
    try:
        if side == "wvoice":
            with open(report) as f:
                doc = json.load(f)
        else:
            doc = json.loads(text.strip().splitlines()[-1])
        r.update(figures(doc))
        r["doc"] = doc
    except (OSError, ValueError, IndexError) as e:
        r["error"] = "no report (%s); its output ends:\n  %s" % (
            e, "\n  ".join(text.strip().splitlines()[-8:]))
    r["gen_cpu"], r["gen_peak"] = sampler.figures(proc.pid)
    r["srv_cpu"], r["srv_peak"] = sampler.figures(server.pid)
    r["held"] = ("error" not in r and r["failed"] == 0 and
                 r["connected"] == n and r["p99"] is not None and
                 r["p99"] <= LATE_MS)
    return r


def pct(mean, peak):
    if mean is None:
        return "     -   "
    return "%4.0f/%3.0f%%" % (mean, peak)


def ms(v):
    return "%7s" % ("-" if v is None else "%.1f" % v)


def row(r):
    if "error" in r:
        return "%-12s %6d  %s" % (NAMES[r["side"]], r["calls"],
                                  r["error"].splitlines()[0])
    why = ""
    if not r["held"]:
        why = ("calls failed" if r["failed"] or r["connected"] != r["calls"]
               else "late")
    return "%-12s %6d %6d %6d %s %s %s %10s %10s  %s" % (
        NAMES[r["side"]], r["calls"], r["connected"], r["failed"],
        ms(r["p50"]), ms(r["p99"]), ms(r["max"]),
        pct(r["gen_cpu"], r["gen_peak"]), pct(r["srv_cpu"], r["srv_peak"]),
        "yes" if r["held"] else "no: " + why)


NAMES = {"wvoice": "wvoice load", "peer": "node peer"}
HEADER = ("%-12s %6s %6s %6s %7s %7s %7s %10s %10s  %s" %
          ("generator", "calls", "conn", "failed", "p50", "p99", "max",
           "gen cpu", "serve cpu", "held"))


def step_up(sides, agent, steps, server, args, work, env, extra_stop=None):
    """Steps each side up until it fails to hold; the rows as they come.
    A step lost to lateness alone is run again (--retries) before the side
    stops
    (another tenant's burst on the core can spoil one run); the better of
    the two counts."""
    results = {s: [] for s in sides}
    going = set(sides)
    log("\nagainst %s: outbound lateness (ms); CPU mean/busiest second, "
        "%% of one core" % agent)
    log(HEADER)
    for n in steps:
        for side in sides:
            if side not in going:
                continue
            r = run_step(side, n, agent, server, args, work, env)
            log(row(r))
            tries = 0
            while late_only(r) and tries < args.retries:
                tries += 1
                again = run_step(side, n, agent, server, args, work, env)
                log(row(again) + " (again)")
                if again["held"] or p99_of(again) < p99_of(r):
                    r = again
            results[side].append(r)
            if not r["held"] or (extra_stop and extra_stop(r)):
                going.discard(side)
        if not going:
            break
    return results


def p99_of(r):
    return r["p99"] if r.get("p99") is not None else float("inf")


def late_only(r):
    return ("error" not in r and not r["held"] and r["failed"] == 0 and
            r["connected"] == r["calls"])


def largest(rows):
    held = [r for r in rows if r["held"]]
    return held[-1] if held else None


def summary_silent(res, steps):
    best = {s: largest(rows) for s, rows in res.items()}
    log("")
    for s, rows in res.items():
        b = best[s]
        if not rows:
            continue
        topped = rows[-1]["held"] and rows[-1]["calls"] == steps[-1]
        if b:
            log("%-12s held %s%d calls (p99 %.1f ms, max %.1f ms)" % (
                NAMES[s], "at least " if topped else "", b["calls"], b["p99"],
                b["max"]))
        else:
            log("%-12s held none of the steps" % NAMES[s])
    w, p = best.get("wvoice"), best.get("peer")
    if w and p:
        ratio = w["calls"] / p["calls"]
        log("ratio: %.1fx the calls of the Node peer at p99 lateness under "
            "%g ms" % (ratio, LATE_MS))
        goal = w["calls"] >= 2000 and ratio > 3
        log("goal (>= 2,000 calls, > 3x the peer): %s" %
            ("met" if goal else "not met"))


def summary_echo(rows, steps):
    if not rows:
        return
    b = largest(rows)
    last = rows[-1]
    topped = last["held"] and last["calls"] == steps[-1]
    log("")
    log("wvoice load against echo held %s" % (
        "%s%d calls (p99 %.1f ms)" % ("at least " if topped else "",
                                      b["calls"], b["p99"])
        if b else "none of the steps"))
    if "error" in last:
        log("the last step gave no report")
        return
    gen, srv = last["gen_peak"] or 0, last["srv_peak"] or 0
    if srv >= SERVER_FULL or (not last["held"] and srv > gen):
        side = "the server's (wvoice serve, core 1 at %.0f%%; the " \
               "generator's at %.0f%%)" % (srv, gen)
    elif not last["held"]:
        side = "the generator's (wvoice load, core 0 at %.0f%%; the " \
               "server's at %.0f%%)" % (gen, srv)
    else:
        side = "neither: both held the largest step (generator %.0f%%, " \
               "server %.0f%%)" % (gen, srv)
    log("at %d calls the core that ran out: %s" % (last["calls"], side))


def callgrind_totals(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise ValueError("no totals in " + path)


def instructions_per_frame(server, args, work, env):
    """Ir per outbound frame of wvoice load under callgrind: a short and a
    longer run of the same calls; the difference cancels the set-up."""
    if not shutil.which("valgrind"):
        log("\ninstructions per frame: valgrind is not installed "
            "(scripts/bench-deps.sh)")
        return
    calls = 5 if args.quick else 20
    runs = []
    for duration in ((2, 4) if args.quick else (3, 8)):
        out = os.path.join(work, "cg-%d.out" % duration)
        report = os.path.join(work, "cg-%d.json" % duration)
        cmd = pinned(0) + ["valgrind", "--tool=callgrind",
                           "--callgrind-out-file=" + out, args.bin, "load",
                           "--url", server.url, "--agent", "silent",
                           "--calls", str(calls), "--rate", str(calls),
                           "--duration", str(duration), "--script",
                           args.caller, "--report", report]
        server.wait_idle()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=600)
        try:
            with open(report) as f:
                frames = json.load(f)["counts"]["frames_sent"]
            runs.append((callgrind_totals(out), frames))
        except (OSError, ValueError, KeyError) as e:
            log("\ninstructions per frame: the callgrind run gave no "
                "figure (%s):\n  %s" % (e, "\n  ".join(
                    p.stderr.strip().splitlines()[-5:])))
            return
    (ir1, f1), (ir2, f2) = runs
    log("\ninstructions per outbound frame, wvoice load under callgrind "
        "(%d calls, silent): %.0f (the longer run's %d frames: %.0f with "
        "the set-up)" % (calls, (ir2 - ir1) / max(1, f2 - f1), f2,
                         ir2 / max(1, f2)))


def save(path, runs):
    """Every step's figures (not the reports themselves), as JSON."""
    out = {agent: {side: [{k: v for k, v in r.items() if k != "doc"}
                          for r in rows] for side, rows in sides.items()}
           for agent, sides in runs.items()}
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "wvoice"),
                    help="the wvoice binary (build/wvoice)")
    ap.add_argument("--quick", action="store_true",
                    help="small steps and short calls: a smoke run")
    ap.add_argument("--steps", help="call counts, comma-separated")
    ap.add_argument("--hold", type=float,
                    help="seconds all calls of a step are up together "
                    "(8; 3 with --quick)")
    ap.add_argument("--retries", type=int, default=2,
                    help="runs more of a step lost to lateness alone (2)")
    ap.add_argument("--json", metavar="FILE",
                    help="also write every step's figures here")
    ap.add_argument("--no-echo", action="store_true",
                    help="skip the run against echo")
    ap.add_argument("--no-callgrind", action="store_true",
                    help="skip the instructions per frame")
    args = ap.parse_args()
    steps = ([int(s) for s in args.steps.split(",")] if args.steps
             else QUICK_STEPS if args.quick else STEPS)
    if args.hold is None:
        args.hold = 3 if args.quick else 8
    args.bin = os.path.abspath(args.bin)
    if not os.access(args.bin, os.X_OK):
        log("bench_load: no wvoice binary at %s (--bin)" % args.bin)
        return 2

    raise_nofile()
    load = has_load(args.bin)
    if not load:
        log("bench_load: %s has no `wvoice load` (issue 12); only the Node "
            "peer runs" % args.bin)
    why_not_peer = peer_ready()
    if why_not_peer:
        log("bench_load: the Node peer is skipped: %s" % why_not_peer)
    sides = (["wvoice"] if load else []) + ([] if why_not_peer else ["peer"])
    if not sides:
        return 1
    log("bench_load: %s; steps %s; each generator on core 0, wvoice serve "
        "on core 1; open files %d" % (
            ", ".join(NAMES[s] for s in sides), ",".join(map(str, steps)),
            resource.getrlimit(resource.RLIMIT_NOFILE)[0]))

    log("machine noise before: " + noise())
    key = "bench-" + secrets.token_hex(8)
    env = dict(os.environ, WVOICE_API_KEY=key)
    server = Server(args.bin, key, max(steps) * 2)
    try:
        with tempfile.TemporaryDirectory(prefix="bench_load.") as work:
            longest = max(steps) / rate_for(max(steps)) + args.hold + 2
            args.caller = write_caller(work, max(longest, 10))
            res = step_up(sides, "silent", steps, server, args, work, env)
            summary_silent(res, steps)
            echo = {}
            if load and not args.no_echo:
                echo = step_up(["wvoice"], "echo", steps, server, args, work,
                               env, extra_stop=lambda r:
                               (r["srv_peak"] or 0) >= SERVER_FULL)
                summary_echo(echo["wvoice"], steps)
            if args.json:
                save(args.json, {"silent": res, "echo": echo})
            if load and not args.no_callgrind:
                instructions_per_frame(server, args, work, env)
    finally:
        server.stop()
    log("machine noise after: " + noise())
    return 0


if __name__ == "__main__":
    sys.exit(main())
