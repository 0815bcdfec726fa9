#!/usr/bin/env python3
"""The load report from outside, as the test program loadreport_sample
(built beside the command) writes the fixture run: the JSON against its
documented schema, doc/load-report.schema.json (JSON Schema draft
2020-12, checked with python3-jsonschema): a run's report, its two
shards' and their merge by `wvoice load merge`, each valid; every field
of the schema has a description; the merge of the shards has the whole
run's figures. And the page (`--html`) in Debian's chromium, headless,
with no network: Chart.js, inlined, draws every plot and the page logs
no error (skipped when the charting library is not fetched, make deps,
or chromium is missing).

Run: python3 test_load_schema.py [path/to/loadreport_sample] (or
WVOICE_BIN=path/to/wvoice, the program being beside it); CHROMIUM names
the browser (default /usr/bin/chromium).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "doc", "load-report.schema.json")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def sample_program():
    if len(sys.argv) > 1:
        return os.path.abspath(sys.argv[1])
    wvoice = os.environ.get("WVOICE_BIN") or os.path.join(
        HERE, "..", "..", "build", "wvoice")
    return os.path.join(os.path.dirname(os.path.abspath(wvoice)),
                        "loadreport_sample")


def undescribed(node, path="#"):
    """The paths of the schema's properties and definitions that have no
    description."""
    missing = []
    if isinstance(node, dict):
        for key in ("properties", "$defs"):
            for name, sub in node.get(key, {}).items():
                where = "%s/%s/%s" % (path, key, name)
                if not isinstance(sub, dict) or "description" not in sub:
                    missing.append(where)
                missing += undescribed(sub, where)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                missing += undescribed(node[key], path + "/" + key)
        for i, sub in enumerate(node.get("prefixItems", [])):
            if "description" not in sub:
                missing.append("%s/prefixItems/%d" % (path, i))
    return missing


def write_sample(directory):
    """The fixture run's files into directory; returns the merge's table."""
    p = subprocess.run([sample_program(), directory], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError("loadreport_sample failed: %s" % p.stderr)
    return p.stdout


class LoadReportSchema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(SCHEMA) as f:
            cls.schema = json.load(f)
        cls.tmp = tempfile.TemporaryDirectory(prefix="wv-load-schema-")
        cls.table = write_sample(cls.tmp.name)
        cls.reports = {}
        for name in ("whole", "shard0", "shard1", "merged"):
            with open(os.path.join(cls.tmp.name, name + ".json")) as f:
                cls.reports[name] = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_the_schema_is_a_valid_draft_2020_12_schema(self):
        jsonschema.Draft202012Validator.check_schema(self.schema)

    def test_every_field_is_described(self):
        self.assertEqual(undescribed(self.schema), [])

    def test_reports_are_valid(self):
        validator = jsonschema.Draft202012Validator(self.schema)
        for name, report in self.reports.items():
            errors = ["%s: %s" % ("/".join(map(str, e.absolute_path)),
                                  e.message)
                      for e in validator.iter_errors(report)]
            self.assertEqual(errors, [], name)

    def test_the_schema_refuses_what_is_not_a_report(self):
        validator = jsonschema.Draft202012Validator(self.schema)
        bad = json.loads(json.dumps(self.reports["whole"]))
        bad["metrics"]["turn_ms"]["p99"] = "fast"
        del bad["counts"]["calls_failed"]
        bad["config"]["playout"] = "elastic"
        bad["surprise"] = 1
        paths = sorted("/".join(map(str, e.absolute_path))
                       for e in validator.iter_errors(bad))
        self.assertEqual(paths, ["", "config/playout", "counts",
                                 "metrics/turn_ms/p99"])

    def test_the_merge_of_the_shards_is_the_whole_run(self):
        whole, merged = self.reports["whole"], self.reports["merged"]
        for key in ("config", "counts", "metrics", "errors", "close_codes",
                    "series", "calls", "started_unix_ms", "wall_s",
                    "version"):
            self.assertEqual(merged[key], whole[key], key)
        self.assertEqual(merged["shards"],
                         {"index": None, "count": 2, "merged": 2})
        self.assertIn("(merged)", self.table)
        self.assertIn("client's view", self.table)


class LoadReportPage(unittest.TestCase):
    def test_every_plot_is_drawn_offline_without_errors(self):
        if not os.access(CHROMIUM, os.X_OK):
            self.skipTest("no chromium at " + CHROMIUM)
        with tempfile.TemporaryDirectory(prefix="wv-load-html-") as tmp:
            write_sample(tmp)
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
            # Calls, latency, twelve histograms, errors.
            self.assertEqual(len(canvases), 15, canvases)
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
