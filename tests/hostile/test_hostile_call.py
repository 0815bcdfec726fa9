#!/usr/bin/env python3
"""`wvoice call` against a hostile server (issue 13, "Hardening"): the
floods of the server's suite turned round. Each test runs the real command
against a scripted server (tests/serve/badserver.py) that floods it, and
checks that the call survives in bounded memory (plain builds: peak RSS
near a call that was not flooded), ends when it should with the right
close code, says what happened on stderr and in the event log without
flooding them, and plays the audio sent after a flood it survives.

tests/serve/test_call_bad_server.py checks each kind of bad input once
(broken framing, reserved opcodes, 70 KB messages, a 5 s audio flood, a
silent handshake); this suite is the floods, at a small scale here and
at full scale in soak.py (make soak).

Run: python3 test_hostile_call.py [path/to/wvoice] [-k NAME]
"""

import json
import math
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attacks  # noqa: E402,F401 (puts tests/serve on the path)
import badserver as B  # noqa: E402
import harness  # noqa: E402
from harness import SANITIZED, speech  # noqa: E402
from test_call_bad_server import KEY, loud_seconds, run_measured  # noqa
from test_records import read_jsonl, read_wav  # noqa: E402
from test_script import write_wav  # noqa: E402
import wsclient  # noqa: E402
from wsclient import OP_BINARY, OP_CONT, OP_PING, OP_TEXT  # noqa: E402

# Each flood's length: soak.py runs this file with WV_HOSTILE_FLOOD_S=10.
FLOOD_S = float(os.environ.get("WV_HOSTILE_FLOOD_S", "2"))
# Peak RSS over a call that was not flooded, in KiB (plain builds only).
RSS_GROWTH_KB = 8 * 1024
# What a flood may add to stderr: the first line and a summary a second
# for each kind of problem (two kinds at most here), not a line per frame
# (thousands of frames arrive).
STDERR_LINES_A_SECOND = 4
# The event log's bound in the flood tests (--events-max).
EVENTS_MAX = 1 << 20


def repeat(frame, seconds, per_send=256):
    """An action: `frame` (bytes) over and over for `seconds`, or until
    the client has gone. s.flood_count says how many went out."""
    def run(s):
        chunk = frame * per_send
        end = time.monotonic() + seconds
        s.flood_count = 0
        while time.monotonic() < end and not s.stopping.is_set():
            try:
                s.send_raw(chunk)
            except (OSError, B.ScriptError):
                return
            s.flood_count += per_send
    return B.Action("repeat for %g s" % seconds, run)


def frame(op, payload, fin=True):
    return wsclient.Connection.frame(op, payload, fin=fin, mask=False)


