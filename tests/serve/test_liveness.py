#!/usr/bin/env python3
"""`wvoice serve`: calls whose client stopped, vanished or floods with
control frames. After `start` the server pings every --idle-timeout/2 and
closes with 1008 a call that sends no audio (a live client sends 50 frames
a second) or answers no ping for --idle-timeout; pings, pongs and pieces
of messages count against the flood limit.

Run: python3 test_liveness.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import json
import time

import harness
from harness import HOST, SILENCE, SLOW, ServeTest, audio_event
import wsclient

IDLE = 2  # --idle-timeout, seconds
MAX_CALLS = 3


class Liveness(ServeTest):
    # One at a time: the calls at once are counted against --max-calls.
    server_args = ("--idle-timeout", str(IDLE), "--max-calls", str(MAX_CALLS))

    def calls_up(self):
        status, _, body = wsclient.http_get(HOST, self.server.port,
                                            "/healthz")
        self.assertEqual(status, 200)
        return json.loads(body)["calls_up"]

    def wait_calls_up(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout * SLOW
        while self.calls_up() != n:
            if time.monotonic() > deadline:
                self.fail("calls_up is %d, not %d" % (self.calls_up(), n))
            time.sleep(0.05)

    def test_calls_that_start_then_send_nothing_are_ended(self):
        # Once seen: calls that sent start and then nothing were never
        # reaped, and once they filled --max-calls every new call got 503.
        self.wait_calls_up(0)
        calls = [self.open_call("echo") for _ in range(MAX_CALLS)]
        t = time.monotonic()
        self.assertEqual(self.server.call("echo"), 503)
        for c, cid in calls:
            code, reason, events = c.wait_close(IDLE + 10 * SLOW)
            self.assertEqual((code, reason), (1008, "no audio for %d s" % IDLE))
            self.assertEqual(events, [])
            self.server.wait_log(r"call %s: no audio for %d s; closing with "
                                 r"1008$" % (cid, IDLE))
            self.assertRegex(self.server.wait_log(r"call %s end " % cid),
                             r" reason=idle ")
        # Not before the timeout: the server cannot have seen start before
        # this test sent it.
        self.assertGreaterEqual(time.monotonic() - t, IDLE - 0.05)
        self.wait_calls_up(0)
        c, cid = self.open_call("echo")
        self.assert_stop_closes(c)

    def test_a_client_that_answers_pings_stays_up_while_sending_audio(self):
        c, cid = self.open_call("echo")
        pump = self.start_pump(c)
        # Three timeouts long, reading (and so answering pings) all along.
        deadline = time.monotonic() + 3 * IDLE
        while time.monotonic() < deadline:
            try:
                ev = c.recv_event(0.2)
            except TimeoutError:
                continue
            self.fail("the server sent %r" % ev)
        pump.stop()
        self.assertIsNone(pump.error)
        # One ping every IDLE/2 s: at least 4 in 3 * IDLE s, whatever the
        # machine's pace, and not more than one per loop turn would allow.
        self.assertGreaterEqual(c.pings, 4)
        self.assertLessEqual(c.pings, 7)
        self.assert_stop_closes(c)
        self.assertRegex(self.server.wait_log(r"call %s end " % cid),
                         r" reason=client-stop ")

    def test_a_client_that_answers_no_ping_is_ended(self):
        c, cid = self.open_call("echo")
        pump = self.start_pump(c)
        # Audio goes on, but nothing is read, so no ping is answered.
        self.server.wait_log(r"call %s: no pong for %d s; closing with 1008$"
                             % (cid, IDLE), timeout=2 * IDLE + 10)
        pump.stop()
        self.assertEqual(self.assert_closes_with(c, 1008),
                         "no pong for %d s" % IDLE)
        self.assertGreaterEqual(c.pings, 1)
        self.assertRegex(self.server.wait_log(r"call %s end " % cid),
                         r" reason=idle ")

    def flood_of(self, frame, count):
        c, cid = self.open_call("echo")
        c.send_raw(frame * count)
        return c, cid

    def assert_flood_closes(self, c, cid):
        self.assert_closes_with(c, 1008)
        self.server.wait_log(r"call %s: flood: frames faster than the limit; "
                             r"closing with 1008" % cid)

    def test_a_ping_flood_closes_1008(self):
        self.assert_flood_closes(*self.flood_of(
            wsclient.Connection.frame(wsclient.OP_PING, b""), 5000))

    def test_a_few_pings_are_no_flood(self):
        c, cid = self.flood_of(wsclient.Connection.frame(wsclient.OP_PING,
                                                         b"x" * 16), 100)
        c.send_event(audio_event(SILENCE))
        time.sleep(0.6)  # two counts of the control frames' bytes
        c.send_event({"event": "dtmf", "dtmf": "1"})
        self.assert_stop_closes(c)

    def test_a_pong_flood_closes_1008(self):
        self.assert_flood_closes(*self.flood_of(
            wsclient.Connection.frame(wsclient.OP_PONG, b""), 5000))

    def test_endless_empty_continuation_frames_close_1008(self):
        c, cid = self.open_call("echo")
        c.send_frame(wsclient.OP_TEXT, '{"event":', fin=False)
        c.send_raw(wsclient.Connection.frame(wsclient.OP_CONT, b"",
                                             fin=False) * 5000)
        self.assert_flood_closes(c, cid)

    def test_a_message_in_a_few_pieces_is_no_flood(self):
        c, cid = self.open_call("echo")
        c.send_text('{"event":"dtmf","dtmf":"1"}', pieces=20)
        c.send_event(audio_event(SILENCE))
        self.assert_stop_closes(c)



class LingerCap(ServeTest):
    """After closing a call the server drains what its client still sends
    (test_bad_input.py), but no more sockets at once than --max-calls."""
    server_args = ("--max-calls", "1")

    def test_no_more_sockets_linger_than_calls_may_be_up(self):
        big = wsclient.Connection.frame(wsclient.OP_TEXT, b"a" * (4 << 20))
        # The first client sends a third of its message, then waits: its
        # socket lingers, drained, until it closes it.
        a, aid = self.open_call("echo")
        a.send_raw(big[:len(big) // 3])
        self.assertEqual(self.assert_closes_with(a, 1009, timeout=10),
                         "message over 65536 bytes")
        self.server.wait_log(r"call %s end " % aid)
        # The second, closed the same way while the first lingers, is cut
        # off at once: its kernel gets a reset, not a FIN.
        b, bid = self.open_call("echo")
        sender = harness.Sender(b, big)
        try:
            b.wait_close(10 * SLOW)
            lost = False
        except (wsclient.ConnectionLost, OSError):
            lost = True
        if not lost and not sender.error:
            self.assertFalse(b.wait_eof(5 * SLOW), "B's socket lingered")
        sender.join(10 * SLOW)
        # Once the first client closes, its socket is the server's again.
        a.close()
        c, cid = self.open_call("echo")
        c.send_raw(big)
        self.assertEqual(self.assert_closes_with(c, 1009, timeout=10),
                         "message over 65536 bytes")
        self.assertTrue(c.wait_eof(10 * SLOW))


if __name__ == "__main__":
    harness.main()
