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

    def start(self, cmd, width=120):
        self.tmux("kill-server")
        self.addCleanup(self.tmux, "kill-server")
        r = self.tmux("new-session", "-d", "-s", "call", "-x", str(width),
                      "-y", "24", cmd)
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


class NarrowTerminal(Tmux, ServeTest):
    """The status line fits the terminal's width, follows it when it
    changes, and shows a digit as it is sent (issue 10, item 9)."""

    start_server = False
    temp_dir = "tty-narrow"

    def status_rows(self):
        return [ln for ln in self.screen().splitlines()
                if ln.startswith("connected ")]

    @unittest.skipUnless(shutil.which("tmux"), "tmux is not installed")
    def test_the_status_line_fits_and_follows_the_width(self):
        self.start("%s call; echo EXIT=$?; sleep 60" % harness.binary(),
                   width=50)
        self.wait_screen("connected 00:0")
        # Redrawn five times a second for a while: still one row, in 49
        # columns (a wrapped line would scroll a row more each time).
        time.sleep(1.5)
        rows = self.status_rows()
        self.assertEqual(len(rows), 1, self.screen())
        self.assertLessEqual(len(rows[0]), 49, rows)
        self.assertIn(" in ", rows[0], "room for the input level")
        self.keys("5")
        self.wait_screen(" dtmf 5")
        self.wait_gone(" dtmf 5", timeout=4)
        self.tmux("resize-window", "-t", "call", "-x", "24", "-y", "24")
        deadline = time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline:
            rows = self.status_rows()
            if rows and len(rows[-1]) <= 23 and " in " not in rows[-1]:
                break
            time.sleep(0.1)
        self.assertLessEqual(len(rows[-1]), 23, self.screen())
        self.assertRegex(rows[-1], r"^connected \d\d:\d\d$")
        self.keys("q")
        self.wait_screen("EXIT=0")


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
