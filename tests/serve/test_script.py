#!/usr/bin/env python3
"""`wvoice serve --script NAME=FILE`: scripted agents run their steps in
order, wait for what they wait for, and time out.

Run: python3 test_script.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import json
import os
import time
import wave

import harness
from harness import (SLOW, Received, ServeTest, Server, collect, is_event,
                     is_mark, loud, speech)

SCRIPTS = {
    "flow": {"steps": [
        {"say": "Hello there"},
        {"mark": "hello"},
        {"wait_mark": "hello", "timeout_ms": 5000},
        {"wait_dtmf": "#", "timeout_ms": 5000},
        {"pause": 400},
        {"say": "one"},
        {"mark": "dropped"},
        {"clear": True},
        {"say": "two"},
        {"mark": "two"},
        {"hangup": True},
    ]},
    "timeouts": [
        {"mark": "a"},
        {"wait_mark": "a", "timeout_ms": 600},
        {"mark": "b"},
        {"wait_dtmf": "", "timeout_ms": 600},
        {"mark": "c"},
        {"wait_speech": True, "timeout_ms": 600},
        {"hangup": True},
    ],
    "listen": [
        {"wait_speech": True, "timeout_ms": 8000},
        {"mark": "heard"},
        {"say": "Got it"},
        {"mark": "said"},
        {"hangup": True},
    ],
    "empty": [],
    "player": [
        {"play": "tone.wav"},
        {"mark": "played"},
        {"hangup": True},
    ],
    # A script may take a built-in agent's name.
    "echo": [{"mark": "scripted"}, {"hangup": True}],
    "goodbye": [
        {"play": "tone.wav"},
        {"hangup": True},
    ],
}


def log_seconds(line):
    """The time of a server log line ("HH:MM:SS.mmm ..."), in seconds."""
    h, m, s = line.split(" ", 1)[0].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def write_wav(path, samples, rate=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(int(s).to_bytes(2, "little", signed=True)
                               for s in samples))


class Scripted(ServeTest):
    concurrent = True

    temp_dir = "script"

    @classmethod
    def prepare(cls):
        args = []
        for name, body in SCRIPTS.items():
            path = os.path.join(cls.dir, name + ".json")
            with open(path, "w") as f:
                json.dump(body, f)
            args += ["--script", "%s=%s" % (name, path)]
        write_wav(os.path.join(cls.dir, "tone.wav"), speech(0.5, seed=9))
        cls.server_args = tuple(args)

    def assert_quiet_for(self, conn, seconds, why):
        try:
            op, payload = conn.recv(seconds)
        except TimeoutError:
            return
        self.fail("%s, but the server sent %r" % (why, payload[:80]))

    def test_steps_run_in_order_and_wait(self):
        c, cid = self.open_call("flow")
        r = Received()
        collect(c, is_mark("hello"), 10 * SLOW, r)
        self.assertEqual(set(r.names()[:-1]), {"audio"})
        self.assertGreater(sum(loud(f) for _, f in r.audio()), 10)
        self.assert_quiet_for(c, 0.5, "the script waits for mark hello")
        c.send_event({"event": "mark", "mark": "hello"})
        self.assert_quiet_for(c, 0.5, "the script waits for #")
        c.send_event({"event": "dtmf", "dtmf": "1"})
        self.assert_quiet_for(c, 0.6, "1 is not the digit it waits for")
        c.send_event({"event": "dtmf", "dtmf": "#"})
        t_hash = time.monotonic()
        r = Received()
        collect(c, is_event("clear"), 3 * SLOW, r)
        self.assertEqual(r.names(), ["clear"],
                         "the cleared 'one' must never leave")
        waited = r.items[0][0] - t_hash
        self.assertGreater(waited, 0.35, "the 400 ms pause was cut short")
        self.assertLess(waited, 1.5 * SLOW)
        r = Received()
        code, reason, events = c.wait_close(10 * SLOW)
        names = [harness.describe(e) for e in events]
        self.assertEqual(code, 1000)
        self.assertEqual(names[-2:], ["mark:two", "stop"], names)
        self.assertEqual(set(names[:-2]), {"audio"}, names)
        self.assertNotIn("mark:dropped", names)
        self.assertRegex(self.server.wait_log(r"call %s end " % cid),
                         r"reason=agent-stop .* marks=1 ")

    def test_waits_time_out_and_the_script_goes_on(self):
        c, cid = self.open_call("timeouts")
        r = Received()
        collect(c, is_mark("a"), 5 * SLOW, r)
        collect(c, is_mark("b"), 3 * SLOW, r)
        collect(c, is_mark("c"), 3 * SLOW, r)
        code, reason, events = c.wait_close(3 * SLOW)
        t_end = time.monotonic()
        self.assertEqual(code, 1000)
        self.assertEqual([e.get("event") for e in events], ["stop"])
        ta = r.items[0][0]
        self.assertLess(t_end - ta, 3 * 1.5 * SLOW, "the waits took too long")
        self.server.wait_log(r"call %s: script timeouts: step 6 timed out"
                             % cid)
        lines = self.server.log_lines(r"call %s: script timeouts: step \d+ "
                                      r"timed out after 600 ms" % cid)
        self.assertEqual(len(lines), 3, lines)
        # Timed by the server's own log: each wait starts when the one
        # before it timed out, so a timer that fires late (a loaded
        # machine) lengthens its gap and never shortens the next, where
        # gaps seen at the client can shrink. Early, by 1 ms at most.
        stamps = [log_seconds(ln) for ln in lines]
        for gap in ((stamps[1] - stamps[0]) % 86400,
                    (stamps[2] - stamps[1]) % 86400):
            self.assertGreaterEqual(gap, 0.599, "a 600 ms wait ended early")
            self.assertLess(gap, 1.5 * SLOW, "a 600 ms wait took too long")

    def test_wait_speech_goes_on_when_the_caller_has_spoken(self):
        c, cid = self.open_call("listen")
        pump = self.start_pump(c)
        time.sleep(0.2)
        u = pump.say(speech(0.8, seed=10))
        r = Received()
        collect(c, is_mark("heard"), 5 * SLOW, r)
        t_heard = r.items[-1][0]
        self.assertEqual(r.names(), ["mark:heard"])
        # The silence that ends it cannot come sooner than it was due.
        self.assertGreater(t_heard - u.last_due, 0.3,
                           "went on before the utterance had ended")
        self.assertLess(t_heard - u.last_sent, 2.0 * SLOW)
        code, reason, events = c.wait_close(10 * SLOW)
        names = [harness.describe(e) for e in events]
        self.assertEqual(code, 1000)
        self.assertEqual(names[-2:], ["mark:said", "stop"])
        self.assertGreater(names.count("audio"), 10)
        pump.stop()

    def test_hangup_waits_for_the_audio_to_play(self):
        c, cid = self.open_call("player")
        r = Received()
        t0 = time.monotonic()
        collect(c, is_mark("played"), 5 * SLOW, r)
        frames = [f for _, f in r.audio()]
        self.assertAlmostEqual(len(frames), 25, delta=1,
                               msg="0.5 s of tone.wav is 25 frames")
        self.assertGreater(sum(map(loud, frames)), 20)
        code, reason, events = c.wait_close(5 * SLOW)
        self.assertEqual(code, 1000)
        self.assertEqual([e.get("event") for e in events], ["stop"])
        # The stop follows the audio's play time, not its send time.
        self.assertGreater(time.monotonic() - t0, 0.45)

    def goodbye(self):
        """The "goodbye" script's audio, up to the mark its hangup places
        after it: the stop waits for that mark to come back."""
        c, cid = self.open_call("goodbye")
        r = Received()
        collect(c, is_mark("hangup"), 5 * SLOW, r)
        self.assertEqual(set(r.names()[:-1]), {"audio"})
        return c, cid, time.monotonic()

    def test_hangup_waits_until_the_caller_has_heard_the_last_words(self):
        c, cid, t_mark = self.goodbye()
        # A caller with a long pre-buffer plays it later (0.8 s here: the
        # server waits 2 s past the audio's end, and this client may be
        # given the mark late on a loaded machine).
        self.assert_quiet_for(c, 0.8, "the stop came before the caller "
                              "had heard the last words")
        c.send_event({"event": "mark", "mark": "hangup"})
        t_answer = time.monotonic()
        code, reason, events = c.wait_close(3 * SLOW)
        self.assertEqual(code, 1000)
        self.assertEqual([e.get("event") for e in events], ["stop"])
        self.assertLess(time.monotonic() - t_answer, 1.0 * SLOW,
                        "the stop did not follow the mark")
        self.assertRegex(self.server.wait_log(r"call %s end " % cid),
                         r"reason=agent-stop .* marks=1 ")

    def test_hangup_goes_on_when_the_mark_never_comes_back(self):
        c, cid, t_mark = self.goodbye()
        code, reason, events = c.wait_close(10 * SLOW)
        waited = time.monotonic() - t_mark
        self.assertEqual(code, 1000)
        self.assertEqual([e.get("event") for e in events], ["stop"])
        # 2 s past the end of the audio, which was sent 60 ms early; the
        # log says it was the timeout. (Timed from when this client got the
        # mark, which a loaded machine may delay: a loose floor.)
        self.assertGreater(waited, 1.0, "the stop did not wait for the mark")
        self.assertRegex(self.server.wait_log(r"call %s: " % cid),
                         r"the hangup mark did not come back within "
                         r"2000 ms; hanging up")

    def test_an_empty_script_answers_and_stays_silent(self):
        c, cid = self.open_call("empty")
        self.assert_quiet_for(c, 1.0, "an empty script says nothing")
        self.assert_stop_closes(c)

    def test_a_script_can_take_a_built_in_name(self):
        c, cid = self.open_call("echo")
        code, reason, events = c.wait_close(5 * SLOW)
        self.assertEqual([harness.describe(e) for e in events],
                         ["mark:scripted", "stop"])
        self.assertEqual(code, 1000)

    def test_taking_a_built_in_name_is_said_at_start(self):
        # Only "echo" of the scripts is a built-in's name: one warning.
        self.server.wait_log(r'script "echo" replaces')
        lines = self.server.log_lines(r"replaces the built-in")
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r'^\d\d:\d\d:\d\d\.\d{3} script "echo" '
                         r"replaces the built-in agent echo$")


class BadScripts(ServeTest):
    """Scripts that must stop the server from starting (exit 1)."""

    start_server = False
    temp_dir = "badscript"

    def run_with(self, name, text):
        path = os.path.join(self.dir, name + ".json")
        with open(path, "w") as f:
            f.write(text)
        s = Server("--script", "%s=%s" % (name, path), ready=False)
        code = s.wait_exit()
        self.assertFalse([ln for ln in s.stdout_lines
                          if ln.startswith("listening")])
        self.assertEqual(code, 1, s.log())
        self.assertEqual(s.leaked(), [])
        return s.log()

    def test_invalid_json_names_the_file(self):
        log = self.run_with("broken", '[{"say": "hi"},')
        self.assertIn("broken.json", log)

    def test_a_bad_digit_names_the_step(self):
        log = self.run_with("digits", '[{"wait_dtmf": "x"}]')
        self.assertRegex(log, r"digits\.json: step 1: .*wait_dtmf")

    def test_waiting_for_a_mark_never_queued(self):
        log = self.run_with("nomark", '[{"wait_mark": "ghost"}]')
        self.assertRegex(log, r"nomark\.json: step 1")

    def test_every_problem_is_reported_in_step_order(self):
        log = self.run_with("three", json.dumps([
            {"wait_dtmf": "x"},
            {"mark": "fine"},
            {"sya": "hello"},
            {"say": "fine"},
            {"wait_mark": "ghost"},
        ]))
        path = os.path.join(self.dir, "three.json")
        want = [
            "step 1: \"wait_dtmf\": 'x' is not a DTMF digit (0-9, * or #)",
            "step 3: unknown key \"sya\" (a step is one of say, play, ",
            "step 5: \"wait_mark\": no earlier \"mark\" step queues "
            "\"ghost\", so this wait could only time out",
        ]
        lines = [ln for ln in log.splitlines() if "three.json" in ln]
        self.assertEqual(len(lines), len(want), log)
        for line, end in zip(lines, want):
            self.assertTrue(line.startswith("wvoice serve: %s: %s"
                                            % (path, end)), line)

    def test_past_twenty_problems_the_rest_are_counted(self):
        log = self.run_with("many", json.dumps([{"pause": -1}] * 23))
        lines = [ln for ln in log.splitlines() if "many.json" in ln]
        self.assertEqual(len(lines), 21, log)
        self.assertRegex(lines[19], r"many\.json: step 20: \"pause\": -1 ms")
        self.assertTrue(lines[20].endswith("many.json: ... and 3 more "
                                           "problems"), lines[20])

    def test_a_missing_file(self):
        s = Server("--script", "gone=" + os.path.join(self.dir, "no.json"),
                   ready=False)
        self.assertEqual(s.wait_exit(), 1)
        self.assertIn("no.json", s.log())


if __name__ == "__main__":
    harness.main()
