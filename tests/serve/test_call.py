#!/usr/bin/env python3
"""`wvoice call` end to end: the real command against `wvoice serve` over
loopback, with WAV files for the microphone and the speaker, checked
through its exit status, its output files and the server's records."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import harness
from harness import KEY, SLOW, ServeTest, speech
from test_records import read_jsonl, read_wav
from test_script import write_wav


def run_call(*args, env=None, timeout=60):
    """Runs `wvoice call`; returns (exit status, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("WVOICE_API_KEY", None)
    e.update(env or {})
    p = subprocess.run([harness.binary(), "call"] + [str(a) for a in args],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, env=e, timeout=timeout * SLOW)
    return p.returncode, p.stdout, p.stderr


def summary(stdout):
    """The end-of-call summary as a dict ("end reason" -> "hangup")."""
    out = {}
    for line in stdout.splitlines():
        name, _, value = line.partition(": ")
        out[name] = value
    return out


# The playout's figures in the JSON summary and the event log's end
# (since 0.5), in their order; and their lines in the text summary.
PLAYOUT_KEYS = ["playout", "playout_target_ms", "playout_delay_ms",
                "jitter_ms", "concealed_ms", "silence_inserted_ms",
                "silence_dropped_ms", "late_arrivals"]
PLAYOUT_LINES = ["playout", "playout target", "playout delay", "jitter",
                 "concealed", "silence inserted", "silence dropped",
                 "late arrivals"]
# The lines there before 0.5, in their order (close when there was one).
SUMMARY_LINES = ["communication id", "duration", "frames sent",
                 "frames received", "marks", "underruns", "end reason",
                 "close"]


def ms(value):
    """A summary's "60 ms" as 60."""
    number, unit = value.split(" ")
    assert unit == "ms", value
    return int(number)


def rms(samples):
    return (sum(s * s for s in samples) / max(1, len(samples))) ** 0.5


class Call(ServeTest):
    """One recording server; each test places calls against it."""

    concurrent = True
    temp_dir = "call"

    @classmethod
    def prepare(cls):
        cls.server_args = ("--record", os.path.join(cls.dir, "records"))
        cls.speech = os.path.join(cls.dir, "speech.wav")
        # 1.2 s of speech written at 16 kHz (each sample twice), so the
        # call resamples it to 8 kHz.
        doubled = [x for s in speech(1.2, seed=3) for x in (s, s)]
        write_wav(cls.speech, doubled, rate=16000)

    def path(self, name):
        return os.path.join(self.dir, "%s-%s" % (self.id().split(".")[-1],
                                                 name))

    def call(self, *args, **kw):
        code, out, err = run_call("--url", self.server.url, "--api-key",
                                  KEY, *args, **kw)
        self.assertNotIn(KEY, out + err, "the key was printed")
        return code, out, err

    def record_of(self, communication_id):
        base = os.path.join(self.dir, "records", communication_id)
        deadline = time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline:
            # The writer thread makes the files as the call goes.
            if os.path.exists(base + ".jsonl") and any(
                    e.get("event") == "stop" for e in
                    read_jsonl(base + ".jsonl", allow_partial_last=True)):
                break
            time.sleep(0.1)
        return read_jsonl(base + ".jsonl", allow_partial_last=True), base

    def test_echo_call_with_files_ends_0_after_the_input(self):
        out_wav, events = self.path("out.wav"), self.path("events.jsonl")
        t0 = time.monotonic()
        code, out, err = self.call("--agent", "echo", "--input", self.speech,
                                   "--output", out_wav, "--events", events)
        took = time.monotonic() - t0
        self.assertEqual(code, 0, err)
        s = summary(out)
        self.assertEqual(s["end reason"], "hangup")
        self.assertTrue(harness.is_uuid4(s["communication id"]), s)
        # Hung up 3 s after the 1.2 s input ended, not before.
        self.assertGreater(took, 4.0)
        # The echo is in the output, at 8 kHz.
        channels, rate, _, samples, _ = read_wav(out_wav)
        self.assertEqual((rate, channels), (8000, 1))
        self.assertGreater(len(samples), 8000 * 4)
        self.assertGreater(rms(samples), 300, "no echo in the output")
        # The event log: start out first, then audio as byte counts.
        lines = read_jsonl(events)
        self.assertEqual((lines[0]["dir"], lines[0]["event"]),
                         ("out", "start"))
        audio = [e for e in lines if e["event"] == "audio"]
        self.assertTrue(audio)
        self.assertTrue(all("payload" not in e and e["bytes"] > 0
                            for e in audio))
        marks_in = [e["mark"] for e in lines
                    if e["event"] == "mark" and e["dir"] == "in"]
        marks_out = [e["mark"] for e in lines
                     if e["event"] == "mark" and e["dir"] == "out"]
        self.assertIn("echo-1", marks_in)
        self.assertEqual(marks_in, marks_out, "marks answered in order")
        # The call's last event, then how it ended (issue 10, item 6).
        self.assertEqual(lines[-2]["event"], "stop")
        end = lines[-1]
        self.assertEqual((end["event"], end["reason"], end["close_code"]),
                         ("end", "hangup", 1000), end)
        # Our close after our stop; or the server's, had the closes crossed.
        self.assertEqual(end["dir"], "call", end)
        self.assertIn((end["closed_by"], end["close_reason"]),
                      [("client", ""), ("server", "stop")], end)
        # What the end said before 0.5, then the playout's figures.
        self.assertEqual(set(end), {"t", "dir", "event", "reason",
                                    "close_code", "close_reason",
                                    "closed_by"} | set(PLAYOUT_KEYS))
        times = [e["t"] for e in lines]
        self.assertEqual(times, sorted(times))

    def test_dtmf_schedule_and_pound_on_demo_end_0(self):
        events = self.path("events.jsonl")
        code, out, err = self.call("--agent", "demo", "--input", self.speech,
                                   "--output", self.path("out.wav"),
                                   "--events", events, "--dtmf", "5@0.5,#@1")
        self.assertEqual(code, 0, err)
        self.assertEqual(summary(out)["end reason"], "remote-stop")
        sent = [(e["dtmf"], e["t"]) for e in read_jsonl(events)
                if e["event"] == "dtmf"]
        self.assertEqual([d for d, _ in sent], ["5", "#"])
        self.assertLess(sent[0][1], sent[1][1])

    def test_verbose_names_the_digits_sent(self):
        code, out, err = self.call("--agent", "silent", "--input",
                                   self.speech, "--output",
                                   self.path("o.wav"), "--dtmf", "5@0.1,#@0.2",
                                   "--hangup-after", "0.5", "--verbose")
        self.assertEqual(code, 0, err)
        self.assertEqual(re.findall(r"^-> dtmf(.*)$", err, re.M),
                         [" 5", " #"], err)

    def test_hangup_after_and_header_auth(self):
        t0 = time.monotonic()
        code, out, err = self.call("--agent", "silent", "--auth", "header",
                                   "--input", self.speech, "--output",
                                   self.path("out.wav"), "--hangup-after",
                                   "1.5")
        self.assertEqual(code, 0, err)
        self.assertEqual(summary(out)["end reason"], "hangup")
        self.assertLess(time.monotonic() - t0, 4.0 * SLOW)

    def test_mute_windows_send_silence(self):
        code, out, err = self.call("--agent", "silent", "--input",
                                   self.speech, "--output",
                                   self.path("out.wav"), "--mute", "0-5",
                                   "--hangup-after", "2")
        self.assertEqual(code, 0, err)
        cid = summary(out)["communication id"]
        _, base = self.record_of(cid)
        _, _, _, caller, _ = read_wav(base + ".wav")
        self.assertGreater(len(caller), 8000)
        self.assertEqual(max(abs(s) for s in caller), 0,
                         "caller audio got through while muted")
        frames = int(summary(out)["frames sent"])
        self.assertGreater(frames, 80, "silence must keep flowing")

    def test_from_metadata_synthetic_reach_the_server(self):
        code, out, err = self.call("--agent", "silent", "--input",
                                   self.speech, "--output",
                                   self.path("out.wav"), "--from", "alice",
                                   "--metadata", '{"order": 42}',
                                   "--synthetic", "--hangup-after", "0.5")
        self.assertEqual(code, 0, err)
        lines, _ = self.record_of(summary(out)["communication id"])
        first = lines[0]
        self.assertEqual(first["event"], "connect")
        self.assertEqual(first["from"], "alice")
        self.assertEqual(first["metadata"], {"order": 42})
        self.assertIs(first["synthetic"], True)

    def test_prebuffer_delays_the_first_sound_heard(self):
        """The greeting starts playing once the pre-buffer holds its
        --prebuffer-ms: the first sound in the output file (where the
        loop's clock put it) moves by the time the greeting took to fill
        the pre-buffer, as the event log saw it arrive. That is 1 s when
        the server keeps real time; a server running late sends its
        backlog at once, and the pre-buffer fills sooner."""
        quiet = self.path("quiet.wav")
        write_wav(quiet, [0] * 8000)  # talking would stop the greeting
        onsets, fills = {}, {}
        for ms in (0, 1000):
            out_wav = self.path("pre%d.wav" % ms)
            events = self.path("pre%d.jsonl" % ms)
            code, out, err = self.call("--agent", "demo", "--output",
                                       out_wav, "--input", quiet,
                                       "--events", events,
                                       "--prebuffer-ms", str(ms),
                                       "--hangup-after", "2")
            self.assertEqual(code, 0, err)
            _, _, _, samples, _ = read_wav(out_wav)
            loud = [i for i, v in enumerate(samples) if abs(v) > 500]
            self.assertTrue(loud, "no greeting with --prebuffer-ms %d" % ms)
            onsets[ms] = loud[0] / 8000.0
            got = 0
            for e in read_jsonl(events):
                if e["dir"] == "in" and e.get("event") == "audio":
                    got += e["bytes"]
                    if got >= max(1, ms * 8):
                        fills[ms] = e["t"]
                        break
        self.assertLess(onsets[0], 0.25, onsets)
        # Event times are when the loop read them; the file's are where the
        # loop's 20 ms clock puts them. A loop running late reads events
        # late and catches its clock up (by up to 200 ms), so the sound can
        # come out earlier on the file's clock, never later than a tick.
        moved = (onsets[1000] - onsets[0]) - (fills[1000] - fills[0])
        self.assertTrue(-0.25 < moved < 0.1,
                        "onsets %s, pre-buffer full %s" % (onsets, fills))

    # ---- the playout policy (issue 14) ----

    def playout_call(self, *args, summary_kind="text"):
        """A short call to the demo agent (its greeting plays); returns
        the summary (a dict) and the event log."""
        events = self.path("playout%s.jsonl" % "".join(args))
        quiet = self.path("quiet.wav")
        write_wav(quiet, [0] * 8000)  # talking would stop the greeting
        code, out, err = self.call("--agent", "demo", "--input", quiet,
                                   "--output", self.path("playout.wav"),
                                   "--events", events, "--hangup-after",
                                   "1.5", "--summary", summary_kind, *args)
        self.assertEqual(code, 0, err)
        return (json.loads(out) if summary_kind == "json" else summary(out),
                read_jsonl(events))

    def test_the_summary_gives_the_playout_after_the_lines_it_had(self):
        _, out, err = self.call("--agent", "demo", "--output",
                                self.path("o.wav"), "--input", self.speech,
                                "--hangup-after", "1")
        names = [ln.partition(": ")[0] for ln in out.splitlines()]
        self.assertEqual(names, SUMMARY_LINES + PLAYOUT_LINES, out)
        s = summary(out)
        self.assertEqual(s["playout"], "adaptive")
        for name in PLAYOUT_LINES[1:-1]:
            self.assertGreaterEqual(ms(s[name]), 0, name)
        self.assertGreaterEqual(int(s["late arrivals"]), 0)

    def test_adaptive_is_the_default_and_aims_between_its_bounds(self):
        for args in ((), ("--playout", "adaptive")):
            with self.subTest(args=args):
                s, log = self.playout_call(*args)
                self.assertEqual(s["playout"], "adaptive")
                self.assertTrue(40 <= ms(s["playout target"]) <= 500, s)
                # Silence is concealed in underruns, and only there.
                if int(s["underruns"]) == 0:
                    self.assertEqual(ms(s["concealed"]), 0, s)
                end = log[-1]
                self.assertEqual(end["playout"], "adaptive")
                moves = [e for e in log if e["event"] == "playout"]
                self.assertTrue(moves, "no playout line in the log")
                self.assertTrue(all(e["dir"] == "call" and
                                    40 <= e["playout_target_ms"] <= 500
                                    for e in moves), moves)
                # At most one a second, each a move from the one before.
                for a, b in zip(moves, moves[1:]):
                    self.assertGreaterEqual(b["t"] - a["t"], 0.999)
                    self.assertNotEqual(a["playout_target_ms"],
                                        b["playout_target_ms"])

    def test_fixed_holds_the_prebuffer(self):
        for args, target in ((("--playout", "fixed"), 300),
                             (("--prebuffer-ms", "120"), 120),
                             (("--playout", "fixed", "--prebuffer-ms", "80"),
                              80)):
            with self.subTest(args=args):
                s, log = self.playout_call(*args, summary_kind="json")
                self.assertEqual(list(s)[-len(PLAYOUT_KEYS):], PLAYOUT_KEYS)
                self.assertEqual((s["playout"], s["playout_target_ms"]),
                                 ("fixed", target), s)
                self.assertEqual(s["silence_inserted_ms"], 0, s)
                self.assertEqual(s["silence_dropped_ms"], 0, s)
                end = log[-1]
                self.assertEqual({k: end[k] for k in PLAYOUT_KEYS}.keys(),
                                 set(PLAYOUT_KEYS))
                self.assertEqual((end["playout"], end["playout_target_ms"]),
                                 ("fixed", target))
                # The target never moves: one line says where it is.
                moves = [e["playout_target_ms"] for e in log
                         if e["event"] == "playout"]
                self.assertEqual(moves, [target])

    def test_prebuffer_with_adaptive_is_a_usage_error(self):
        code, out, err = run_call("--playout", "adaptive", "--prebuffer-ms",
                                  "100")
        self.assertEqual(code, 2, err)
        self.assertIn("wvoice call: --prebuffer-ms is the fixed policy's: "
                      "it conflicts with --playout adaptive", err)
        code, out, err = run_call("--playout", "elastic")
        self.assertEqual(code, 2, err)
        self.assertIn("--playout: 'elastic' is not adaptive or fixed", err)

    def test_connect_timeout_gives_up_on_a_silent_server(self):
        """A listener that never answers the handshake: the call gives up
        after --connect-timeout, naming what it waited for."""
        import socket
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        self.addCleanup(lsock.close)
        url = "ws://127.0.0.1:%d" % lsock.getsockname()[1]
        code, out, err = run_call("--url", url, "--api-key", KEY, "--agent",
                                  "echo", "--input", self.speech,
                                  "--output", self.path("o.wav"),
                                  "--connect-timeout", "0.5")
        self.assertEqual(code, 1, err)
        self.assertIn("no WebSocket handshake within 500 ms", err)
        self.assertEqual(summary(out)["end reason"], "error")
        for bad in ("0", "61", "x"):
            code, _, err = run_call("--connect-timeout", bad)
            self.assertEqual(code, 2, err)

    def test_refusals_exit_3(self):
        for args in (("--agent", "echo", "--api-key", "wrong-key"),
                     ("--agent", "nobody")):
            with self.subTest(args=args):
                code, out, err = run_call(
                    "--url", self.server.url, "--api-key", KEY, *args,
                    "--input", self.speech, "--output", self.path("o.wav"))
                self.assertEqual(code, 3, err)
                self.assertIn("handshake refused", err)
                self.assertNotIn("wrong-key", out + err)

    def test_nothing_listening_exits_1(self):
        code, out, err = run_call("--url", "ws://127.0.0.1:1", "--api-key",
                                  KEY, "--agent", "echo", "--input",
                                  self.speech, "--output", self.path("o.wav"))
        self.assertEqual(code, 1)
        self.assertIn("cannot connect", err)

    def test_a_name_that_does_not_resolve_exits_1(self):
        # A 64-byte label is not a DNS name: the resolver fails it on this
        # machine, without a query leaving it.
        host = "a" * 64 + ".invalid"
        code, out, err = run_call("--url", "ws://%s:8765" % host,
                                  "--api-key", KEY, "--agent", "echo",
                                  "--input", self.speech,
                                  "--output", self.path("o.wav"))
        self.assertEqual(code, 1, err)
        self.assertIn("cannot resolve %s" % host, err)
        self.assertEqual(summary(out)["end reason"], "error")
        self.assertNotIn(KEY, out + err)

    def test_usage_errors_exit_2(self):
        for args in (("--url", self.server.url, "--api-key", KEY),
                     ("--url", self.server.url, "--agent", "echo"),
                     ("--dtmf", "x@1"), ("--mute", "3-2"),
                     ("--auth", "cookie"), ("--prebuffer-ms", "-1"),
                     ("--playout", "elastic"), ("--playout",),
                     ("--connect-timeout", "0"),
                     ("--connect-timeout", "61"), ("--bogus",), ("extra",)):
            with self.subTest(args=args):
                code, out, err = run_call(*args)
                self.assertEqual(code, 2, err)
                self.assertIn("wvoice call:", err)

    def test_each_bad_setting_says_what_is_wrong(self):
        url = self.server.url
        for flag, value, says in (
                ("--url", "http://h", 'url "http://h": a call\'s URL is ws:// '
                 "or wss:// (ws:// where it says http://)"),
                ("--url", "WS://h", "the scheme is lower case: ws://"),
                ("--url", "127.0.0.1:8765", "has no scheme: "
                 "ws://127.0.0.1:8765 or wss://127.0.0.1:8765?"),
                ("--url", "ws://h:99999", "the port is from 1 to 65535"),
                ("--metadata", "notjson", "metadata is not JSON: "),
                ("--metadata", "[1]", "metadata is a JSON array; it must be "
                 "an object")):
            with self.subTest(value=value):
                args = {"--url": url, "--metadata": "{}"}
                args[flag] = value
                code, out, err = run_call(
                    "--url", args["--url"], "--metadata", args["--metadata"],
                    "--agent", "echo", "--api-key", KEY, "--output",
                    self.path("o.wav"))
                self.assertEqual(code, 2, err)
                self.assertIn("wvoice call: ", err)
                self.assertIn(says, err)
                self.assertNotIn(KEY, err)

    def test_interrupted_before_the_call_is_confirmed_exits_130(self):
        # A server that takes the connection and never answers: Ctrl-C
        # finds the call still connecting, so no call was made.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            s.settimeout(20 * SLOW)
            env = dict(os.environ)
            env.pop("WVOICE_API_KEY", None)
            p = subprocess.Popen(
                [harness.binary(), "call", "--url",
                 "ws://127.0.0.1:%d" % s.getsockname()[1], "--agent", "echo",
                 "--api-key", KEY, "--output", self.path("o.wav")],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, env=env)
            try:
                conn, _ = s.accept()
                with conn:
                    p.send_signal(signal.SIGINT)
                    out, err = p.communicate(timeout=20 * SLOW)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("communication id: -", out)

    def test_devices_help_and_version_answer_as_themselves(self):
        def run(*args):
            p = subprocess.run([harness.binary()] + list(args),
                               stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=20 * SLOW)
            return p.returncode, p.stdout, p.stderr

        code, out, err = run("devices", "--bogus")
        self.assertEqual(code, 2, err)
        self.assertIn("wvoice devices: unexpected argument '--bogus'", err)
        self.assertIn("Try 'wvoice devices --help'", err)
        self.assertNotIn("wvoice call", err)
        for command in ("call", "serve", "demo", "devices"):
            code, out, err = run("help", command)
            self.assertEqual(code, 0, err)
            self.assertIn("usage: wvoice " + command, out)
        code, out, err = run("help", "nope")
        self.assertEqual(code, 2, err)
        self.assertIn("no command 'nope'", err)
        for command in ("call", "serve"):
            code, out, err = run(command, "--version")
            self.assertEqual(code, 0, err)
            self.assertRegex(out.splitlines()[0], r"^wvoice \d+\.\d+\.\d+$")

    def test_the_whole_endpoint_pasted_as_url(self):
        url = self.server.url + "/telephony/websocket/call"
        code, out, err = run_call("--url", url, "--agent", "silent",
                                  "--api-key", KEY, "--input", self.speech,
                                  "--output", self.path("o.wav"),
                                  "--hangup-after", "0.3", "--verbose")
        self.assertEqual(code, 0, err)
        # --verbose shows what was requested: the call path once.
        self.assertIn("calling %s/telephony/websocket/call?agent_id=silent"
                      % self.server.url, err)
        self.assertNotIn(KEY, err)

    # ---- what scripts expect (issue 10) ----

    def test_events_to_standard_output_and_a_json_summary(self):
        code, out, err = self.call("--agent", "silent", "--input",
                                   self.speech, "--output", self.path("o.wav"),
                                   "--hangup-after", "0.5", "--events", "-",
                                   "--summary", "json")
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists("-"), "a file named - was made")
        # Standard output is the event log alone, every line JSON...
        lines = [json.loads(ln) for ln in out.splitlines()]
        self.assertEqual((lines[0]["dir"], lines[0]["event"]), ("out", "start"))
        self.assertEqual(lines[-1]["event"], "end")
        # ...and the summary, one JSON object, went to standard error.
        objs = [json.loads(ln) for ln in err.splitlines()
                if ln.startswith("{")]
        self.assertEqual(len(objs), 1, err)
        s = objs[0]
        # The members there before 0.5 first, as they were; then the
        # playout's.
        self.assertEqual(list(s), [
            "communication_id", "duration_ms", "frames_sent",
            "frames_received", "marks", "underruns", "end_reason",
            "close_code", "close_reason", "closed_by", "error",
            "exit_status"] + PLAYOUT_KEYS)
        self.assertEqual(len(s["communication_id"]), 36)
        self.assertEqual((s["end_reason"], s["close_code"], s["error"],
                          s["exit_status"]), ("hangup", 1000, None, 0))
        self.assertGreaterEqual(s["duration_ms"], 500)
        self.assertEqual(s["frames_sent"],
                         len([e for e in lines if e["event"] == "audio"
                              and e["dir"] == "out"]))

    def test_a_json_summary_of_a_refused_call(self):
        code, out, err = run_call("--url", self.server.url, "--agent",
                                  "nobody-here", "--api-key", KEY,
                                  "--input", self.speech, "--summary", "json",
                                  "--output", self.path("o.wav"))
        self.assertEqual(code, 3, err)
        s = json.loads(out)
        self.assertEqual((s["communication_id"], s["end_reason"],
                          s["close_code"], s["closed_by"], s["exit_status"]),
                         (None, "error", None, "none", 3))
        self.assertRegex(s["error"], r"handshake refused: 404")

    def test_summary_takes_text_or_json(self):
        code, out, err = run_call("--summary", "xml")
        self.assertEqual(code, 2)
        self.assertIn("--summary: 'xml' is not text or json", err)

    def test_key_from_a_file_or_standard_input(self):
        key_file = self.path("key")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        args = ["--url", self.server.url, "--agent", "silent", "--input",
                self.speech, "--output", self.path("o.wav"),
                "--hangup-after", "0.3"]
        code, out, err = run_call(*args, "--api-key-file", key_file)
        self.assertEqual(code, 0, err)
        p = subprocess.run([harness.binary(), "call"] + args +
                           ["--api-key-file", "-"], input=KEY + "\r\n",
                           capture_output=True, text=True, timeout=30 * SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(KEY, p.stdout + p.stderr)
        code, out, err = run_call(*args, "--api-key-file", key_file,
                                  "--api-key", KEY)
        self.assertEqual(code, 2)
        self.assertIn("--api-key and --api-key-file conflict", err)
        code, out, err = run_call(*args, "--api-key-file", self.path("none"))
        self.assertEqual(code, 2)
        self.assertIn("cannot read the key from %s: No such file"
                      % self.path("none"), err)
        empty = self.path("empty")
        open(empty, "w").close()
        code, out, err = run_call(*args, "--api-key-file", empty)
        self.assertEqual(code, 2)
        self.assertIn("no key on the first line of " + empty, err)

    def test_url_from_the_environment(self):
        code, out, err = run_call("--agent", "silent", "--input", self.speech,
                                  "--output", self.path("o.wav"),
                                  "--hangup-after", "0.3", "--verbose",
                                  env={"WVOICE_URL": self.server.url,
                                       "WVOICE_API_KEY": KEY})
        self.assertEqual(code, 0, err)
        self.assertIn("calling %s/telephony/websocket/call?agent_id=silent"
                      % self.server.url, err)
        code, out, err = run_call(env={"WVOICE_URL": self.server.url,
                                       "WVOICE_API_KEY": KEY})
        self.assertEqual(code, 2)
        self.assertIn("--agent is required", err)

    def test_key_from_the_environment(self):
        code, out, err = run_call("--url", self.server.url, "--agent",
                                  "silent", "--input", self.speech,
                                  "--output", self.path("o.wav"),
                                  "--hangup-after", "0.3",
                                  env={"WVOICE_API_KEY": KEY})
        self.assertEqual(code, 0, err)


class Local(ServeTest):
    """Without --url the call runs the built-in agent in-process."""

    start_server = False
    temp_dir = "local"

    def test_no_url_calls_the_local_demo_agent(self):
        src = os.path.join(self.dir, "speech.wav")
        write_wav(src, speech(1.0, seed=4))
        out_wav = os.path.join(self.dir, "out.wav")
        code, out, err = run_call("--input", src, "--output", out_wav,
                                  "--dtmf", "#@1.5")
        self.assertEqual(code, 0, err)
        self.assertEqual(summary(out)["end reason"], "remote-stop")
        _, _, _, samples, _ = read_wav(out_wav)
        self.assertGreater(rms(samples), 300, "the demo agent said nothing")


class Headless(ServeTest):
    """A machine without audio devices is normal for this tool (issue 10):
    one quiet line, or none when a file stands in for a device."""

    start_server = False
    temp_dir = "headless"

    def setUp(self):
        super().setUp()
        # Machines here have no sound card. (An empty ALSA_CONFIG_PATH
        # would make sure, but Debian's PortAudio 19.7 asserts on it.)
        self.env = {}
        p = subprocess.run([harness.binary(), "devices", "--json"],
                           capture_output=True, text=True, env=dict(
                               os.environ, **self.env), timeout=30 * SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        if json.loads(p.stdout) != []:
            self.skipTest("audio devices despite an empty ALSA "
                          "configuration: %s" % p.stdout)

    def device_lines(self, *args):
        code, out, err = run_call("--hangup-after", "0.5", *args,
                                  env=self.env)
        self.assertEqual(code, 0, err)
        return [ln for ln in err.splitlines() if "device" in ln]

    def test_one_line_without_files(self):
        self.assertEqual(self.device_lines(), [
            "wvoice call: no audio devices: silence goes out and the agent "
            "is not heard"])

    def test_nothing_said_when_a_file_stands_in(self):
        out_wav = os.path.join(self.dir, "o.wav")
        self.assertEqual(self.device_lines("--output", out_wav), [])
        src = os.path.join(self.dir, "in.wav")
        write_wav(src, speech(0.3, seed=2))
        self.assertEqual(self.device_lines("--input", src), [])

    def test_devices_lists_none_as_text_and_json(self):
        for args, want in ((("devices",), "no audio devices\n"),
                           (("devices", "--json"), "[]\n")):
            p = subprocess.run([harness.binary()] + list(args),
                               capture_output=True, text=True,
                               env=dict(os.environ, **self.env),
                               timeout=30 * SLOW)
            self.assertEqual((p.returncode, p.stdout), (0, want), p.stderr)


if __name__ == "__main__":
    sys.exit(harness.main())
