#!/usr/bin/env python3
"""`wvoice serve`: hostile and broken client input. Frames that make no
sense are ignored with a log line naming the call and the problem; frames
that break the protocol close the call with the RFC 6455 code; other calls
go on.

Run: python3 test_bad_input.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import json
import os
import threading
import time

import harness
from harness import (SILENCE, SLOW, ServeTest, audio_event, collect, is_mark,
                     speech)
import wsclient

# Ignored frames: (test name, message, what the log line says).
IGNORED = [
    ("invalid_json", '{"event":', r"not JSON: "),
    ("trailing_garbage", '{"event":"stop"} x', r"not JSON: "),
    ("empty_message", "", r"not JSON: "),
    ("array", "[1,2]", r"not an object"),
    ("string", '"start"', r"not an object"),
    ("number", "42", r"not an object"),
    ("missing_event", '{"mark":"x"}', r'no "event" field'),
    ("event_not_a_string", '{"event":5}',
     r'field "event" must be a string, not a number'),
    ("unknown_event", '{"event":"hello"}', r'unknown event "hello"'),
    ("bad_base64", '{"event":"audio","payload":"!!!!"}', r"bad base64"),
    ("unpadded_base64", '{"event":"audio","payload":"/w"}', r"bad base64"),
    ("audio_without_payload", '{"event":"audio"}',
     r'audio without "payload"'),
    ("payload_not_a_string", '{"event":"audio","payload":7}',
     r'field "payload" must be a string'),
    ("bad_dtmf_letter", '{"event":"dtmf","dtmf":"x"}', r"bad DTMF digit"),
    ("bad_dtmf_two_digits", '{"event":"dtmf","dtmf":"12"}',
     r"bad DTMF digit"),
    ("bad_dtmf_number", '{"event":"dtmf","dtmf":1}',
     r'field "dtmf" must be a string'),
    ("mark_not_a_string", '{"event":"mark","mark":[]}',
     r'field "mark" must be a string'),
    ("mark_never_sent", '{"event":"mark","mark":"nope"}',
     r"a mark the server never sent"),
    ("second_start", '{"event":"start"}', r"a second start"),
    ("clear_from_the_client", '{"event":"clear"}',
     r"clear is a server event"),
]


class BadInput(ServeTest):
    concurrent = True

    def check_ignored(self, message, problem, pieces=1):
        c, cid = self.open_call("echo")
        c.send_text(message, pieces=pieces)
        line = self.server.wait_log(r"call %s: bad frame: " % cid)
        self.assertRegex(line, r"call %s: bad frame: .*%s.*; ignored$" %
                         (cid, problem))
        # The call goes on: it still answers and ends normally.
        c.send_event({"event": "dtmf", "dtmf": "1"})
        self.assert_stop_closes(c)
        self.assertRegex(self.server.wait_log(r"call %s end " % cid),
                         r"reason=client-stop")

    def closes(self, code, send, problem, agent="echo", start=True):
        if start:
            c, cid = self.open_call(agent)
        else:
            c = self.server.call(agent)
            self.assertNotIsInstance(c, int)
            self.addCleanup(c.close)
        send(c)
        self.assert_closes_with(c, code, timeout=5)
        if start:
            self.server.wait_log(r"call %s: .*%s.*; closing with %d" %
                                 (cid, problem, code))
            self.assertRegex(self.server.wait_log(r"call %s end " % cid),
                             r"reason=protocol-error")
        else:
            self.server.wait_log(r"call [-0-9a-f]+: .*%s.*; closing with %d"
                                 % (problem, code))
        return c

    # ---- protocol breaks: closed with a code ----

    def test_binary_frame_closes_1003(self):
        self.closes(1003, lambda c: c.send_binary(b'{"event":"stop"}'),
                    "binary frame")

    def test_fragmented_binary_frame_closes_1003(self):
        self.closes(1003, lambda c: c.send_binary(b"\x00" * 300, pieces=3),
                    "binary frame")

    def test_invalid_utf8_closes_1007(self):
        for name, data in (("byte ff", b'{"event":"mark","mark":"\xff"}'),
                           ("overlong", b'{"event":"\xc0\xaf"}'),
                           ("surrogate", b'{"event":"\xed\xa0\x80"}'),
                           ("truncated", b'{"event":"\xe2\x82"}'),
                           ("past U+10FFFF", b'{"event":"\xf4\x90\x80\x80"}')):
            with self.subTest(name):
                self.closes(1007, lambda c: c.send_text(data), "UTF-8")

    def test_invalid_utf8_across_fragments_closes_1007(self):
        self.closes(1007, lambda c: c.send_text(
            b'{"event":"mark","mark":"abc\xe2\x82"}', pieces=4), "UTF-8")

    def test_utf8_split_between_fragments_is_valid(self):
        # Each multi-byte character is cut in the middle by the fragments.
        msg = '{"event":"mark","mark":"\u00e9\u20ac\U0001f600"}'
        self.check_ignored(msg.encode(), r"a mark the server never sent",
                           pieces=len(msg.encode()))

    def test_message_over_64_KiB_closes_1009(self):
        big = '{"event":"dtmf","dtmf":"1","pad":"%s"}' % ("a" * 70000)
        for pieces in (1, 10, 100):
            with self.subTest(pieces=pieces):
                self.closes(1009, lambda c: c.send_text(big, pieces=pieces),
                            "over 65536")

    def test_message_of_exactly_64_KiB_is_taken(self):
        head = '{"event":"mark","mark":"nope","pad":"'
        msg = head + "a" * (65536 - len(head) - 2) + '"}'
        self.assertEqual(len(msg), 65536)
        for pieces in (1, 7):
            with self.subTest(pieces=pieces):
                self.check_ignored(msg, r"a mark the server never sent",
                                   pieces=pieces)

    def closes_while_sending(self, code, data, problem, tries=3):
        """Sends data (megabytes the server refuses early) on a thread
        while reading: every try must end in the close frame with code,
        all of data taken (drained, not reset), and the server's FIN."""
        for i in range(tries):
            with self.subTest(attempt=i):
                c, cid = self.open_call("echo")
                sender = harness.Sender(c, data)
                try:
                    got, reason, _ = c.wait_close(30 * SLOW)
                except (wsclient.ConnectionLost, OSError) as e:
                    # Once seen: the server closed with megabytes unread,
                    # its kernel answered with a reset and the close frame
                    # was lost (RFC 6455 7.1.1: close TCP after the
                    # closing handshake).
                    self.fail("no close frame (%s): expected %d" % (e, code))
                sender.join(30 * SLOW)
                self.assertFalse(sender.is_alive(),
                                 "the server stopped reading")
                self.assertEqual(got, code, "close reason %r" % reason)
                self.assertIsNone(sender.error, "the server reset the "
                                  "connection under the client's message")
                self.assertTrue(c.wait_eof(10 * SLOW), "no FIN after close")
                self.server.wait_log(r"call %s: .*%s.*; closing with %d" %
                                     (cid, problem, code))

    def test_megabytes_over_the_cap_close_1009_without_a_reset(self):
        for mib in (4, 16):
            with self.subTest(mib=mib):
                data = wsclient.Connection.frame(
                    wsclient.OP_TEXT, b"a" * (mib << 20))
                self.closes_while_sending(1009, data, "over 65536")

    def test_binary_fragment_flood_closes_1003_without_a_reset(self):
        piece = b"\x00" * 4096
        data = wsclient.Connection.frame(wsclient.OP_BINARY, piece, fin=False)
        data += wsclient.Connection.frame(wsclient.OP_CONT, piece,
                                          fin=False) * 4096
        self.closes_while_sending(1003, data, "binary frame")

    def test_frames_rfc_6455_forbids_close_1002_and_are_named(self):
        # Once seen: lws closed these calls itself and the log said only
        # reason=closed.
        for name, frame, problem in (
                ("reserved bits", wsclient.Connection.frame(
                    wsclient.OP_TEXT, '{"event":"stop"}', rsv=4),
                 "reserved bits set in a frame"),
                ("opcode 3", wsclient.Connection.frame(3, b"x"),
                 "unknown opcode"),
                ("opcode 0xb", wsclient.Connection.frame(0xB, b""),
                 "unknown opcode"),
                ("fragmented ping", wsclient.Connection.frame(
                    wsclient.OP_PING, b"", fin=False),
                 "fragmented control frame"),
                ("lone continuation", wsclient.Connection.frame(
                    wsclient.OP_CONT, b"x"),
                 "continuation frame out of place")):
            with self.subTest(name):
                c, cid = self.open_call("echo")
                c.send_raw(frame)
                self.assert_closes_with(c, 1002)
                # As a client does after the closing handshake: lws 4.1.6
                # ends a call closed for reserved bits only then (or 5 s
                # later).
                c.close()
                self.server.wait_log(r"call %s: %s \(lws: [a-z ]+\); "
                                     r"closing with 1002$" % (cid, problem))
                self.assertRegex(self.server.wait_log(r"call %s end " % cid),
                                 r" reason=protocol-error ")

    def test_events_before_start_close_1008(self):
        for event in (audio_event(SILENCE), {"event": "dtmf", "dtmf": "1"},
                      {"event": "mark", "mark": "x"}):
            with self.subTest(event=event["event"]):
                self.closes(1008, lambda c: c.send_event(event),
                            "%s before start" % event["event"], start=False)

    def test_no_start_within_10_s_closes_1008(self):
        c = self.server.call("echo")
        self.assertNotIsInstance(c, int)
        self.addCleanup(c.close)
        t = time.monotonic()
        try:
            code, reason, events = c.wait_close(12 + 3 * SLOW)
        except TimeoutError:
            # Once seen: the start deadline was not armed until the
            # client sent something, so a silent socket stayed open.
            self.fail("no close within %.0f s of opening a call without "
                      "start (contract: 1008 after 10 s)" % (12 + 3 * SLOW))
        waited = time.monotonic() - t
        self.assertEqual(code, 1008)
        self.assertEqual(events, [])
        self.assertGreater(waited, 9.5)
        self.assertLess(waited, 11 + 2 * SLOW)
        self.server.wait_log(r"no start from the client; closing with 1008")
        self.server.wait_log(r"reason=no-start ")

    def flood(self, conn, messages, gap=0.0):
        """Sends messages (as fast as possible, or every `gap` s) on a
        thread until done or the server closed; returns the thread."""
        stop = threading.Event()

        def run():
            t0 = time.monotonic()
            for i, m in enumerate(messages):
                if stop.is_set():
                    return
                if gap:
                    wait = t0 + i * gap - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                try:
                    conn.send_text(m)
                except OSError:
                    return

        th = threading.Thread(target=run, daemon=True)
        th.start()
        self.addCleanup(th.join, 5)
        self.addCleanup(stop.set)
        return stop

    def test_flood_of_frames_closes_1008(self):
        c, cid = self.open_call("echo")
        msg = json.dumps(audio_event(SILENCE))
        stop = self.flood(c, [msg] * 3000)
        try:
            self.assert_closes_with(c, 1008, timeout=10)
        finally:
            stop.set()
        self.server.wait_log(r"call %s: flood: .*; closing with 1008" % cid)

    def test_audio_faster_than_twice_real_time_closes_1008(self):
        # One second of audio ten times a second: few frames, 10x real time.
        c, cid = self.open_call("echo")
        msg = json.dumps(audio_event(b"\xff" * 8000))
        stop = self.flood(c, [msg] * 100, gap=0.1)
        t = time.monotonic()
        try:
            self.assert_closes_with(c, 1008, timeout=12)
        finally:
            stop.set()
        self.server.wait_log(r"call %s: flood: audio faster than twice real "
                             r"time; closing with 1008" % cid)
        self.assertLess(time.monotonic() - t, 6 * SLOW)

    def test_a_burst_then_real_time_is_not_a_flood(self):
        # A client catching up after a stall: 6 s of audio at once.
        c, cid = self.open_call("echo")
        msg = json.dumps(audio_event(SILENCE))
        c.send_raw(b"".join(c.frame(wsclient.OP_TEXT, msg)
                            for _ in range(300)))
        pump = self.start_pump(c)
        time.sleep(1.0)
        pump.stop()
        self.assertIsNone(pump.error)
        self.assert_stop_closes(c)

    def test_a_problem_is_named_once(self):
        # Once "not valid JSON: not JSON: ...", "JSON value is not an
        # object: not an object: an array" (issue 13).
        for message, words in (
                ("[1,2]", r"not an object: an array"),
                ('{"mark":"x"}', r'no "event" field'),
                ('{"event":', r"not JSON: [^:]* at line 1 column \d+ "
                 r"\(offset \d+\)")):
            with self.subTest(message):
                c, cid = self.open_call("echo")
                c.send_text(message)
                line = self.server.wait_log(r"call %s: bad frame: " % cid)
                self.assertRegex(line, r"call %s: bad frame: %s; ignored$" %
                                 (cid, words))
                self.assert_stop_closes(c)

    def test_an_unknown_event_cannot_forge_a_log_line(self):
        """Its name is the client's: a newline in it once started a line
        of the client's making in the server's log (issue 13, item 3)."""
        c, cid = self.open_call("echo")
        c.send_event({"event": "x\n00:00:00.000 call FORGED\x1b[2J"})
        line = self.server.wait_log(r"call %s: bad frame: unknown" % cid)
        self.assertIn(r'unknown event "x\x0A00:00:00.000 call FORGED'
                      r'\x1B[2J"; ignored', line)
        self.assert_stop_closes(c)
        self.server.wait_log(r"call %s end " % cid)
        forged_lines = [ln for ln in self.server.log().splitlines()
                        if "FORGED" in ln]
        self.assertEqual(len(forged_lines), 1, forged_lines)
        self.assertNotIn("\x1b", self.server.log())

    def test_100_bad_frames_are_ignored_the_101st_closes_1008(self):
        c, cid = self.open_call("echo")
        c.send_raw(b"".join(c.frame(wsclient.OP_TEXT, '{"event":"x%d"}' % i)
                            for i in range(100)))
        c.send_event({"event": "dtmf", "dtmf": "1"})
        self.server.wait_log(r'call %s: bad frame: unknown event "x99"' % cid)
        time.sleep(0.2)
        self.assertIsNone(c.close_code)
        c.send_text('{"event":"x100"}')
        self.assert_closes_with(c, 1008)
        self.server.wait_log(r"call %s: too many bad frames; closing with "
                             r"1008" % cid)

    def test_garbage_after_the_handshake_ends_only_that_call(self):
        c = self.server.call("echo")
        self.assertNotIsInstance(c, int)
        self.addCleanup(c.close)
        c.send_raw(os.urandom(64) + b"\x88\x00")
        try:
            c.wait_close(5 * SLOW)
        except (wsclient.ConnectionLost, wsclient.ProtocolError, OSError,
                TimeoutError):
            pass
        other, cid = self.open_call("echo")
        self.assert_stop_closes(other)

    def test_other_calls_go_on_when_calls_are_closed_for_bad_input(self):
        good, gid = self.open_call("echo")
        pump = self.start_pump(good)
        bad = []
        for send in (lambda c: c.send_binary(b"x"),
                     lambda c: c.send_text(b"\xff"),
                     lambda c: c.send_text("x" * 70000),
                     lambda c: c.send_raw(b"".join(
                         c.frame(wsclient.OP_TEXT,
                                 json.dumps(audio_event(SILENCE)))
                         for _ in range(1500)))):
            c, _ = self.open_call("echo")
            send(c)
            bad.append(c)
        codes = []
        for c in bad:
            try:
                codes.append(c.wait_close(5 * SLOW)[0])
            except wsclient.ConnectionLost:
                codes.append("no close frame")
        pump.say(speech(0.6, seed=11))
        collect(good, is_mark("echo-1"), 6 * SLOW)
        pump.stop()
        self.assertIsNone(pump.error)
        self.assert_stop_closes(good)
        self.assertEqual(codes, [1003, 1007, 1009, 1008])


def _ignored_test(message, problem):
    def test(self):
        self.check_ignored(message, problem)
    return test


for _name, _msg, _problem in IGNORED:
    setattr(BadInput, "test_ignored_%s" % _name, _ignored_test(_msg, _problem))


if __name__ == "__main__":
    harness.main()
