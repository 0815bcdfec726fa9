#!/usr/bin/env python3
"""`wvoice demo` end to end: the real command, with its in-process agent,
checked through its timeline, its stereo recording and its event log."""

import os
import re
import subprocess

import harness
from harness import SLOW, ServeTest
from test_records import read_jsonl, read_wav

RATE = 8000
ROW = re.compile(r"^ *(\d+\.\d\d)  (\S*) +(.*)$")

# What the timeline must say, in this order.
STEPS = [
    ("caller", "calls the demo agent"),
    ("agent", "answers: communication id "),
    ("agent", "greets the caller"),
    ("caller", "talks over the greeting"),
    ("agent", "hears the caller, stops and clears"),
    ("caller", "stops talking"),
    ("agent", "says back what it heard"),
    ("phone", "played the agent's words to mark echo-1"),
    ("caller", "says: "),
    ("caller", "stops talking"),
    ("agent", "says back what it heard"),
    ("phone", "played the agent's words to mark echo-2"),
    ("caller", "presses 5"),
    ("agent", "names the digit"),
    ("caller", "presses #"),
    ("agent", "says goodbye"),
    ("agent", "hangs up"),
    ("", "the call ends: remote-stop"),
]


def run_demo(*args, cwd=None, timeout=90):
    p = subprocess.run([harness.binary(), "demo"] + list(args), cwd=cwd,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout * SLOW)
    return p.returncode, p.stdout, p.stderr


def timeline(stdout):
    """[(t, who, what)] from the timeline rows."""
    rows = []
    for line in stdout.splitlines():
        m = ROW.match(line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3)))
    return rows


def when(rows, who, what):
    for t, w, text in rows:
        if w == who and text.startswith(what):
            return t
    raise AssertionError("no %s %r in the timeline" % (who, what))


def rms(samples):
    return (sum(s * s for s in samples) / max(1, len(samples))) ** 0.5


def window(samples, t0, t1):
    return samples[int(t0 * RATE):int(t1 * RATE)]


class Demo(ServeTest):
    concurrent = True
    start_server = False
    temp_dir = "demo"

    def test_demo_call_goes_as_planned_and_is_recorded(self):
        # A new directory is made, as serve --record makes its own.
        d = os.path.join(self.dir, "full")
        self.assertFalse(os.path.exists(d))
        code, out, err = run_demo("--dir", d)
        self.assertEqual(code, 0, out + err)
        self.assertEqual(err, "", "a clean demo writes nothing on stderr")

        rows = timeline(out)
        texts = [(w, text) for _, w, text in rows]
        at = 0
        for who, what in STEPS:
            found = [i for i in range(at, len(texts))
                     if texts[i][0] == who and texts[i][1].startswith(what)]
            self.assertTrue(found, "%s %r missing or out of order in\n%s"
                            % (who, what, out))
            at = found[0] + 1
        times = [t for t, _, _ in rows]
        self.assertEqual(times, sorted(times))
        cid = texts[1][1].rsplit(" ", 1)[1]
        self.assertTrue(harness.is_uuid4(cid), cid)

        # The recording: stereo 8 kHz, as long as the call.
        ch, rate, width, left, right = read_wav(
            os.path.join(d, "demo-call.wav"))
        self.assertEqual((ch, rate, width), (2, RATE, 2))
        end = when(rows, "", "the call ends")
        self.assertAlmostEqual(len(left) / RATE, end, delta=0.03)

        greet = when(rows, "agent", "greets the caller")
        talk = when(rows, "caller", "talks over the greeting")
        cleared = when(rows, "agent", "hears the caller")
        quiet = when(rows, "caller", "stops talking")
        reply = when(rows, "agent", "says back")
        # Before the barge-in the agent talks and the caller is silent...
        self.assertGreater(rms(window(right, greet, talk)), 300)
        self.assertLess(rms(window(left, 0, talk - 0.05)), 1)
        # ...then the caller talks and the agent, cleared, is silent.
        self.assertGreater(rms(window(left, talk + 0.1, quiet - 0.1)), 300)
        self.assertLess(rms(window(right, cleared + 0.1, quiet)), 1)
        # The reply is heard, and it is the caller's words said back.
        self.assertGreater(rms(window(right, reply, reply + 2)), 300)

        # The event log agrees with the timeline.
        lines = read_jsonl(os.path.join(d, "demo-call.jsonl"))
        self.assertIn("%d events" % len(lines), out)
        names = [(e["dir"], e.get("event")) for e in lines
                 if e.get("event") != "audio"]
        self.assertEqual(names[0], ("out", "start"))
        self.assertEqual(names[1], ("in", "start"))
        self.assertEqual(names[-1], ("in", "stop"))
        self.assertIn(("in", "clear"), names)
        digits = [e["dtmf"] for e in lines if e.get("event") == "dtmf"]
        self.assertEqual(digits, ["5", "#"])
        marks = [(e["dir"], e["mark"]) for e in lines
                 if e.get("event") == "mark"]
        self.assertEqual([m for dr, m in marks if dr == "in"],
                         [m for dr, m in marks if dr == "out"])
        self.assertGreaterEqual(len(marks), 8)
        # The timeline keeps the recording's clock: the caller's audio sent
        # before the clear came in puts it where the timeline does, however
        # late a busy machine made the loop (the log's "t" is wall time).
        sent = 0
        for e in lines:
            if e.get("event") == "clear":
                break
            if e.get("event") == "audio" and e["dir"] == "out":
                sent += e["bytes"]
        self.assertAlmostEqual(sent / RATE, cleared, delta=0.025)

    def test_quiet_demo_writes_files_in_the_current_directory(self):
        d = os.path.join(self.dir, "here")
        os.mkdir(d)
        code, out, err = run_demo("--quiet", cwd=d)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "")
        self.assertEqual(sorted(os.listdir(d)),
                         ["demo-call.jsonl", "demo-call.wav"])
        self.assertEqual(read_jsonl(os.path.join(d, "demo-call.jsonl"))[-1]
                         ["event"], "stop")

    def test_usage(self):
        code, out, _ = run_demo("--help")
        self.assertEqual(code, 0)
        self.assertIn("--dir DIR", out)
        self.assertIn("demo-call.wav", out)
        for args in (["--bogus"], ["extra"], ["--dir"]):
            code, out, err = run_demo(*args)
            self.assertEqual(code, 2, args)
            self.assertIn("wvoice demo --help", err)
        missing = os.path.join(self.dir, "no", "such", "dir")
        code, out, err = run_demo("--dir", missing)
        self.assertEqual(code, 1)
        self.assertEqual(err, "wvoice demo: cannot create the directory %s: "
                         "No such file or directory\n" % missing)
        self.assertEqual(out, "")


if __name__ == "__main__":
    harness.main()