def big_frame(size, seconds):
    """One text frame that says it holds `size` bytes, its body sent until
    the client stops reading or `seconds` pass."""
    def run(s):
        head = frame(OP_TEXT, b"")[:1] + bytes([127]) + \
            size.to_bytes(8, "big")
        s.send_raw(head)
        piece = b"a" * 65536
        end = time.monotonic() + seconds
        for _ in range(size // len(piece)):
            if time.monotonic() >= end or s.stopping.is_set():
                return
            try:
                s.send_raw(piece)
            except (OSError, B.ScriptError):
                return
    return B.Action("frame of %d bytes" % size, run)


class HostileCall(unittest.TestCase):
    """Each test: one scripted server, one `wvoice call` against it."""

    concurrent = True

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="wv-hostile-call-")
        cls.input = os.path.join(cls.dir, "input.wav")
        write_wav(cls.input, speech(0.5, seed=5))
        # The yardstick: a call that gets 2 s of tone at real time.
        srv = B.BadServer([B.wait_start(), B.start(),
                           B.audio(B.tone(2.0)), B.hold(10)])
        cls.baseline = cls.run_call(srv, "baseline", FLOOD_S + 1.5)[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def run_call(cls, srv, name, hangup_after, *extra, caller=None):
        out = os.path.join(cls.dir, name + ".wav")
        events = os.path.join(cls.dir, name + ".jsonl")
        source = ["--script", caller] if caller else ["--input", cls.input]
        try:
            run = run_measured(["--url", srv.url, "--agent", "a",
                                "--api-key", KEY] + source + [
                                "--output", out, "--events", events,
                                "--hangup-after", hangup_after] +
                               list(extra))
        finally:
            srv.finish(timeout=15)
        return run, out, events

    def call(self, script, hangup_after=FLOOD_S + 1.5, *extra, caller=None,
             **kw):
        """Runs the call against the script; checks what holds for every
        flood: no crash, no key shown, bounded memory, and bounded
        stderr and event log."""
        srv = B.BadServer(script, **kw)
        self.addCleanup(srv.stop)
        name = self.id().split(".")[-1]
        run, self.output, self.events = self.run_call(
            srv, name, hangup_after, *extra, caller=caller)
        harness.figure(name, "exit %s, close %s, peak RSS %d KiB (%d not "
                       "flooded), %d stderr lines" % (
                           run.code, run.summary.get("close"),
                           run.maxrss_kb, self.baseline.maxrss_kb,
                           run.err.count("\n")))
        for mark in ("AddressSanitizer", "LeakSanitizer",
                     "ThreadSanitizer", "runtime error:"):
            self.assertNotIn(mark, run.err, run)
        self.assertNotIn(KEY, run.out + run.err)
        if not SANITIZED:
            self.assertLess(run.maxrss_kb - self.baseline.maxrss_kb,
                            RSS_GROWTH_KB, "memory grew with the flood")
        self.srv = srv
        return run

    def assert_bounded_output(self, run):
        """stderr summarises a flood, and the event log keeps within its
        bound (weakness (5))."""
        bound = 8 + STDERR_LINES_A_SECOND * math.ceil(run.wall)
        self.assertLess(run.err.count("\n"), bound, run)
        self.assertLessEqual(os.path.getsize(self.events), EVENTS_MAX)
        lines = read_jsonl(self.events)
        self.assertEqual(lines[-1]["event"], "end")

    def assert_closed_with(self, run, code):
        self.assertEqual(run.code, 1, run)
        self.assertEqual(run.summary["close"].split()[0], str(code), run)
        self.assertEqual(self.srv.client_close[0], code)

    def assert_goes_on(self, run):
        """Ended by the hang-up, and the tone after the flood played."""
        self.assertEqual(run.code, 0, run)
        self.assertEqual(run.summary.get("end reason"), "hangup", run)
        self.assertEqual(self.srv.client_close, (1000, ""))
        _, _, _, samples, _ = read_wav(self.output)
        self.assertGreaterEqual(loud_seconds(samples), 0.9,
                                "the tone after the flood was not played")

    after = [B.audio(B.tone(1.0), realtime=False), B.hold(10)]

    # ---- floods the call must end ----

    def test_a_16_MiB_frame_closes_1009(self):
        run = self.call([B.wait_start(), B.start(),
                         big_frame(16 << 20, FLOOD_S), B.hold(10)])
        self.assert_closed_with(run, 1009)

    def test_a_200_KiB_frame_closes_1009(self):
        run = self.call([B.wait_start(), B.start(),
                         big_frame(200 << 10, FLOOD_S), B.hold(10)])
        self.assert_closed_with(run, 1009)

    def test_text_in_one_byte_fragments_closes_1009(self):
        run = self.call([B.wait_start(), B.start(),
                         B.frame(OP_TEXT, b'{"event":"x","p":"', fin=False),
                         repeat(frame(OP_CONT, b"a", fin=False), FLOOD_S),
                         B.hold(10)])
        self.assert_closed_with(run, 1009)

    def test_invalid_utf8_across_fragments_closes_1007(self):
        data = b'{"event":"x","s":"ab\xe2\x82\xe2\x82\xac"}'
        cut = data.index(b"\xe2") + 1
        script = [B.wait_start(), B.start(),
                  B.frame(OP_TEXT, data[:cut], fin=False)]
        script += [B.frame(OP_CONT, data[k:k + 1], fin=k == len(data) - 1)
                   for k in range(cut, len(data))]
        run = self.call(script + [B.hold(10)])
        self.assert_closed_with(run, 1007)

    # ---- floods the call must survive ----

    def test_ping_flood_is_answered_and_the_call_goes_on(self):
        run = self.call([B.wait_start(), B.start(),
                         repeat(frame(OP_PING, b"p"), FLOOD_S)] + self.after,
                        hangup_after=FLOOD_S + 2.5)
        self.assert_goes_on(run)
        self.assertGreater(self.srv.flood_count, 1000)

    def test_empty_continuation_flood_leaves_the_call_bounded(self):
        run = self.call([B.wait_start(), B.start(),
                         B.frame(OP_TEXT, b'{"event":"x"', fin=False),
                         repeat(frame(OP_CONT, b"", fin=False), FLOOD_S),
                         B.frame(OP_CONT, b"}"), B.hold(10)])
        # Never grown past the cap: the message is taken whole at its end
        # and the call ends with the hang-up.
        self.assertEqual(run.code, 0, run)
        self.assertEqual(run.summary.get("end reason"), "hangup", run)

    def test_binary_fragment_flood_is_ignored_and_the_call_goes_on(self):
        run = self.call([B.wait_start(), B.start(),
                         B.frame(OP_BINARY, b"\0" * 100, fin=False),
                         repeat(frame(OP_CONT, b"\0" * 100, fin=False),
                                FLOOD_S / 4),
                         B.frame(OP_CONT, b"")] + self.after,
                        hangup_after=FLOOD_S + 2.5)
        self.assert_goes_on(run)

    def test_audio_at_100x_real_time_keeps_memory_bounded(self):
        run = self.call([B.wait_start(), B.start(),
                         B.flood(100, FLOOD_S, frame_ms=20),
                         B.event("clear"), B.mark("after-flood"),
                         B.hold(10)])
        self.assertEqual(run.code, 0, run)
        self.assertIn("after-flood",
                      [e["mark"] for e in self.srv.events("out", "mark")])

    def test_deeply_nested_json_is_reported_and_the_call_goes_on(self):
        nested = [B.text(b'{"event":"x","a":' + b"[" * 32000 + b"]" * 32000
                         + b"}"),
                  B.text(b"[" * 65536),
                  B.text(b'{"event":"mark","mark":' + b'{"a":' * 10000 +
                         b"1" + b"}" * 10001)]
        run = self.call([B.wait_start(), B.start()] + nested + self.after,
                        hangup_after=2.5)
        self.assert_goes_on(run)

    # Weakness (5): a flood of bad frames is summarised, not a stderr line
    # and an event-log error line each.
    def test_a_flood_of_bad_frames_is_summarised(self):
        # The client may still be reading the flood's backlog from its
        # socket when the flood ends: it hangs up once it has heard the
        # tone that follows, not at a time.
        caller = os.path.join(self.dir, "hear-the-tone.json")
        with open(caller, "w") as f:
            json.dump([{"wait_agent_speech": True, "timeout_ms": 60000},
                       {"wait_agent_quiet": 300, "timeout_ms": 60000},
                       {"hangup": True}], f)
        run = self.call([B.wait_start(), B.start(),
                         repeat(frame(OP_TEXT, b'{"event":'), FLOOD_S / 2),
                         repeat(frame(OP_BINARY, b"\0"), FLOOD_S / 2)]
                        + self.after, 120, "--events-max", str(EVENTS_MAX),
                        caller=caller)
        self.assert_goes_on(run)
        self.assert_bounded_output(run)

    # Weakness (5): past the playout cap, a flood of audio is reported once
    # an episode, not at each overflow.
    def test_an_audio_flood_is_summarised(self):
        run = self.call([B.wait_start(), B.start(),
                         B.flood(100, FLOOD_S, frame_ms=20),
                         B.event("clear")] + self.after,
                        FLOOD_S + 2.5, "--events-max", str(EVENTS_MAX))
        self.assert_goes_on(run)
        self.assert_bounded_output(run)

    # ---- a server that is slow on purpose ----

    def test_a_handshake_answered_a_byte_at_a_time_times_out(self):
        srv = SlowServer()
        self.addCleanup(srv.stop)
        t0 = time.monotonic()
        run = run_measured(["--url", srv.url, "--agent", "a", "--api-key",
                            KEY, "--input", self.input, "--output",
                            os.path.join(self.dir, "slow.wav"),
                            "--connect-timeout", "2"])
        took = time.monotonic() - t0
        self.assertEqual(run.code, 1, run)
        self.assertRegex(run.err, r"no WebSocket handshake within 2000 ms")
        # Its own timeout, not the trickle's end (some 30 s away).
        self.assertLess(took, 2 + 10 * harness.SLOW)
        self.assertTrue(srv.left.wait(10 * harness.SLOW),
                        "the client left the socket open")


class SlowServer:
    """Reads a handshake and answers it a byte every 0.2 s (slowloris
    turned round): the answer's head would take some 30 s."""

    ANSWER = (b"HTTP/1.1 101 Switching Protocols\r\n" +
              b"X-Pad: " + b"a" * 100 + b"\r\n") + b"Upgrade: websocket\r\n"

    def __init__(self):
        self.listener = socket.create_server((harness.HOST, 0))
        self.url = "ws://%s:%d" % self.listener.getsockname()
        self.stopping = threading.Event()
        self.left = threading.Event()  # the client closed its end
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.listener.settimeout(30)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(0.2)
            for i in range(len(self.ANSWER)):
                if self.stopping.is_set():
                    return
                try:
                    if conn.recv(65536) == b"":
                        break
                except socket.timeout:
                    pass
                except OSError:
                    break
                try:
                    conn.sendall(self.ANSWER[i:i + 1])
                except OSError:
                    break
            self.left.set()

    def stop(self):
        self.stopping.set()
        self.listener.close()
        self.thread.join(5)


if __name__ == "__main__":
    harness.main()
