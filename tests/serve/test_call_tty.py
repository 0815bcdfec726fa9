#!/usr/bin/env python3
"""`wvoice call` on a terminal, driven through tmux: the status line, the
keys (digits, m to mute, q to hang up) and the summary."""

import math
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

import harness
from harness import KEY, SLOW, ServeTest
from test_records import read_jsonl, read_wav
from test_script import write_wav


class Tmux:
    """A `wvoice call` running in a tmux pane, on a tmux server of the
    test class's own (the classes run at once)."""

    def tmux(self, *args):
        sock = "wvoice-test-%s-%d" % (type(self).__name__, os.getpid())
        return subprocess.run(["tmux", "-L", sock] + list(args),
                              capture_output=True, text=True, check=False)

    def start(self, cmd):
        self.tmux("kill-server")
        self.addCleanup(self.tmux, "kill-server")
        r = self.tmux("new-session", "-d", "-s", "call", "-x", "120", "-y",
                      "24", cmd)
        self.assertEqual(r.returncode, 0, r.stderr)

    def keys(self, *keys):
        for k in keys:
            self.tmux("send-keys", "-t", "call", k)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "call").stdout

    def wait_screen(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if text in self.screen():
                return
            time.sleep(0.1)
        self.fail("%r never showed; the screen:\n%s" % (text, self.screen()))

    def wait_gone(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if text not in self.screen():
                return
            time.sleep(0.1)
        self.fail("%r stayed; the screen:\n%s" % (text, self.screen()))


class Terminal(Tmux, ServeTest):
    start_server = False
    temp_dir = "tty"

    @unittest.skipUnless(shutil.which("tmux"), "tmux is not installed")
    def test_keys_and_status_line(self):
        events = os.path.join(self.dir, "events.jsonl")
        cmd = "%s call --events %s; echo EXIT=$?; sleep 60" % (
            harness.binary(), events)
        self.start(cmd)
        self.wait_screen("keys: m mute, 0-9 * # digits, q hang up")
        self.wait_screen("connected 00:0")
        self.keys("5", "m")
        self.wait_screen("MUTED")
        self.keys("m", "q")
        self.wait_screen("EXIT=0")
        screen = self.screen()
        self.assertIn("end reason: hangup", screen)
        self.assertIn("communication id: ", screen)
        lines = read_jsonl(events)
        self.assertIn(("out", "dtmf", "5"),
                      [(e["dir"], e["event"], e.get("dtmf")) for e in lines])
        self.assertEqual((lines[-2]["dir"], lines[-2]["event"]),
                         ("out", "stop"))
        self.assertEqual((lines[-1]["event"], lines[-1]["reason"]),
                         ("end", "hangup"))


def longest_zero_run(samples):
    best = run = 0
    for x in samples:
        run = run + 1 if x == 0 else 0
        best = max(best, run)
    return best


class TerminalMute(Tmux, ServeTest):
    """The m key mutes what goes out until it is pressed again, as the
    server hears it."""

    temp_dir = "tty-mute"

    @classmethod
    def prepare(cls):
        cls.records = os.path.join(cls.dir, "records")
        cls.server_args = ("--record", cls.records)
        # A steady tone: no run of zero samples longer than one.
        cls.tone = os.path.join(cls.dir, "tone.wav")
        write_wav(cls.tone, [round(8000 * math.sin(2 * math.pi * 410 * i /
                                                   8000))
                             for i in range(30 * 8000)])

    @unittest.skipUnless(shutil.which("tmux"), "tmux is not installed")
    def test_m_mutes_what_the_server_hears(self):
        self.start("WVOICE_API_KEY=%s %s call --url %s --agent silent "
                   "--input %s; echo EXIT=$?; sleep 60"
                   % (KEY, harness.binary(), self.server.url, self.tone))
        self.wait_screen("connected 00:0")
        time.sleep(1.0)
        self.keys("m")
        self.wait_screen("MUTED")
        time.sleep(1.5)
        self.keys("m")
        self.wait_gone("MUTED")
        time.sleep(1.0)
        self.keys("q")
        self.wait_screen("EXIT=0")
        cid = re.search(r"communication id: (\S+)", self.screen()).group(1)
        base = os.path.join(self.records, cid)
        deadline = time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline and not any(
                e.get("event") == "stop" for e in
                read_jsonl(base + ".jsonl", allow_partial_last=True)):
            time.sleep(0.1)
        _, rate, _, caller, _ = read_wav(base + ".wav")
        self.assertEqual(rate, 8000)
        zeros = longest_zero_run(caller)
        # 1.5 s muted, give or take the keys' and the screen's delays.
        self.assertGreater(zeros, 1.0 * rate, "m did not mute")
        self.assertLess(zeros, 3.0 * SLOW * rate, "m did not unmute")
        start = next(i for i in range(len(caller))
                     if caller[i:i + zeros] == [0] * zeros)
        self.assertTrue(any(caller[:start]), "nothing before the mute")
        self.assertTrue(any(caller[start + zeros:]),
                        "the tone did not come back after the mute")


if __name__ == "__main__":
    sys.exit(harness.main())
