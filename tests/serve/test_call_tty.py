#!/usr/bin/env python3
"""`wvoice call` on a terminal, driven through tmux: the status line, the
keys (digits, m to mute, q to hang up) and the summary."""

import os
import shutil
import subprocess
import sys
import time
import unittest

import harness
from harness import SLOW, ServeTest
from test_records import read_jsonl


def tmux(*args):
    return subprocess.run(["tmux", "-L", "wvoice-test"] + list(args),
                          capture_output=True, text=True, check=False)


class Terminal(ServeTest):
    start_server = False
    temp_dir = "tty"

    def screen(self):
        return tmux("capture-pane", "-p", "-t", "call").stdout

    def wait_screen(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if text in self.screen():
                return
            time.sleep(0.1)
        self.fail("%r never showed; the screen:\n%s" % (text, self.screen()))

    @unittest.skipUnless(shutil.which("tmux"), "tmux is not installed")
    def test_keys_and_status_line(self):
        events = os.path.join(self.dir, "events.jsonl")
        cmd = "%s call --events %s; echo EXIT=$?; sleep 60" % (
            harness.binary(), events)
        tmux("kill-server")
        self.addCleanup(tmux, "kill-server")
        r = tmux("new-session", "-d", "-s", "call", "-x", "120", "-y", "24",
                 cmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_screen("keys: m mute, 0-9 * # digits, q hang up")
        self.wait_screen("connected 00:0")
        tmux("send-keys", "-t", "call", "5")
        tmux("send-keys", "-t", "call", "m")
        self.wait_screen("MUTED")
        tmux("send-keys", "-t", "call", "m")
        tmux("send-keys", "-t", "call", "q")
        self.wait_screen("EXIT=0")
        screen = self.screen()
        self.assertIn("end reason: hangup", screen)
        self.assertIn("communication id: ", screen)
        lines = read_jsonl(events)
        self.assertIn(("out", "dtmf", "5"),
                      [(e["dir"], e["event"], e.get("dtmf")) for e in lines])
        self.assertEqual((lines[-1]["dir"], lines[-1]["event"]),
                         ("out", "stop"))


if __name__ == "__main__":
    sys.exit(harness.main())
