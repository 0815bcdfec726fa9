#!/usr/bin/env python3
"""`wvoice serve --record DIR`: per call a stereo WAV (caller left, agent
right, time-aligned) and a JSON-lines event log, flushed while the call
goes on and valid even after the server is killed.

Run: python3 test_records.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import base64
import json
import os
import signal
import struct
import time
import wave

import harness
import wsclient
from harness import SLOW, Received, ServeTest, collect, is_mark, speech


def read_wav(path):
    """(channels, rate, width, left samples, right samples)."""
    with wave.open(path, "rb") as w:
        ch, width, rate, n = (w.getnchannels(), w.getsampwidth(),
                              w.getframerate(), w.getnframes())
        data = w.readframes(n)
    count = len(data) // 2
    s = struct.unpack("<%dh" % count, data[:count * 2])
    if ch == 2:
        return ch, rate, width, list(s[0::2]), list(s[1::2])
    return ch, rate, width, list(s), []


def wav_header(path):
    """(RIFF size, data offset, data size, file size) read by hand."""
    with open(path, "rb") as f:
        blob = f.read()
    assert blob[:4] == b"RIFF" and blob[8:12] == b"WAVE", blob[:12]
    riff = struct.unpack_from("<I", blob, 4)[0]
    off = 12
    while off + 8 <= len(blob):
        cid, size = blob[off:off + 4], struct.unpack_from("<I", blob,
                                                          off + 4)[0]
        if cid == b"data":
            return riff, off + 8, size, len(blob)
        off += 8 + size + (size & 1)
    raise AssertionError("no data chunk in %s" % path)


def loud_blocks(samples, floor_dbfs=-40.0, block=160):
    """Times (s) of the 20 ms blocks above the floor."""
    out = []
    limit = (32768.0 * 10 ** (floor_dbfs / 20)) ** 2
    for i in range(0, len(samples) - block + 1, block):
        seg = samples[i:i + block]
        if sum(x * x for x in seg) / block >= limit:
            out.append(i / 8000.0)
    return out


def read_jsonl(path, allow_partial_last=False):
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8")
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    elif allow_partial_last and lines:
        lines.pop()  # cut off mid-line by a kill
    return [json.loads(ln) for ln in lines]


def b64url(obj):
    return base64.urlsafe_b64encode(
        json.dumps(obj).encode()).decode().rstrip("=")


class Records(ServeTest):
    concurrent = True

    temp_dir = "record"

    @classmethod
    def prepare(cls):
        cls.server_args = ("--record", cls.dir)

    def paths(self, cid):
        return (os.path.join(self.dir, cid + ".wav"),
                os.path.join(self.dir, cid + ".jsonl"))

    def wait_complete(self, cid):
        """After the call's end line: both files written out, stable."""
        self.server.wait_log(r"call %s end " % cid)
        wav, jl = self.paths(cid)
        deadline = time.monotonic() + 5 * SLOW
        last = None
        while time.monotonic() < deadline:
            try:
                riff, off, size, fsize = wav_header(wav)
                now = (fsize, os.path.getsize(jl))
                if riff == fsize - 8 and off + size == fsize and now == last:
                    return
                last = now
            except (OSError, AssertionError, struct.error):
                pass
            time.sleep(0.2)
        self.fail("record of %s not complete 5 s after the call ended" % cid)

    def test_a_call_is_recorded_caller_left_agent_right(self):
        meta = {"k": 1, "s": "x"}
        t_open = time.monotonic()
        c = self.server.call("echo", query="from=alice&synthetic=true&"
                             "metadata=" + b64url(meta))
        self.assertNotIsInstance(c, int)
        self.addCleanup(c.close)
        c.send_event({"event": "start"})
        cid = c.recv_event(5 * SLOW)["communication_id"]
        pump = self.start_pump(c)
        time.sleep(0.5)
        u = pump.say(speech(1.0, level_dbfs=-12, seed=12))
        c.send_event({"event": "dtmf", "dtmf": "5"})
        c.send_text('{"event":"nope"}')
        r = Received()
        collect(c, is_mark("echo-1"), 6 * SLOW, r)
        c.send_event({"event": "mark", "mark": "echo-1"})
        time.sleep(0.3)
        pump.stop()
        self.assert_stop_closes(c)
        t_close = time.monotonic()
        self.wait_complete(cid)
        wav, jl = self.paths(cid)

        ch, rate, width, left, right = read_wav(wav)
        self.assertEqual((ch, rate, width), (2, 8000, 2))
        length = len(left) / 8000.0
        self.assertGreater(length, (t_close - t_open) - 0.6)
        self.assertLess(length, (t_close - t_open) + 0.3 * SLOW)
        # Caller left: loud where the caller spoke, about when it spoke.
        lb = loud_blocks(left)
        self.assertTrue(lb, "the caller's channel is silent")
        self.assertAlmostEqual(lb[0], u.first_sent - t_open, delta=0.25)
        self.assertAlmostEqual(lb[-1] - lb[0] + 0.02, u.seconds, delta=0.2)
        # Agent right: the echo, after the caller stopped.
        rb = loud_blocks(right)
        self.assertTrue(rb, "the agent's channel is silent")
        self.assertGreater(rb[0], lb[-1] + 0.3,
                           "agent audio before the caller's utterance ended")
        self.assertAlmostEqual(rb[-1] - rb[0] + 0.02, u.seconds, delta=0.3)
        self.assertFalse([t for t in rb if t < lb[-1]],
                         "agent channel loud while the caller spoke")
        self.assertFalse([t for t in lb if t > rb[0]],
                         "caller channel loud while the echo played")
        harness.figure("record: caller speech at", "%.2f s (sent at %.2f s),"
                       " echo at %.2f s" % (lb[0], u.first_sent - t_open,
                                            rb[0]))

        events = read_jsonl(jl)
        first = events[0]
        self.assertEqual(first, {"t": 0, "dir": "call", "event": "connect",
                                 "agent_id": "echo", "from": "alice",
                                 "synthetic": True, "metadata": meta})
        prev = 0.0
        for e in events:
            self.assertIsInstance(e.get("t"), (int, float), e)
            self.assertGreaterEqual(e["t"], prev - 0.001, "time went back")
            prev = e["t"]
            self.assertIsInstance(e.get("event"), str, e)
            # The call's own lines are "call"; "in" and "out" are the
            # protocol's events, each way.
            self.assertEqual(e.get("dir") == "call",
                             e["event"] in ("connect", "error", "end"), e)
            self.assertIn(e.get("dir"), ("in", "out", "call"), e)
            if e.get("event") == "audio":
                self.assertEqual(set(e), {"t", "dir", "event", "bytes"}, e)
                self.assertEqual(e["bytes"], 160)
        self.assertLess(events[-1]["t"], t_close - t_open + 0.2)

        def find(pred):
            return [e for e in events if pred(e)]

        start_out = find(lambda e: e.get("event") == "start" and
                         e["dir"] == "out")
        self.assertEqual(len(start_out), 1)
        self.assertEqual(start_out[0].get("communication_id"), cid)
        self.assertEqual(len(find(lambda e: e.get("event") == "start" and
                                  e["dir"] == "in")), 1)
        self.assertEqual(find(lambda e: e.get("event") == "dtmf")[0]["dtmf"],
                         "5")
        errors = find(lambda e: e["event"] == "error")
        self.assertEqual(len(errors), 1, errors)
        self.assertEqual(errors[0]["error"], 'unknown event "nope"')
        marks = [(e["dir"], e["mark"]) for e in find(
            lambda e: e.get("event") == "mark")]
        self.assertEqual(marks, [("out", "echo-1"), ("in", "echo-1")])
        self.assertEqual(find(lambda e: e.get("event") == "stop")[-1]["dir"],
                         "in")
        # The last line says how the call ended (issue 10, item 6): our
        # stop, and our close; or the server's, as the closes crossed.
        end = events[-1]
        self.assertEqual((end["event"], end["reason"], end["close_code"]),
                         ("end", "client-stop", 1000), end)
        self.assertEqual(end["dir"], "call", end)
        self.assertIn(end["closed_by"], ("client", "server"), end)
        audio_in = len(find(lambda e: e.get("event") == "audio" and
                            e["dir"] == "in"))
        audio_out = len(find(lambda e: e.get("event") == "audio" and
                             e["dir"] == "out"))
        self.assertAlmostEqual(audio_in, pump.sent, delta=2)
        self.assertEqual(audio_out, len(r.audio()))
        self.assertEqual(self.server.leaked(), [])
        with open(jl) as f:
            self.assertNotIn(harness.KEY, f.read())

    def test_records_are_flushed_while_the_call_goes_on(self):
        c, cid = self.open_call("silent")
        pump = self.start_pump(c)
        pump.say(speech(2.5, seed=13))
        wav, jl = self.paths(cid)
        sizes = []
        for _ in range(2):
            time.sleep(1.4)
            try:
                sizes.append((os.path.getsize(jl), wav_header(wav)[2]))
            except (OSError, AssertionError) as e:
                sizes.append((0, 0))
        self.assertIsNone(c.close_code, "the call ended early")
        harness.figure("record sizes during the call", sizes)
        self.assertGreater(sizes[0][0], 0, "no event log after 1.4 s")
        self.assertGreater(sizes[1][0], sizes[0][0],
                           "the event log did not grow during the call")
        self.assertGreater(sizes[1][1], sizes[0][1],
                           "the WAV header did not grow during the call")
        pump.stop()
        self.assert_stop_closes(c)
        self.wait_complete(cid)
        first = read_jsonl(jl)[0]
        self.assertEqual(first, {"t": 0, "dir": "call", "event": "connect",
                                 "agent_id": "silent", "from": "",
                                 "synthetic": False})

    def test_padded_metadata_is_taken_too(self):
        # A browser's encoder may keep base64's padding: {"a": 1} is 8
        # bytes, which pad to "eyJhIjogMX0=".
        padded = base64.urlsafe_b64encode(b'{"a": 1}').decode()
        self.assertTrue(padded.endswith("="))
        c, cid = self.open_call("echo", query="metadata=" + padded)
        self.assert_stop_closes(c)
        self.wait_complete(cid)
        first = read_jsonl(self.paths(cid)[1])[0]
        self.assertEqual(first["metadata"], {"a": 1})

    def test_bad_metadata_is_left_out_and_logged(self):
        c, cid = self.open_call("echo", query="metadata=" + b64url([1, 2]))
        self.assert_stop_closes(c)
        self.wait_complete(cid)
        self.server.wait_log(r"call %s: metadata is not base64url of a JSON "
                             r"object; ignored" % cid)
        first = read_jsonl(self.paths(cid)[1])[0]
        self.assertNotIn("metadata", first)

    # ---- the last line: how the call ended (issue 10, item 6) ----

    def end_of_record(self, cid):
        self.wait_complete(cid)
        end = read_jsonl(self.paths(cid)[1])[-1]
        self.assertEqual((end.get("dir"), end.get("event")), ("call", "end"),
                         end)
        return (end["reason"], end["close_code"], end["close_reason"],
                end["closed_by"])

    def test_the_record_ends_with_the_clients_own_close(self):
        c, cid = self.open_call("echo")
        c.send_close(4000, "caller gone")
        c.wait_close(5 * SLOW)
        self.assertEqual(self.end_of_record(cid),
                         ("closed", 4000, "caller gone", "client"))

    def test_the_record_ends_with_the_servers_close(self):
        c, cid = self.open_call("echo")
        c.send_text("not json at all")
        c.send_binary(b"\x00")
        self.assert_closes_with(c, 1003)
        reason, code, why, by = self.end_of_record(cid)
        self.assertEqual((reason, code, by),
                         ("protocol-error", 1003, "server"))
        self.assertTrue(why)

    def test_the_record_ends_with_a_lost_connection(self):
        c, cid = self.open_call("echo")
        c.close()
        self.assertEqual(self.end_of_record(cid),
                         ("closed", None, None, "none"))

    def test_a_close_reason_that_is_not_utf8_is_kept_escaped(self):
        c, cid = self.open_call("echo")
        c.send_raw(c.frame(wsclient.OP_CLOSE,
                           struct.pack(">H", 4000) + b"bye \xff\xc3"))
        try:
            c.wait_close(5 * SLOW)
        except (wsclient.ConnectionLost, wsclient.ProtocolError, OSError):
            pass
        reason, code, why, by = self.end_of_record(cid)
        self.assertEqual((code, by), (4000, "client"))
        self.assertEqual(why, "bye \\xFF\\xC3")

    # ---- the connect line, whatever the caller's name (issue 13, 4) ----

    def connect_line(self, query):
        c, cid = self.open_call("echo", query=query)
        self.assert_stop_closes(c)
        self.wait_complete(cid)
        events = read_jsonl(self.paths(cid)[1])
        self.assertEqual((events[0]["dir"], events[0]["event"]),
                         ("call", "connect"), events[:2])
        self.assertEqual(events[0]["agent_id"], "echo")
        return cid, events[0]

    def test_a_long_name_is_cut_at_a_character(self):
        # 70 x "é" is 140 bytes: once cut at byte 127, inside the 64th,
        # which made the connect line fail and vanish.
        cid, first = self.connect_line(
            "from=" + "%C3%A9" * 70 + "&metadata=" + b64url({"k": 1}))
        self.assertEqual(first["from"], "\u00e9" * 63)
        self.assertEqual(first["metadata"], {"k": 1})

    def test_a_name_that_is_not_utf8_is_escaped(self):
        cid, first = self.connect_line("from=a%FFb%C3%28")
        self.assertEqual(first["from"], "a\\xFFb\\xC3(")
        # The log line shows it escaped too: no byte of the caller's.
        line = self.server.wait_log(r"call %s start " % cid)
        self.assertIn(r"from=a\\xFFb\\xC3(", line)

    def test_a_name_cannot_reach_the_terminal(self):
        # (libwebsockets ends a query value at a decoded newline itself.)
        cid, first = self.connect_line("from=x%1B[2J%7FFORGED")
        self.assertEqual(first["from"], "x\x1b[2J\x7fFORGED")
        line = self.server.wait_log(r"call %s start " % cid)
        self.assertIn(r"from=x\x1B[2J\x7FFORGED", line)
        self.assertNotIn("\x1b", self.server.log())


