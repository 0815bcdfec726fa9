#!/usr/bin/env python3
"""The load report's JSON against its documented schema,
doc/load-report.schema.json (JSON Schema draft 2020-12, checked with
python3-jsonschema): a run's report, its two shards' and their merge by
`wvoice load merge` (all written by the test program loadreport_sample,
built beside the command), each valid; every field of the schema has a
description; the merge of the shards has the whole run's figures.

Run: python3 test_load_schema.py [path/to/loadreport_sample] (or
WVOICE_BIN=path/to/wvoice, the program being beside it).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "doc", "load-report.schema.json")


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


class LoadReportSchema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(SCHEMA) as f:
            cls.schema = json.load(f)
        cls.tmp = tempfile.TemporaryDirectory(prefix="wv-load-schema-")
        p = subprocess.run([sample_program(), cls.tmp.name],
                           capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise AssertionError("loadreport_sample failed: %s" % p.stderr)
        cls.table = p.stdout
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
        bad["surprise"] = 1
        paths = sorted("/".join(map(str, e.absolute_path))
                       for e in validator.iter_errors(bad))
        self.assertEqual(paths, ["", "counts", "metrics/turn_ms/p99"])

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


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
