#!/usr/bin/env python3
"""`wvoice serve`: the built-in agents (demo, echo, silent) on real calls,
with real-time caller audio: playback, marks, pacing, barge-in, DTMF,
hang-up.

Run: python3 test_agents.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import base64
import statistics
import time

import harness
from harness import (SLOW, Received, ServeTest, collect, is_event, is_mark,
                     loud, speech, frame_energy, dbfs)


def loud_span(frames):
    """(first, last) index of frames above -45 dBFS, or None."""
    idx = [i for i, f in enumerate(frames) if loud(f)]
    return (idx[0], idx[-1]) if idx else None


def mean_level(frames):
    fs = [f for f in frames if loud(f)]
    return dbfs(sum(frame_energy(f) for f in fs) / len(fs)) if fs else -200


class Agents(ServeTest):
    concurrent = True

    def assert_nothing_arrives(self, conn, seconds):
        try:
            op, payload = conn.recv(seconds)
        except TimeoutError:
            return
        self.fail("the server sent %r while it should say nothing" %
                  (payload[:80],))

    def end_line(self, cid):
        return self.server.wait_log(r"call %s end " % cid)

    # ---- echo ----

    def test_echo_plays_back_an_utterance_then_mark_echo_1(self):
        c, cid = self.open_call("echo")
        pump = self.start_pump(c)
        time.sleep(0.3)
        u = pump.say(speech(1.2, seed=3))
        r = Received()
        collect(c, is_mark("echo-1"), (1.2 + 5) * SLOW, r)
        names = r.names()
        self.assertEqual(names[-1], "mark:echo-1")
        self.assertEqual(set(names[:-1]), {"audio"},
                         "only audio before the mark: %s" % names)
        audio = r.audio()
        frames = [f for _, f in audio]
        self.assertTrue(all(len(f) == 160 for f in frames),
                        "every agent frame is 20 ms of mu-law")
        # The echo starts once the utterance has ended (500 ms silence).
        self.assertGreater(audio[0][0], u.last_due + 0.3,
                           "echo began before the caller stopped talking")
        sent = loud_span(u.frames)
        got = loud_span(frames)
        self.assertIsNotNone(got, "the echo is silent")
        sent_s = (sent[1] - sent[0] + 1) * 0.02
        got_s = (got[1] - got[0] + 1) * 0.02
        harness.figure("echo speech vs sent", "%.2f s vs %.2f s" %
                       (got_s, sent_s))
        self.assertAlmostEqual(got_s, sent_s, delta=0.3,
                               msg="echoed speech %.2f s, sent %.2f s" %
                               (got_s, sent_s))
        # The whole echo: the utterance plus at most the pre-roll (200 ms)
        # and the kept trailing silence (100 ms), and a frame of padding.
        total = len(frames) * 0.02
        self.assertGreaterEqual(total, u.seconds - 0.3)
        self.assertLessEqual(total, u.seconds + 0.3 + 0.3)
        self.assertGreater(sum(map(loud, frames[got[0]:got[1] + 1])),
                           0.8 * (got[1] - got[0] + 1), "echo mostly silent")
        self.assertAlmostEqual(mean_level(frames), mean_level(u.frames),
                               delta=3.0, msg="echo level differs")
        # Returning the mark is accepted: it counts as played.
        c.send_event({"event": "mark", "mark": "echo-1"})
        pump.stop()
        self.assert_stop_closes(c)
        self.assertRegex(self.end_line(cid), r" marks=1 ")
        self.assertEqual(self.server.log_lines(r"call %s: bad frame" % cid),
                         [])

    def test_echo_numbers_its_marks_per_utterance(self):
        c, cid = self.open_call("echo")
        pump = self.start_pump(c)
        r = Received()
        for n in (1, 2):
            time.sleep(0.2)
            pump.say(speech(0.6, seed=n))
            collect(c, is_mark("echo-%d" % n), 6 * SLOW, r)
            c.send_event({"event": "mark", "mark": "echo-%d" % n})
        marks = [x for x in r.names() if x.startswith("mark:")]
        self.assertEqual(marks, ["mark:echo-1", "mark:echo-2"])
        pump.stop()
        self.assert_stop_closes(c)
        self.assertRegex(self.end_line(cid), r" marks=2 ")

    def test_marks_never_sent_or_returned_twice_are_ignored(self):
        c, cid = self.open_call("echo")
        pump = self.start_pump(c)
        pump.say(speech(0.5, seed=4))
        collect(c, is_mark("echo-1"), 6 * SLOW)
        for m in ("echo-1", "echo-1", "echo-2", ""):
            c.send_event({"event": "mark", "mark": m})
        pump.stop()
        self.assert_stop_closes(c)
        self.assertRegex(self.end_line(cid), r" marks=1 ")
        bad = self.server.log_lines(r"call %s: bad frame: a mark the server "
                                    r"never sent; ignored" % cid)
        self.assertEqual(len(bad), 3, bad)

    # ---- demo ----

    def test_demo_greets_then_marks_greeting(self):
        c, cid = self.open_call("demo")
        r = Received()
        collect(c, is_mark("greeting"), 20 * SLOW, r)
        names = r.names()
        self.assertEqual(set(names[:-1]), {"audio"}, names)
        frames = [f for _, f in r.audio()]
        self.assertGreater(len(frames) * 0.02, 2.0, "a short greeting")
        self.assertGreater(sum(map(loud, frames)), len(frames) // 2,
                           "the greeting is mostly silent")
        # The mark ends the greeting: nothing follows it.
        self.assert_nothing_arrives(c, 1.0)
        c.send_event({"event": "mark", "mark": "greeting"})
        self.assert_stop_closes(c)
        self.assertRegex(self.end_line(cid), r" marks=1 ")
        self.assertEqual(self.server.log_lines(r"call %s: bad frame" % cid),
                         [])

    def test_agent_audio_is_paced_at_real_time(self):
        c, cid = self.open_call("demo")
        r = Received()
        n = 150  # 3 s of the greeting
        collect(c, lambda ev: len(r.items) >= n, 10 * SLOW, r)
        ts = [t for t, _ in r.audio()]
        self.assertEqual(len(ts), n)
        rate = (n - 1) / (ts[-1] - ts[0])
        self.assertAlmostEqual(rate, 50.0, delta=2.5,
                               msg="agent frames at %.1f/s" % rate)
        # Each frame against the steady 50/s schedule: none may arrive
        # more than the 60 ms lead (plus 40 ms of jitter) early.
        rel = [t - i * 0.02 for i, t in enumerate(ts)]
        base = statistics.median(rel)
        early = max(base - x for x in rel)
        self.assertLess(early, 0.1, "a burst %.0f ms ahead of real time" %
                        (early * 1000))
        late = max(x - base for x in rel)
        harness.figure("agent frames", "%.2f/s, earliest %.0f ms, latest "
                       "%.0f ms" % (rate, early * 1000, late * 1000))
        # Timed in this Python process, which shares two cores with the
        # server and the other tests: bench_serve measures lateness
        # properly; this only catches a server that stalls.
        self.assertLess(late, 0.5 * SLOW, "a frame %.0f ms late" %
                        (late * 1000))
        self.assert_stop_closes(c)

    def test_barge_in_clears_within_300_ms_of_speech_onset(self):
        c, cid = self.open_call("demo")
        pump = self.start_pump(c)
        r = Received()
        collect(c, lambda ev: len(r.items) >= 50, 10 * SLOW, r)
        u = pump.say(speech(1.0, seed=5))
        collect(c, is_event("clear"), 3 * SLOW, r)
        t_clear = r.items[-1][0]
        u.done.wait(2 * SLOW)
        latency = t_clear - u.first_sent
        harness.figure("barge-in latency", "%.0f" % (latency * 1000), " ms")
        self.assertLessEqual(
            latency, harness.BARGE_IN_LIMIT,
            "clear %.0f ms after the first speech frame" % (latency * 1000))
        self.assertGreater(latency, 0.0)
        # After the clear: no more greeting, and its mark never comes; the
        # agent says back the barge-in utterance, after it ends.
        after = Received()
        collect(c, is_mark("echo-1"), 6 * SLOW, after)
        names = after.names()
        self.assertNotIn("mark:greeting", names)
        self.assertNotIn("clear", names)
        first_audio = after.audio()[0][0]
        self.assertGreater(first_audio, u.last_due + 0.3,
                           "audio %.0f ms after the clear, before the "
                           "caller stopped talking: greeting not cleared" %
                           ((first_audio - t_clear) * 1000))
        self.server.wait_log(r"call %s: barge-in" % cid)
        pump.stop()
        self.assert_stop_closes(c)

    def test_speech_while_the_agent_is_silent_gets_no_clear(self):
        c, cid = self.open_call("demo")
        collect(c, is_mark("greeting"), 20 * SLOW)
        c.send_event({"event": "mark", "mark": "greeting"})
        pump = self.start_pump(c)
        time.sleep(0.2)
        pump.say(speech(0.8, seed=6))
        r = Received()
        collect(c, is_mark("echo-1"), 6 * SLOW, r)
        self.assertNotIn("clear", r.names())
        pump.stop()
        self.assert_stop_closes(c)

    def test_dtmf_digits_are_named_then_marked(self):
        c, cid = self.open_call("demo")
        c.send_event({"event": "dtmf", "dtmf": "5"})
        c.send_event({"event": "dtmf", "dtmf": "*"})
        r = Received()
        collect(c, is_mark("digit-2"), 25 * SLOW, r)
        names = r.names()
        marks = [x for x in names if x.startswith("mark:")]
        self.assertEqual(marks, ["mark:greeting", "mark:digit-1",
                                 "mark:digit-2"])
        # Each digit's name is spoken between the marks.
        i1, i2 = names.index("mark:digit-1"), names.index("mark:digit-2")
        ig = names.index("mark:greeting")
        frames = [(i, x) for i, (_, x) in enumerate(r.items)]
        for lo, hi in ((ig, i1), (i1, i2)):
            seg = [base64.b64decode(ev["payload"])
                   for i, ev in frames[lo + 1:hi]]
            self.assertEqual(names[lo + 1:hi], ["audio"] * (hi - lo - 1))
            self.assertGreaterEqual(len(seg), 10, "a digit under 200 ms")
            self.assertTrue(any(map(loud, seg)), "a silent digit")
        self.assert_stop_closes(c)

    def test_pound_says_goodbye_and_hangs_up_when_its_mark_returns(self):
        c, cid = self.open_call("demo")
        c.send_event({"event": "dtmf", "dtmf": "#"})
        r = Received()
        collect(c, is_mark("goodbye"), 25 * SLOW, r)
        names = r.names()
        ig = names.index("mark:greeting")
        self.assertGreater(names[ig + 1:-1].count("audio"), 10,
                           "no goodbye speech")
        c.send_event({"event": "mark", "mark": "greeting"})
        c.send_event({"event": "mark", "mark": "goodbye"})
        t = time.monotonic()
        code, reason, events = c.wait_close(3 * SLOW)
        self.assertEqual([e.get("event") for e in events], ["stop"])
        self.assertEqual(code, 1000)
        self.assertLess(time.monotonic() - t, 1.5 * SLOW)
        self.assertRegex(self.end_line(cid), r"reason=agent-stop .* marks=2 ")

    def test_pound_hangs_up_anyway_when_goodbye_is_not_returned(self):
        c, cid = self.open_call("demo")
        # Silence all along, as a live client sends: a call with no audio
        # for 10 s is ended (--idle-timeout), with 1008.
        self.start_pump(c)
        c.send_event({"event": "dtmf", "dtmf": "#"})
        collect(c, is_mark("goodbye"), 25 * SLOW)
        t_mark = time.monotonic()
        code, reason, events = c.wait_close(10 * SLOW)
        waited = time.monotonic() - t_mark
        harness.figure("stop after an unreturned goodbye", "%.2f s" % waited)
        self.assertEqual([e.get("event") for e in events], ["stop"])
        self.assertEqual(code, 1000)
        self.assertGreater(waited, 4.5)
        self.assertLess(waited, 8.0 * SLOW)
        self.server.wait_log(r"call %s: the goodbye mark did not come back"
                             % cid)
        self.assertRegex(self.end_line(cid), r"reason=agent-stop ")

    # ---- silent ----

    def test_silent_agent_says_nothing_and_logs_what_it_hears(self):
        c, cid = self.open_call("silent")
        pump = self.start_pump(c)
        pump.say(speech(0.8, seed=7))
        c.send_event({"event": "dtmf", "dtmf": "7"})
        c.send_event({"event": "dtmf", "dtmf": "#"})
        self.assert_nothing_arrives(c, 2.0)
        self.server.wait_log(r"call %s: dtmf 7$" % cid)
        self.server.wait_log(r"call %s: dtmf #$" % cid)
        self.server.wait_log(r"call %s: caller speech starts" % cid)
        self.server.wait_log(r"call %s: caller utterance of [0-9.]+ s" % cid)
        pump.stop()
        self.assert_stop_closes(c)
        self.assertRegex(self.end_line(cid), r" frames_out=0 ")


if __name__ == "__main__":
    harness.main()