class Killed(ServeTest):
    """SIGKILL mid-call: what was flushed is a valid WAV and whole lines."""

    temp_dir = "killed"

    @classmethod
    def prepare(cls):
        cls.server_args = ("--record", cls.dir)

    @classmethod
    def stop_server(cls):
        if cls.server.proc.poll() is None:
            cls.server.stop(signal.SIGKILL)

    def test_wav_header_is_valid_after_sigkill(self):
        c, cid = self.open_call("echo")
        pump = self.start_pump(c)
        pump.say(speech(1.0, level_dbfs=-12, seed=14))
        collect(c, is_mark("echo-1"), 6 * SLOW)
        time.sleep(1.0)
        self.server.stop(signal.SIGKILL)
        pump.stop()
        self.assertEqual(self.server.exit_code, -signal.SIGKILL)
        self.assertEqual(self.server.leaked(), [])
        wav = os.path.join(self.dir, cid + ".wav")
        riff, off, size, fsize = wav_header(wav)
        self.assertLessEqual(off + size, fsize, "data chunk past the file")
        self.assertLessEqual(riff + 8, fsize, "RIFF size past the file")
        self.assertEqual(size % 4, 0, "a partial stereo frame")
        ch, rate, width, left, right = read_wav(wav)
        self.assertEqual((ch, rate, width), (2, 8000, 2))
        self.assertGreater(len(left) / 8000.0, 1.0,
                           "under a second of audio kept")
        self.assertTrue(loud_blocks(left), "the caller's speech was lost")
        events = read_jsonl(os.path.join(self.dir, cid + ".jsonl"),
                            allow_partial_last=True)
        self.assertEqual(events[0]["event"], "connect")
        self.assertTrue([e for e in events if e.get("event") == "start"])


if __name__ == "__main__":
    harness.main()
