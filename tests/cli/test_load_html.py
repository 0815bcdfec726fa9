#!/usr/bin/env python3
"""The load report's page (`--html`) in Debian's chromium, headless, with
no network: Chart.js, inlined, draws every plot (each canvas sized by
it), and the page logs no error. The page is the fixture run's, written
by the test program loadreport_sample beside the command; skipped when
the charting library has not been fetched (make deps) or chromium is
missing.

Run: python3 test_load_html.py [path/to/loadreport_sample] (or
WVOICE_BIN=path/to/wvoice, the program being beside it); CHROMIUM names
the browser (default /usr/bin/chromium).
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def sample_program():
    if len(sys.argv) > 1:
        return os.path.abspath(sys.argv[1])
    wvoice = os.environ.get("WVOICE_BIN") or os.path.join(
        HERE, "..", "..", "build", "wvoice")
    return os.path.join(os.path.dirname(os.path.abspath(wvoice)),
                        "loadreport_sample")


class LoadReportPage(unittest.TestCase):
    def test_every_plot_is_drawn_offline_without_errors(self):
        if not os.access(CHROMIUM, os.X_OK):
            self.skipTest("no chromium at " + CHROMIUM)
        with tempfile.TemporaryDirectory(prefix="wv-load-html-") as tmp:
            p = subprocess.run([sample_program(), tmp], capture_output=True,
                               text=True, timeout=120,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, p.stderr)
            page = os.path.join(tmp, "whole.html")
            if not os.path.exists(page):
                self.skipTest("the charting library is not fetched "
                              "(make deps)")
            # A proxy that does not exist: any request the page made
            # would fail and be logged.
            p = subprocess.run(
                [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                 "--user-data-dir=" + os.path.join(tmp, "profile"),
                 "--proxy-server=127.0.0.1:9", "--enable-logging=stderr",
                 "--v=0", "--window-size=1200,2400", "--dump-dom",
                 "file://" + page],
                capture_output=True, text=True, timeout=120,
                stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            dom = p.stdout
            canvases = re.findall(r"<canvas[^>]*>", dom)
            # Calls, latency, ten histograms, errors.
            self.assertEqual(len(canvases), 13, canvases)
            for c in canvases:
                self.assertIn("role=\"img\"", c)
                self.assertRegex(c, r"aria-label=\"[^\"]+\"")
                # Chart.js sizes each canvas it draws on.
                self.assertRegex(c, r"style=\"[^\"]*height: [1-9][0-9.]*px",
                                 c)
            console = [line for line in p.stderr.splitlines()
                       if "CONSOLE" in line or "Uncaught" in line]
            self.assertEqual(console, [])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
