#!/usr/bin/env python3
"""`wvoice call --script FILE`: a caller script run against scripted agents
(`wvoice serve --script`), each step waiting on what the caller hears
played, never on guessed times. Checked through the server's records and
the call's event log, by the order of events rather than by wall-clock
times (loaded machines and sanitizer builds stretch those).

Run: python3 test_call_script.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import json
import os

import harness
from harness import ServeTest
from test_call import run_call, summary
from test_records import read_jsonl
from test_script import write_wav

# The agent: an IVR menu, then the answer to the digit, then it stays on
# the line (its own hang-up is far off, so the caller's is what ends it).
AGENTS = {
    "ivr": [
        {"say": "Welcome. For sales, press one. For support, press two."},
        {"mark": "menu"},
        {"wait_dtmf": "12", "timeout_ms": 60000},
        {"say": "Thank you. Please hold while we connect you."},
        {"mark": "answer"},
        {"wait_mark": "answer", "timeout_ms": 60000},
        {"pause": 60000},
        {"hangup": True},
    ],
}

# The agent's quiet that ends the call: longer than any pause in its speech
# (and, stretched under sanitizers, than a stall of a loaded machine).
QUIET_MS = int(800 * harness.SLOW)

# The caller: wait for the menu's mark, press a digit, wait for the answer,
# hang up when the agent goes quiet. Waits are generous: they end on what
# is heard, so only a failure waits them out.
IVR_CALLER = [
    {"wait_mark": "menu", "timeout_ms": 60000},
    {"dtmf": "1"},
    {"wait_agent_speech": True, "timeout_ms": 60000},
    {"wait_agent_quiet": QUIET_MS, "timeout_ms": 60000},
    {"hangup": True},
]


class CallScript(ServeTest):
    """One recording server with scripted agents; each test places calls
    driven by caller scripts."""

    concurrent = True
    temp_dir = "callscript"

    @classmethod
    def prepare(cls):
        args = ["--record", os.path.join(cls.dir, "records")]
        for name, body in AGENTS.items():
            path = os.path.join(cls.dir, "agent-%s.json" % name)
            with open(path, "w") as f:
                json.dump(body, f)
            args += ["--script", "%s=%s" % (name, path)]
        cls.server_args = tuple(args)

    def path(self, name):
        return os.path.join(self.dir, "%s-%s" % (self.id().split(".")[-1],
                                                 name))

    def script(self, body, name="caller.json"):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(body if isinstance(body, str) else json.dumps(body))
        return path

    def call(self, *args, **kw):
        return run_call("--url", self.server.url, "--api-key", harness.KEY,
                        *args, **kw)

    def record_of(self, cid):
        """The server's event record of a call, once it holds the end."""
        base = os.path.join(self.dir, "records", cid + ".jsonl")
        deadline = harness.time.monotonic() + 10 * harness.SLOW
        while harness.time.monotonic() < deadline:
            if os.path.exists(base):
                lines = read_jsonl(base, allow_partial_last=True)
                if any(e.get("event") in ("stop", "close", "end")
                       and e.get("dir") == "in" for e in lines):
                    return lines
            harness.time.sleep(0.1)
        self.fail("no complete record of %s" % cid)

    @staticmethod
    def index(events, pred, what):
        for i, e in enumerate(events):
            if pred(e):
                return i
        raise AssertionError("%s not in %s" % (what, [
            (e.get("dir"), e.get("event"), e.get("mark") or e.get("dtmf"))
            for e in events if e.get("event") != "audio"]))

    def test_ivr_waits_for_the_menu_presses_and_hangs_up_after_the_answer(
            self):
        events = self.path("events.jsonl")
        out_wav = self.path("heard.wav")
        code, out, err = self.call("--agent", "ivr", "--script",
                                   self.script(IVR_CALLER), "--events",
                                   events, "--output", out_wav)
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "", "nothing timed out, nothing went wrong")
        s = summary(out)
        self.assertEqual(s["end reason"], "hangup")
        self.assertGreaterEqual(int(s["marks"]), 2, "the answer was heard")

        # The caller's own log: the menu's mark answered (played), then
        # the digit, then the answer's mark, then the hang-up.
        log = [e for e in read_jsonl(events) if e["event"] != "audio"]
        menu = self.index(log, lambda e: e["dir"] == "out" and
                          e.get("mark") == "menu", "menu answered")
        digit = self.index(log, lambda e: e["dir"] == "out" and
                           e["event"] == "dtmf", "the digit")
        answer = self.index(log, lambda e: e["dir"] == "out" and
                            e.get("mark") == "answer", "answer answered")
        stop = self.index(log, lambda e: e["dir"] == "out" and
                          e["event"] == "stop", "the hang-up")
        self.assertEqual(log[digit]["dtmf"], "1")
        self.assertLess(menu, digit)
        self.assertLess(digit, answer)
        self.assertLess(answer, stop)
        # The hang-up waited for the agent's quiet after its answer, on
        # the call's media clock: never sooner (a loaded machine makes it
        # later, never earlier).
        self.assertGreaterEqual(log[stop]["t"] - log[answer]["t"],
                                (QUIET_MS - 100) / 1000.0)

        # The server saw the same: the digit after the menu had played,
        # the answer's mark back (so it played out), then the stop.
        rec = self.record_of(s["communication id"])
        ins = [e for e in rec if e.get("dir") == "in"]
        r_menu = self.index(ins, lambda e: e.get("event") == "mark" and
                            e.get("mark") == "menu", "menu mark back")
        r_digit = self.index(ins, lambda e: e.get("event") == "dtmf",
                             "digit at the server")
        r_answer = self.index(ins, lambda e: e.get("event") == "mark" and
                              e.get("mark") == "answer", "answer mark back")
        r_stop = self.index(ins, lambda e: e.get("event") == "stop",
                            "the caller's stop")
        self.assertLess(r_menu, r_digit)
        self.assertLess(r_digit, r_answer)
        self.assertLess(r_answer, r_stop)
        self.assertGreaterEqual(ins[r_stop]["t"] - ins[r_answer]["t"],
                                (QUIET_MS - 200) / 1000.0)

    def test_verbose_names_each_step_as_it_begins(self):
        code, out, err = self.call("--agent", "ivr", "--verbose",
                                   "--script", self.script(IVR_CALLER))
        self.assertEqual(code, 0, err)
        steps = [ln.split(": step ", 1)[1] for ln in err.splitlines()
                 if ": step " in ln]
        self.assertEqual(steps, ["1: wait_mark", "2: dtmf",
                                 "3: wait_agent_speech",
                                 "4: wait_agent_quiet", "5: hangup"], err)
        self.assertIn("caller.json: done", err)

    def test_a_wait_that_times_out_is_reported_and_the_script_goes_on(self):
        path = self.script([
            {"wait_mark": "never", "timeout_ms": 500},
            {"dtmf": "2"},
            {"wait_agent_speech": True, "timeout_ms": 60000},
            {"wait_agent_quiet": 500, "timeout_ms": 60000},
            {"hangup": True},
        ])
        events = self.path("events.jsonl")
        code, out, err = self.call("--agent", "ivr", "--script", path,
                                   "--events", events)
        self.assertEqual(code, 0, err)
        self.assertEqual(err.splitlines(), [
            "wvoice call: %s: step 1 (wait_mark) timed out after 500 ms; "
            "going on" % path])
        self.assertEqual(summary(out)["end reason"], "hangup")
        digits = [e["dtmf"] for e in read_jsonl(events)
                  if e["event"] == "dtmf"]
        self.assertEqual(digits, ["2"])

    def test_quiet_says_nothing_of_a_timeout(self):
        path = self.script([{"wait_mark": "never", "timeout_ms": 200},
                            {"hangup": True}])
        code, out, err = self.call("--agent", "ivr", "--quiet", "--script",
                                   path)
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "")

    def test_a_script_with_problems_lists_them_all_and_exits_2(self):
        path = self.script([
            {"wait_mark": "menu"},
            {"dtmf": "1x"},
            {"wait_agent_quiet": "800"},
            {"say": "nowhere.wav"},
            {"sya": "hello"},
            {"hangup": True},
            {"mute": True},
        ], "bad.json")
        code, out, err = self.call("--agent", "ivr", "--script", path)
        self.assertEqual(code, 2, err)
        self.assertEqual(out, "")
        lines = err.splitlines()
        want = [
            "step 2: \"dtmf\": 'x' is not a DTMF digit (0-9, * or #)",
            "step 3: \"wait_agent_quiet\": must be a whole number of "
            "milliseconds, not a string",
            "step 4: \"say\": %s" % os.path.join(self.dir, "nowhere.wav"),
            "step 5: unknown key \"sya\" (a step is one of say, ",
            "step 7: comes after the \"hangup\" at step 6, so it and any "
            "step after it could never run",
        ]
        self.assertEqual(len(lines), len(want), err)
        for line, start in zip(lines, want):
            self.assertTrue(line.startswith("wvoice call: %s: %s"
                                            % (path, start)), line)

    def test_a_missing_script_exits_2(self):
        path = self.path("none.json")
        code, out, err = self.call("--agent", "ivr", "--script", path)
        self.assertEqual(code, 2)
        self.assertEqual(err, "wvoice call: %s: cannot open: No such file "
                         "or directory\n" % path)

    def test_script_conflicts_with_the_callers_other_voices_and_hands(self):
        path = self.script(IVR_CALLER)
        wav = self.path("in.wav")
        write_wav(wav, [0] * 800)
        for extra in (["--input", wav], ["--dtmf", "1@1"],
                      ["--mute", "1-2"], ["--input-device", "0"],
                      ["--output-device", "0"]):
            with self.subTest(extra=extra):
                code, out, err = self.call("--agent", "ivr", "--script",
                                           path, *extra)
                self.assertEqual(code, 2, err)
                self.assertIn("--script and %s conflict" % extra[0], err)

    def test_hangup_after_caps_a_script_that_never_ends(self):
        path = self.script([{"wait_mark": "never", "timeout_ms": 600000}])
        code, out, err = self.call("--agent", "ivr", "--script", path,
                                   "--hangup-after", "1")
        self.assertEqual(code, 0, err)
        self.assertEqual(summary(out)["end reason"], "hangup")
        self.assertEqual(err.splitlines(), [
            "wvoice call: %s: the call ended at step 1 (wait_mark)" % path])


if __name__ == "__main__":
    harness.main()
