#!/usr/bin/env python3
"""`wvoice call` against a server that misbehaves (issue 4, "Bad input from
the server"): malformed JSON, binary frames, bad base64, unknown events,
oversized and non-UTF-8 messages, audio floods, events out of order, a
server that never answers `start` or the handshake, odd handshake answers,
closes and dropped connections.

Each test runs the real command against a scripted server (badserver.py)
and checks the exit status, what stderr says (and that it never holds the
key), the summary, the event log (every line JSON with t, dir and event)
and, where the call should go on, that audio sent after the bad
input is still played into --output.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time

import badserver as B
import harness
import wsclient
from harness import SLOW, ServeTest, speech
from test_call import PLAYOUT_KEYS, summary
from test_records import loud_blocks, read_jsonl, read_wav
from test_script import write_wav

KEY = "k-SECRET-bad-4711"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                   "runtime error:")
# The client's own timeouts (wvoice.h, call.h): not stretched by SLOW.
CONNECT_TIMEOUT = 10.0
START_TIMEOUT = 10.0


class Run:
    """One finished `wvoice call`: its exit status, output, wall time and
    peak resident memory."""

    def __init__(self, code, out, err, wall, maxrss_kb):
        self.code = code
        self.out = out
        self.err = err
        self.wall = wall
        self.maxrss_kb = maxrss_kb
        self.summary = summary(out)

    def __repr__(self):
        return "exit %s after %.2f s\nstdout:\n%s\nstderr:\n%s" % (
            self.code, self.wall, self.out, self.err[-3000:])


def run_measured(args, timeout=60.0):
    """Runs `wvoice call ARGS` to its end and reaps it with wait4(), whose
    rusage is this child's alone (RUSAGE_CHILDREN would mix in every call
    the concurrent tests run)."""
    env = dict(os.environ)
    env.pop("WVOICE_API_KEY", None)
    t0 = time.monotonic()
    p = subprocess.Popen([harness.binary(), "call"] + [str(a) for a in args],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    out, err = [], []
    readers = [threading.Thread(target=lambda: out.append(p.stdout.read()),
                                daemon=True),
               threading.Thread(target=lambda: err.append(p.stderr.read()),
                                daemon=True)]
    for r in readers:
        r.start()
    killed = []

    def kill():
        killed.append(True)
        p.kill()

    timer = threading.Timer(timeout * SLOW, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join(10)
    p.stdout.close()
    p.stderr.close()
    run = Run(p.returncode, (out or [b""])[0].decode("utf-8", "replace"),
              (err or [b""])[0].decode("utf-8", "replace"), wall,
              usage.ru_maxrss)
    if killed:
        raise AssertionError("wvoice call still running after %.0f s: %r" %
                             (timeout * SLOW, run))
    return run


def loud_seconds(samples):
    return len(loud_blocks(samples, -40.0)) * 0.02


class BadServerCall(ServeTest):
    """Each test: one scripted server, one `wvoice call` against it."""

    start_server = False
    concurrent = True
    temp_dir = "bad-server"

    @classmethod
    def prepare(cls):
        cls.input = os.path.join(cls.dir, "input.wav")
        write_wav(cls.input, speech(0.5, seed=5))

    def path(self, name):
        return os.path.join(self.dir, "%s-%s" % (self.id().split(".")[-1],
                                                 name))

    def bad(self, script=(), **kw):
        srv = B.BadServer(script, **kw)
        self.addCleanup(srv.stop)
        return srv

    def call(self, srv, *extra, url=None, key=KEY, events=True,
             timeout=60.0, caller=None):
        """Runs the call against srv; checks what holds for every call:
        it never crashed, never printed the key, wrote a valid event log.
        Then waits for the server's end and checks it."""
        self.output = self.path("out.wav")
        self.events = self.path("events.jsonl")
        args = ["--url", url or srv.url, "--agent", "a", "--api-key", key,
                "--output", self.output]
        args += ["--script", caller] if caller else ["--input", self.input]
        if events:
            args += ["--events", self.events]
        run = run_measured(args + list(extra), timeout)
        srv.finish(timeout=15)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, run.err, run)
        self.assertNotIn(key, run.out + run.err, "the key was printed")
        self.assertIn(run.code, (0, 1, 2, 3), run)
        if srv.request_line is not None:
            self.assertEqual(srv.api_key_seen(), key,
                             "the key did not reach the server")
        srv.check()
        if events and os.path.exists(self.events):
            with open(self.events, encoding="utf-8") as f:
                self.assertNotIn(key, f.read(), "the key is in the event log")
            self.event_log()
        return run

    def event_log(self):
        """The --events file: each line an object with t (seconds, in
        order), dir and event; dir "call" for the log's own lines (error,
        playout, truncated, end), and only for those."""
        lines = read_jsonl(self.events)
        last = 0.0
        for e in lines:
            self.assertIsInstance(e, dict)
            self.assertIsInstance(e.get("t"), (int, float), e)
            self.assertGreaterEqual(e["t"], last, "times out of order")
            last = e["t"]
            self.assertIn(e.get("dir"), ("in", "out", "call"), e)
            self.assertIsInstance(e.get("event"), str, e)
            self.assertEqual(e["dir"] == "call",
                             e["event"] in ("error", "playout", "truncated",
                                            "end"), e)
            if e["event"] == "error":
                self.assertIsInstance(e.get("error"), str, e)
        return lines

    def played(self):
        _, rate, _, samples, _ = read_wav(self.output)
        self.assertEqual(rate, 8000)
        return samples

    def assert_ended_normally(self, run):
        self.assertEqual(run.code, 0, run)
        self.assertEqual(run.summary.get("end reason"), "hangup", run)
        self.assertEqual(run.summary.get("close"), "1000", run)

    def assert_goes_on(self, run, srv, tone_s=1.0, more_s=0.1):
        """The call went on after the bad input: ended by our hang-up, and
        the tone sent after the bad input was played, all of it and no more
        than more_s else."""
        self.assert_ended_normally(run)
        self.assertEqual(srv.event_names()[-1], "stop")
        self.assertEqual(srv.client_close, (1000, ""))
        loud = loud_seconds(self.played())
        self.assertGreaterEqual(loud, tone_s - 0.1,
                                "the audio after the bad input was not "
                                "played: %.2f s loud" % loud)
        self.assertLessEqual(loud, tone_s + more_s,
                             "more was played than sent")

    def assert_errors(self, run, *patterns):
        """Each pattern matches its own `wvoice call: ...` line, in order."""
        lines = [ln for ln in run.err.splitlines()
                 if ln.startswith("wvoice call: ")]
        i = 0
        for pat in patterns:
            while i < len(lines) and not re.search(pat, lines[i]):
                i += 1
            self.assertLess(i, len(lines), "no stderr line matching %r "
                            "(in order) in:\n%s" % (pat, run.err))
            i += 1

    # ---- frames the call reports and ignores ----

    def test_malformed_json_is_reported_and_the_call_goes_on(self):
        srv = self.bad([
            B.wait_start(), B.start(),
            B.text("{oops"), B.text("[1,2]"), B.text('{"no_event":1}'),
            B.text(""), B.text('{"event":"audio","payload":"/w=="} x'),
            B.audio(B.tone(1.0), realtime=False), B.hold(10)])
        run = self.call(srv, "--hangup-after", "2.5")
        # Each kind once a second, then how many more (issue 13, item 5).
        self.assert_errors(run, r"bad frame from server: not JSON: ",
                           r"bad frame from server: not an object",
                           r"bad frame from server: no \"event\" field",
                           r"\.\.\. and 2 more like it in the last second "
                           r"\(bad frame from server: not JSON\)")
        self.assertEqual(len([e for e in self.event_log()
                              if e["event"] == "error"]), 5)
        self.assert_goes_on(run, srv)
        self.assertEqual(run.summary["frames received"], "50", run)
        self.event_log()

    def test_binary_frames_are_reported_and_ignored(self):
        srv = self.bad([
            B.wait_start(), B.start(),
            B.binary(b"\x00\x01\x02"),
            # A binary message in pieces, holding what would be valid JSON.
            B.binary(B.audio_text(B.tone(0.5)).encode(), pieces=3),
            B.audio(B.tone(1.0), realtime=False), B.hold(10)])
        run = self.call(srv, "--hangup-after", "2.5")
        self.assert_errors(run, r"binary frame from server ignored",
                           r"binary frame from server ignored")
        self.assertEqual(run.err.count("binary frame"), 2, run)
        self.assert_goes_on(run, srv)

    def test_bad_base64_audio_is_reported_and_the_rest_played(self):
        srv = self.bad([
            B.wait_start(), B.start(),
            B.event("audio", payload="!!!!"),
            B.event("audio", payload="/w"),       # unpadded
            B.event("audio", payload="//// ////"),  # a space inside
            B.event("audio", payload=7),
            B.audio(B.tone(1.0), realtime=False), B.hold(10)])
        run = self.call(srv, "--hangup-after", "2.5")
        self.assert_errors(run, r"bad base64",
                           r'field "payload" must be a string',
                           r"\.\.\. and 2 more like it in the last second "
                           r"\(bad frame from server: field \"\"\)")
        errors = [e["error"] for e in self.event_log()
                  if e["event"] == "error"]
        self.assertEqual(len(errors), 4, errors)
        self.assertRegex(errors[-1], r'field "payload" must be a string')
        self.assert_goes_on(run, srv)
        self.assertEqual(run.summary["frames received"], "50", run)

    def test_unknown_events_are_logged_whole_and_the_call_goes_on(self):
        note = {"event": "x-note", "text": "h\u00e9llo \u2713",
                "n": [1, {"a": None}], "flag": True}
        srv = self.bad([
            B.wait_start(), B.start(),
            B.text(note),
            # Its own t and dir may not stand in for the log's.
            B.event("x-spoof", t="then", dir="sideways", k=1),
            B.audio(B.tone(1.0), realtime=False), B.hold(10)])
        run = self.call(srv, "--hangup-after", "2.5")
        self.assert_goes_on(run, srv)
        self.assertNotIn("x-note", run.err, "an unknown event is no error")
        lines = self.event_log()
        got = [e for e in lines if e.get("event") == "x-note"]
        self.assertEqual(len(got), 1, lines[:6])
        self.assertEqual(got[0]["dir"], "in")
        self.assertEqual({k: v for k, v in got[0].items() if k != "t"},
                         dict(note, dir="in"))
        spoof = [e for e in lines if e.get("event") == "x-spoof"]
        self.assertEqual(len(spoof), 1)
        self.assertIsInstance(spoof[0]["t"], float)
        self.assertEqual((spoof[0]["dir"], spoof[0]["k"]), ("in", 1))

    def test_protocol_misuse_is_reported_and_the_call_goes_on(self):
        srv = self.bad([
            B.wait_start(), B.start("c-first"),
            B.start("c-second"),
            B.event("dtmf", dtmf="5"),
            B.event("mark", mark=[]),
            B.event("audio"),
            B.event("mark", mark="m" * 2000),  # over WV_ID_MAX
            B.audio(B.tone(1.0), realtime=False), B.hold(10)])
        run = self.call(srv, "--hangup-after", "2.5")
        self.assert_errors(run, r"second start", r"dtmf from server",
                           r"mark", r"payload", r"bad frame")
        self.assert_goes_on(run, srv)
        self.assertEqual(run.summary["communication id"], "c-first")

    def test_message_of_64_kib_exactly_is_taken_whole(self):
        head = '{"event":"x-big","pad":"'
        big = head + "a" * (65536 - len(head) - 2) + '"}'
        self.assertEqual(len(big), 65536)
        srv = self.bad([
            B.wait_start(), B.start(), B.text(big, pieces=4),
            B.audio(B.tone(1.0), realtime=False), B.hold(10)])
        run = self.call(srv, "--hangup-after", "2.5")
        self.assert_goes_on(run, srv)
        got = [e for e in self.event_log() if e.get("event") == "x-big"]
        self.assertEqual(len(got), 1)
        self.assertEqual(len(got[0]["pad"]), 65536 - len(head) - 2)

    # ---- input that ends the call ----

    def check_oversized(self, pieces):
        head = '{"event":"x-big","pad":"'
        big = head + "a" * (70000 - len(head) - 2) + '"}'
        srv = self.bad([B.wait_start(), B.start(),
                           B.text(big, pieces=pieces), B.hold(10)])
        run = self.call(srv, "--hangup-after", "5")
        self.assertEqual(run.code, 1, run)
        self.assert_errors(run, r"message from server over 65536 bytes.*"
                           r"1009")
        self.assertEqual(run.summary["end reason"], "error", run)
        self.assertEqual(run.summary["close"], "1009 message too big", run)
        self.assertEqual(srv.client_close[0], 1009)
        self.assertLess(run.wall, 5.0, "closed at once, not at the hang-up")
        self.assertNotIn("x-big", [e.get("event") for e in self.event_log()])

    def test_oversized_message_closes_1009(self):
        self.check_oversized(pieces=1)

    def test_oversized_message_in_fragments_closes_1009(self):
        self.check_oversized(pieces=5)

    def test_text_that_is_not_utf8_closes_1007(self):
        srv = self.bad([
            B.wait_start(), B.start(),
            # Valid UTF-8 split inside a character is fine...
            B.text('{"event":"x-ok","s":"\u00e9\u00e9\u00e9"}', pieces=4),
            B.sleep(0.3),
            # ...a byte that is never UTF-8 is not.
            B.text(b'{"event":"x-bad","s":"\xff\xfe"}'), B.hold(10)])
        run = self.call(srv, "--hangup-after", "5")
        self.assertEqual(run.code, 1, run)
        self.assert_errors(run, r"not UTF-8.*1007")
        self.assertEqual(run.summary["end reason"], "error", run)
        self.assertEqual(run.summary["close"], "1007 invalid UTF-8", run)
        self.assertEqual(srv.client_close[0], 1007)
        names = [e.get("event") for e in self.event_log()]
        self.assertIn("x-ok", names)
        self.assertNotIn("x-bad", names)

    def test_server_close_with_code_and_reason_is_reported(self):
        srv = self.bad([B.wait_start(), B.start(), B.sleep(0.3),
                           B.close(4001, "agent gone")])
        run = self.call(srv, "--hangup-after", "5")
        self.assertEqual(run.code, 1, run)
        self.assertEqual(run.summary["end reason"], "closed", run)
        self.assertEqual(run.summary["close"], "4001 agent gone", run)
        self.assertEqual(srv.client_close[0], 4001, "close not answered")
        self.assertLess(run.wall, 5.0)

    def test_server_close_is_explained_on_stderr(self):
        """Exit 1 after a close from the server: the message says why,
        even with --quiet."""
        srv = self.bad([B.wait_start(), B.start(), B.sleep(0.3),
                           B.close(4001, "agent gone")])
        run = self.call(srv, "--hangup-after", "5", "--quiet")
        self.assertEqual(run.code, 1, run)
        self.assertRegex(run.err, r"wvoice call: .*4001.*agent gone")

    def test_server_close_1000_without_stop_ends_0(self):
        """A normal closure is the server hanging up, stop or not."""
        srv = self.bad([B.wait_start(), B.start(), B.sleep(0.3),
                           B.close(1000, "bye")])
        run = self.call(srv, "--hangup-after", "5")
        self.assertEqual(run.code, 0, run)
        self.assertEqual(run.summary["end reason"], "closed", run)
        self.assertEqual(run.summary["close"], "1000 bye", run)
        self.assertEqual(run.err, "")

    def test_server_stop_then_close_ends_0(self):
        srv = self.bad([B.wait_start(), B.start(), B.sleep(0.3),
                           B.stop(), B.close(1000, "")])
        run = self.call(srv, "--hangup-after", "5")
        self.assertEqual(run.code, 0, run)
        self.assertEqual(run.summary["end reason"], "remote-stop", run)
        self.assertEqual(run.err, "")
        self.assertNotIn("stop", srv.event_names(),
                         "the client answered the server's stop")

    # ---- the agent's last words (issue 10, item 1) ----

    def last_words(self, *after_stop, seconds=1.0, prebuffer=300):
        """The agent says `seconds` of tone at once, marks it "bye" and
        hangs up; after_stop is what the server does next."""
        srv = self.bad([B.wait_start(), B.start(),
                        B.audio(B.tone(seconds), realtime=False),
                        B.mark("bye"), B.stop()] + list(after_stop))
        run = self.call(srv, "--hangup-after", "30",
                        "--prebuffer-ms", prebuffer)
        self.assertEqual(run.code, 0, run)
        self.assertEqual(run.summary["end reason"], "remote-stop", run)
        self.assertNotIn("stop", srv.event_names(),
                         "the client answered the server's stop")
        return srv, run, loud_seconds(self.played())

    def test_the_agents_last_words_play_before_the_call_ends(self):
        # The server waits for the mark after the goodbye, as ours does.
        srv, run, loud = self.last_words(B.wait_event("mark", timeout=10),
                                         B.hold(10), prebuffer=1000)
        self.assertGreaterEqual(loud, 0.9, "the goodbye was cut: %.2f s"
                                % loud)
        self.assertLessEqual(loud, 1.1)
        self.assertEqual(srv.events("out", "mark")[-1].get("mark"), "bye")
        self.assertEqual(srv.event_names()[-1], "mark",
                         "nothing but the mark after the stop")
        self.assertEqual(srv.client_close, (1000, ""))
        self.assertEqual(run.err, "")

    def test_the_last_words_play_after_the_server_closes(self):
        srv, run, loud = self.last_words(B.close(1000, "stop"))
        self.assertGreaterEqual(loud, 0.9, "the goodbye was cut: %.2f s"
                                % loud)
        self.assertEqual(run.summary["close"], "1000 stop", run)
        self.assertEqual(run.err, "")

    def test_the_last_words_play_after_the_connection_drops(self):
        srv, run, loud = self.last_words(B.drop())
        self.assertGreaterEqual(loud, 0.9, "the goodbye was cut: %.2f s"
                                % loud)
        self.assertEqual(run.err, "", "a socket lost after the agent's "
                         "stop is no error")

    def test_the_last_words_are_bounded_to_2_s(self):
        srv, run, loud = self.last_words(B.hold(10), seconds=5.0)
        # What played before the stop came (the audio arrives at once, but
        # a loaded machine may clock some of it out before reading the
        # stop), then 2 s of the media clock, give or take a tick each.
        log = self.event_log()
        audio_in = [e["t"] for e in log
                    if e.get("event") == "audio" and e["dir"] == "in"]
        stop = next(e["t"] for e in log
                    if e.get("event") == "stop" and e["dir"] == "in")
        before = stop - audio_in[0]
        self.assertLessEqual(loud, before + 2.0 + 0.06,
                             "played past the 2 s bound (%.2f s before the "
                             "stop)" % before)
        self.assertGreaterEqual(loud, 1.0)
        self.assertLessEqual(loud, 4.5, "the bound did not hold")
        self.assertEqual(srv.client_close, (1000, ""))

    def test_dropped_connection_is_reported(self):
        srv = self.bad([B.wait_start(), B.start(), B.sleep(0.3),
                           B.drop()])
        run = self.call(srv, "--hangup-after", "5")
        self.assertEqual(run.code, 1, run)
        self.assert_errors(run, r"connection to 127\.0\.0\.1:%d lost" %
                           srv.port)
        self.assertEqual(run.summary["end reason"], "error", run)
        self.assertEqual(run.summary["close"], "1006 connection lost", run)

    def test_broken_framing_ends_the_call_with_an_error(self):
        # libwebsockets drops the connection on these (no close frame):
        # the call must end at once, with an error, and not crash.
        cases = [("reserved bits", B.frame(B.OP_TEXT, b'{"event":"x"}',
                                           rsv=4)),
                 ("reserved opcode", B.frame(0x3, b"xx")),
                 ("stray continuation", B.frame(B.OP_CONT, b"xx")),
                 ("control frame in pieces", B.frame(B.OP_PING, b"p",
                                                     fin=False))]
        for name, bad in cases:
            with self.subTest(frame=name):
                srv = self.bad([B.wait_start(), B.start(), bad,
                                   B.hold(10)])
                run = self.call(srv, "--hangup-after", "5")
                self.assertEqual(run.code, 1, run)
                self.assertEqual(run.summary["end reason"], "error", run)
                self.assert_errors(run, r"127\.0\.0\.1:%d|WebSocket protocol"
                                   % srv.port)
                self.assertLess(run.wall, 5.0)

    # ---- events out of order ----

    def test_mark_before_start_is_reported_answered_and_the_call_goes_on(
            self):
        srv = self.bad([
            B.wait_start(), B.mark("early"), B.sleep(0.5), B.start(),
            B.audio(B.tone(1.0), realtime=False), B.mark("later"),
            B.hold(10)])
        run = self.call(srv, "--hangup-after", "2.5")
        self.assert_errors(run, r'mark "early" before start')
        self.assertNotIn("later", run.err)
        self.assert_goes_on(run, srv)
        marks = [e["mark"] for e in srv.events("out", "mark")]
        self.assertEqual(marks, ["early", "later"])
        self.assertEqual(run.summary["marks"], "2", run)

    def test_clear_before_start_is_reported_and_the_call_goes_on(self):
        srv = self.bad([
            B.wait_start(),
            B.audio(B.tone(2.0), realtime=False),  # before start...
            B.event("clear"),                        # ...cleared
            B.sleep(0.5), B.start(),
            B.audio(B.tone(1.0), realtime=False), B.mark("after"),
            B.hold(10)])
        run = self.call(srv, "--hangup-after", "2.5")
        self.assert_errors(run, r"clear before start")
        # The 1 s after start is played, not the cleared 2 s. A loaded
        # loop may tick while it reads the 2 s burst and play the start of
        # it before it reads the clear, but never the whole.
        self.assert_goes_on(run, srv, more_s=0.5)
        self.assertEqual([e["mark"] for e in srv.events("out", "mark")],
                         ["after"])

    def test_server_that_never_answers_start(self):
        srv = self.bad([B.wait_start(), B.hold(30)], linger=30)
        run = self.call(srv)  # no --hangup-after: the input ends at 0.5 s
        self.assertEqual(run.code, 1, run)
        self.assertEqual(run.summary["end reason"], "start-timeout", run)
        self.assert_errors(run, r"did not answer start within 10000 ms")
        self.assertEqual(run.summary["communication id"], "-")
        # Ended by its own timeout, cleanly: stop, then close 1000.
        self.assertGreaterEqual(run.wall, START_TIMEOUT - 0.5)
        self.assertLess(run.wall, START_TIMEOUT + 10 * SLOW)
        self.assertEqual(srv.event_names()[-1], "stop")
        self.assertEqual(srv.client_close, (1000, ""))
        lines = self.event_log()
        self.assertEqual((lines[-2]["dir"], lines[-2]["event"]),
                         ("out", "stop"))
        self.assertEqual((lines[-1]["event"], lines[-1]["reason"]),
                         ("end", "start-timeout"))

    # ---- floods ----

    def test_audio_flood_keeps_memory_bounded(self):
        """100x real time for 5 s (500 s of audio, 8 MB as PCM) against the
        60 s playout cap, beside a call that gets 5 s at real time: the
        peak memory is about the same, the output is written at real time,
        and the call still answers after the flood."""
        speed, seconds = 100, 5.0
        base = self.bad([B.wait_start(), B.start(),
                            B.audio(B.tone(seconds)), B.hold(10)])
        flood = self.bad([B.wait_start(), B.start(),
                             B.flood(speed, seconds, frame_ms=100),
                             B.event("clear"), B.mark("after-flood"),
                             B.hold(10)])
        runs = {}

        def real_time_call():
            try:
                runs["base"] = run_measured(
                    ["--url", base.url, "--agent", "a", "--api-key", KEY,
                     "--input", self.input, "--output", self.path("base.wav"),
                     "--hangup-after", seconds + 1.5])
            except BaseException as e:  # noqa: BLE001 (raised below)
                runs["base"] = e

        other = threading.Thread(target=real_time_call, daemon=True)
        other.start()
        try:
            run = self.call(flood, "--hangup-after", seconds + 1.5)
        finally:
            other.join(60 * SLOW)
            base.finish(timeout=10)
        self.assertIn("base", runs, "the real-time call did not end")
        if isinstance(runs["base"], BaseException):
            raise runs["base"]
        self.assert_ended_normally(run)
        self.assert_ended_normally(runs["base"])
        harness.figure("flood sent", "%.0f s of audio in %.0f s" % (
            flood.flood_seconds, seconds))
        harness.figure("peak RSS, flood vs real time", "%d vs %d KB" % (
            run.maxrss_kb, runs["base"].maxrss_kb))
        # The flood went past the cap, and the client took it all in.
        self.assertGreater(flood.flood_seconds, 120.0)
        self.assertGreaterEqual(int(run.summary["frames received"]),
                                int(flood.flood_seconds * 10))
        # A sanitizer's shadow memory is not the program's: its peak
        # RSS is no measure of the buffers (once 4,612 KB under TSan).
        # The program's own bound holds in every build: one report of
        # the overflow, the drops counted (the summary's frames), and
        # the output no longer than real time (below).
        if not harness.SANITIZED:
            self.assertLess(run.maxrss_kb - runs["base"].maxrss_kb, 4096,
                            "memory grew with the flood")
        # Played at real time, never faster: no longer than the call.
        samples = self.played()
        self.assertLessEqual(len(samples) / 8000.0, run.wall + 0.1)
        self.assertGreater(loud_seconds(samples), seconds - 1.0)
        # After the flood the call goes on: the clear emptied the buffer
        # and the mark after it was answered before the hang-up.
        self.assertIn("after-flood",
                      [e["mark"] for e in flood.events("out", "mark")])
        self.assertEqual(run.err.count("playout buffer full"), 1, run)

    def test_audio_flood_is_reported_without_flooding_stderr(self):
        """Audio past the playout cap is reported once per episode, not
        once per frame (a 100x flood for 4 s once printed ~3400 lines),
        nor each time playing makes room for one more frame."""
        srv = self.bad([B.wait_start(), B.start(),
                           B.flood(20, 4.0, frame_ms=100), B.hold(10)])
        run = self.call(srv, "--hangup-after", "5")
        self.assert_ended_normally(run)
        self.assert_errors(run, r"playout buffer full")
        self.assertEqual(run.err.count("playout buffer full"), 1, run)
        self.assertLess(run.err.count("\n"), 5, run)

    # ---- what a hostile server says, on our terminal (issue 13) ----

    def assert_no_raw_control(self, text):
        """Nothing of the server's reaches the terminal raw: no escape or
        other control byte but the line ends."""
        bad = sorted({c for c in text if (ord(c) < 0x20 and c != "\n") or
                      0x7f <= ord(c) < 0xa0})
        self.assertEqual(bad, [], "control characters on the terminal")

    def test_a_mark_id_cannot_reach_the_terminal_raw(self):
        forged = "x\nwvoice call: FORGED\x1b[2J\x9b31m"
        srv = self.bad([
            B.wait_start(), B.mark(forged), B.start(forged),
            B.event(forged), B.mark(forged), B.sleep(0.5),
            B.close(4001, "gone\x9b31m")])
        run = self.call(srv, "--hangup-after", "5", "--verbose")
        self.assert_no_raw_control(run.err)
        self.assert_no_raw_control(run.out)
        forged_lines = [ln for ln in run.err.splitlines() if "FORGED" in ln]
        self.assertGreaterEqual(len(forged_lines), 4, run)
        for ln in forged_lines:
            self.assertTrue(ln.startswith(("wvoice call: mark ", "<- ",
                                           "-> ")), ln)
            self.assertIn(r"x\x0Awvoice call: FORGED\x1B[2J\xC2\x9B31m",
                          ln)
        self.assert_errors(run, r'mark "x\\x0Awvoice call: FORGED.*" '
                           r"before start",
                           r"server closed the call: 4001 gone\\xC2\\x9B31m")
        self.assertEqual(run.summary["close"], r"4001 gone\xC2\x9B31m", run)
        self.assertEqual(run.summary["communication id"],
                         r"x\x0Awvoice call: FORGED\x1B[2J\xC2\x9B31m")
        # The event log keeps them whole: JSON escapes them itself.
        marks = [e["mark"] for e in self.event_log()
                 if e["event"] == "mark" and e["dir"] == "in"]
        self.assertEqual(marks, [forged, forged])

    def test_a_flood_of_bad_frames_is_summarised_on_stderr(self):
        """3000 bad frames at once once printed 3000 lines: now the first,
        then how many more there were, and every one in the event log."""
        bad = 3000
        frames = b"".join(wsclient.Connection.frame(
            wsclient.OP_TEXT, b"{oops%d" % i, mask=False)
            for i in range(bad))
        srv = self.bad([B.wait_start(), B.start(), B.raw(frames),
                        B.audio(B.tone(1.0), realtime=False), B.hold(10)])
        # Hang up once the tone after the bad frames is heard, however long
        # a slow build takes over them (a sanitizer's can take seconds).
        caller = self.path("hear-the-tone.json")
        with open(caller, "w") as f:
            json.dump([{"wait_agent_speech": True, "timeout_ms": 60000},
                       {"wait_agent_quiet": 300, "timeout_ms": 60000},
                       {"hangup": True}], f)
        run = self.call(srv, "--hangup-after", "120", caller=caller)
        self.assert_goes_on(run, srv)
        lines = run.err.splitlines()
        self.assertLess(len(lines), 10, run)
        said = [ln for ln in lines
                if ln.startswith("wvoice call: bad frame from server: "
                                 "not JSON: ")]
        more = [int(m.group(1)) for m in (
            re.match(r"wvoice call: \.\.\. and (\d+) more like it in the "
                     r"last second \(bad frame from server: not JSON\)$",
                     ln) for ln in lines) if m]
        self.assertGreaterEqual(len(said), 1, run)
        self.assertGreaterEqual(len(more), 1, run)
        self.assertEqual(len(said) + sum(more), bad, run)
        errors = [e for e in self.event_log() if e["event"] == "error"]
        self.assertEqual(len(errors), bad)

    def test_the_event_log_has_a_bound(self):
        """2000 marks of 1 KiB ids once made 2 MB of log, and more without
        end: past --events-max, one "truncated" line, then only the end."""
        bound = 64 * 1024
        srv = self.bad([B.wait_start(), B.start()] +
                       [B.mark("%04d" % i + "m" * 1020)
                        for i in range(2000)] + [B.hold(10)])
        run = self.call(srv, "--hangup-after", "2", "--events-max", "64k")
        self.assert_ended_normally(run)
        self.assertLessEqual(os.path.getsize(self.events), bound)
        lines = self.event_log()
        self.assertEqual([e["event"] for e in lines[-2:]],
                         ["truncated", "end"])
        self.assertEqual(lines[-2]["max_bytes"], bound)
        self.assertEqual([e["event"] for e in lines].count("truncated"), 1)
        self.assertGreater(len(lines), 40)

    def test_events_max_takes_a_size(self):
        for bad in ("1k", "8191", "x", "12T", "-1", ""):
            with self.subTest(bad):
                run = run_measured(["--events-max", bad])
                self.assertEqual(run.code, 2, run)
                self.assertIn("--events-max", run.err)

    # ---- handshakes ----

    def test_answer_without_the_apikey_subprotocol_is_refused(self):
        for answer in (None, KEY):
            with self.subTest(answer="none" if answer is None else "the key"):
                srv = self.bad([B.hold(10)], subprotocol=answer)
                run = self.call(srv, "--hangup-after", "2")
                self.assertEqual(run.code, 1, run)
                self.assert_errors(run, r'127\.0\.0\.1:%d did not select '
                                   r'the subprotocol "apikey"' % srv.port)
                self.assertEqual(srv.event_names(), [], "the call went on")
                self.assertIsNotNone(srv.eof_at, "the socket stayed open")
                self.assertLess(run.wall, 5.0)

    def test_answer_naming_a_subprotocol_not_offered_is_refused(self):
        # With header auth nothing is offered: even "apikey" is refused.
        for answer, auth in (("chat", "subprotocol"), ("apikey", "header")):
            with self.subTest(answer=answer, auth=auth):
                srv = self.bad([B.hold(10)], subprotocol=answer)
                run = self.call(srv, "--auth", auth, "--hangup-after", "2")
                self.assertEqual(run.code, 1, run)
                self.assert_errors(run, r"server at 127\.0\.0\.1:%d selected "
                                   r"a subprotocol that was not offered" %
                                   srv.port)
                if answer == "chat":
                    self.assertNotIn(answer, run.err)
                self.assertEqual(srv.event_names(), [])
                self.assertLess(run.wall, 5.0)

    def test_wrong_accept_hash_is_refused(self):
        srv = self.bad([B.hold(10)], accept="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        run = self.call(srv, "--hangup-after", "2")
        self.assertEqual(run.code, 1, run)
        self.assert_errors(run, r"bad handshake answer from 127\.0\.0\.1:%d"
                           r".*Accept" % srv.port)
        self.assertEqual(srv.event_names(), [])

    def test_refusals_exit_3_with_the_status(self):
        cases = [(401, r"401 \(API key refused\)"),
                 (403, r"403 \(forbidden\)"),
                 (404, r"404 \(unknown agent or path\)"),
                 (503, r"503 \(server at capacity\)"),
                 (500, r"500 \(server error\)"),
                 (302, r"302 \(redirect not followed\)")]
        for status, words in cases:
            with self.subTest(status=status):
                srv = self.bad(status=status, body=b"go away " + KEY
                                  .encode(), headers=[("Location",
                                                       "ws://127.0.0.1:1/")])
                run = self.call(srv)
                self.assertEqual(run.code, 3, run)
                self.assert_errors(run, r"handshake refused: " + words)
                self.assertEqual(run.summary["end reason"], "error", run)

    def test_server_that_never_answers_the_handshake_10_s_default(self):
        srv = self.bad(handshake=False, timeout=40)
        run = self.call(srv)
        self.assertEqual(run.code, 1, run)
        self.assert_errors(run, r"cannot connect to 127\.0\.0\.1:%d: no "
                           r"WebSocket handshake within 10000 ms" % srv.port)
        self.assertEqual(run.summary["end reason"], "error", run)
        self.assertGreaterEqual(run.wall, CONNECT_TIMEOUT - 0.5)
        self.assertLess(run.wall, CONNECT_TIMEOUT + 10 * SLOW)
        self.assertIsNotNone(srv.eof_at, "the client left the socket open")

    def test_connect_timeout_flag_bounds_a_silent_handshake(self):
        srv = self.bad(handshake=False, timeout=40)
        run = self.call(srv, "--connect-timeout", "1.5")
        self.assertEqual(run.code, 1, run)
        self.assert_errors(run, r"no WebSocket handshake within 1500 ms")
        self.assertGreaterEqual(run.wall, 1.4)
        self.assertLess(run.wall, CONNECT_TIMEOUT - 2)
        self.assertIsNotNone(srv.eof_at, "the client left the socket open")

    # ---- the event log ----

    def test_errors_are_written_to_the_event_log(self):
        """A bad frame is an error line in the event log
        ({"t":..,"dir":"call","event":"error","error":"bad frame from server:
        field \\"payload\\": bad base64..."}), as well as on stderr."""
        srv = self.bad([B.wait_start(), B.start(),
                           B.event("audio", payload="!!!!"), B.hold(10)])
        run = self.call(srv, "--hangup-after", "1")
        self.assert_ended_normally(run)
        errors = [e for e in self.event_log() if e["event"] == "error"]
        self.assertEqual(len(errors), 1, errors)
        self.assertEqual(errors[0]["dir"], "call")
        self.assertRegex(errors[0]["error"], r"base64")


    # ---- how the call ended, in the event log (issue 10, item 6) ----

    def end_line(self):
        """The event log's last line, which says how the call ended."""
        end = self.event_log()[-1]
        self.assertEqual((end.get("dir"), end.get("event")), ("call", "end"),
                         end)
        # What it said before 0.5, then the playout's figures.
        self.assertEqual(set(end), {"t", "dir", "event", "reason",
                                    "close_code", "close_reason",
                                    "closed_by"} | set(PLAYOUT_KEYS), end)
        return end

    def test_the_event_log_ends_with_the_servers_close(self):
        srv = self.bad([B.wait_start(), B.start(), B.sleep(0.3),
                        B.close(1011, "agent crashed")])
        run = self.call(srv, "--hangup-after", "5")
        self.assertEqual(run.code, 1, run)
        end = self.end_line()
        self.assertEqual((end["reason"], end["close_code"],
                          end["close_reason"], end["closed_by"]),
                         ("closed", 1011, "agent crashed", "server"))

    def test_the_event_log_ends_with_a_lost_connection(self):
        srv = self.bad([B.wait_start(), B.start(), B.sleep(0.3), B.drop()])
        self.call(srv, "--hangup-after", "5")
        end = self.end_line()
        self.assertEqual((end["reason"], end["close_code"],
                          end["closed_by"]),
                         ("error", 1006, "none"))

    def test_the_event_log_ends_with_our_close_for_a_message_too_big(self):
        srv = self.bad([B.wait_start(), B.start(),
                        B.text({"event": "x", "pad": "a" * 70000}),
                        B.hold(10)])
        self.call(srv, "--hangup-after", "5")
        end = self.end_line()
        self.assertEqual((end["close_code"], end["closed_by"]),
                         (1009, "client"))

    def test_the_event_log_ends_even_when_no_call_was_made(self):
        srv = self.bad(status=404)
        run = self.call(srv)
        self.assertEqual(run.code, 3, run)
        end = self.end_line()
        self.assertEqual((end["t"], end["reason"], end["close_code"],
                          end["close_reason"], end["closed_by"]),
                         (0, "error", None, None, "none"))


if __name__ == "__main__":
    sys.exit(harness.main())
