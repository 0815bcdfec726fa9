#!/usr/bin/env python3
"""The two JSON-lines formats against their schemas (issue 13, "Record
formats"): every line of real recordings (`wvoice serve --record`) and real
event logs (`wvoice call --events`, `wvoice demo`'s demo-call.jsonl) is
valid against doc/record.schema.json or doc/call-events.schema.json (JSON
Schema 2020-12, checked with python3-jsonschema): calls with marks, a
clear, digits and a hang-up, a refused call, a server's bad frames and
close, a client's bad frames, a log cut at its bound. Every line has t,
dir and event, and dir "in" is only ever what the peer sent.

Run: python3 test_event_schemas.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import json
import os
import subprocess
import time

import jsonschema

import badserver as B
import harness
from harness import KEY, SLOW, ServeTest, speech
from test_call import run_call, summary
from test_records import b64url, read_jsonl
from test_script import write_wav

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "doc")

# An agent that says something, marks it, clears it, says more, waits for
# the mark after the clear and hangs up.
SCRIPT = [
    {"say": "One two three"},
    {"mark": "before-clear"},
    {"clear": True},
    {"say": "Four"},
    {"mark": "after-clear"},
    {"wait_mark": "after-clear", "timeout_ms": 8000},
    {"hangup": True},
]


def load_schema(name):
    with open(os.path.join(DOC, name), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def undescribed(node, path="#"):
    """Properties, definitions and branches of the schema with no
    description (a `true` member stands for one described above)."""
    missing = []
    if not isinstance(node, dict):
        return missing
    for key in ("properties", "$defs"):
        for name, sub in node.get(key, {}).items():
            where = "%s/%s/%s" % (path, key, name)
            if sub is True:
                continue
            if not isinstance(sub, dict) or "description" not in sub:
                missing.append(where)
            missing += undescribed(sub, where)
    for i, sub in enumerate(node.get("allOf", [])):
        missing += undescribed(sub.get("then", {}),
                               "%s/allOf/%d/then" % (path, i))
    return missing


class Schemas(ServeTest):
    concurrent = True
    temp_dir = "schemas"

    @classmethod
    def prepare(cls):
        script = os.path.join(cls.dir, "flow.json")
        with open(script, "w") as f:
            json.dump(SCRIPT, f)
        cls.records = os.path.join(cls.dir, "records")
        cls.server_args = ("--record", cls.records,
                           "--script", "flow=" + script)
        cls.speech = os.path.join(cls.dir, "speech.wav")
        write_wav(cls.speech, speech(1.0, seed=21))
        cls.record_schema = load_schema("record.schema.json")
        cls.events_schema = load_schema("call-events.schema.json")

    def path(self, name):
        return os.path.join(self.dir, "%s-%s" % (self.id().split(".")[-1],
                                                 name))

    def assert_valid(self, validator, lines, what):
        """Every line valid, times in order, and "call" lines for the
        log's own lines alone."""
        self.assertTrue(lines, "%s is empty" % what)
        last = 0
        for i, e in enumerate(lines):
            errors = sorted(validator.iter_errors(e), key=str)
            self.assertEqual(errors, [], "%s line %d: %s" % (what, i + 1, e))
            self.assertGreaterEqual(e["t"], last, "%s: time went back" % what)
            last = e["t"]

    def record_of(self, cid):
        """The server's record of a call, once it holds the end."""
        path = os.path.join(self.records, cid + ".jsonl")
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            if os.path.exists(path):
                lines = read_jsonl(path, allow_partial_last=True)
                if lines and lines[-1].get("event") == "end":
                    return lines
            time.sleep(0.1)
        self.fail("no complete record of %s" % cid)

    def call(self, *args):
        events = self.path("events.jsonl")
        code, out, err = run_call("--url", self.server.url, "--api-key",
                                  KEY, "--events", events, "--output",
                                  self.path("out.wav"), *args)
        self.assertNotIn(KEY, out + err)
        return code, summary(out), read_jsonl(events), err

    # ---- the schemas themselves ----

    def test_every_field_is_described(self):
        for validator in (self.record_schema, self.events_schema):
            self.assertEqual(undescribed(validator.schema), [])

    def test_the_schemas_refuse_what_is_not_a_line(self):
        bad = [
            {"dir": "in", "event": "stop"},                      # no t
            {"t": 1, "event": "stop"},                           # no dir
            {"t": 1, "dir": "in"},                               # no event
            {"t": 1, "dir": "sideways", "event": "stop"},
            {"t": 1, "dir": "call", "event": "start"},
            {"t": 1, "dir": "in", "error": "x"},                 # old errors
            {"t": 1, "dir": "call", "event": "error"},
            {"t": 1, "dir": "in", "event": "audio", "payload": "/w=="},
            {"t": 1, "dir": "out", "event": "dtmf", "dtmf": "x"},
            {"t": 1, "dir": "call", "event": "end", "reason": "hangup",
             "close_code": 1000, "close_reason": ""},            # no closed_by
        ]
        playout = [
            {"t": 1, "dir": "call", "event": "playout"},         # no figures
            {"t": 1, "dir": "call", "event": "playout",
             "playout_target_ms": 80, "playout_delay_ms": -1, "jitter_ms": 2},
            {"t": 1, "dir": "in", "event": "playout"},           # not ours
            {"t": 1, "dir": "call", "event": "end", "reason": "hangup",
             "close_code": 1000, "close_reason": "", "closed_by": "client",
             "playout": "elastic"},
            {"t": 1, "dir": "call", "event": "end", "reason": "hangup",
             "close_code": 1000, "close_reason": "", "closed_by": "client",
             "concealed_ms": 2.5},
        ]
        for line in playout:
            with self.subTest(line=line):
                if line["dir"] == "in":
                    # dir in is the server's: any event it sends.
                    self.assertTrue(self.events_schema.is_valid(line))
                else:
                    self.assertFalse(self.events_schema.is_valid(line))
        for validator in (self.record_schema, self.events_schema):
            for line in bad:
                with self.subTest(schema=validator.schema["title"],
                                  line=line):
                    self.assertFalse(validator.is_valid(line))

    # ---- real calls ----

    def test_a_call_with_marks_a_clear_and_digits(self):
        code, s, log, err = self.call(
            "--agent", "flow", "--input", self.speech, "--dtmf", "5@0.2",
            "--from", "\u00e9" * 70, "--metadata", '{"k": 1}',
            "--synthetic", "--hangup-after", "20")
        self.assertEqual(code, 0, err)
        self.assertEqual(s["end reason"], "remote-stop", s)
        self.assert_valid(self.events_schema, log, "--events")
        names = [(e["dir"], e["event"]) for e in log]
        for want in (("out", "start"), ("in", "start"), ("in", "clear"),
                     ("in", "mark"), ("out", "mark"), ("out", "dtmf"),
                     ("in", "stop"), ("call", "playout"), ("call", "end")):
            self.assertIn(want, names)
        self.assertEqual(names[-1], ("call", "end"))
        # The playout's figures at the end (issue 14), the default's.
        self.assertEqual(log[-1]["playout"], "adaptive")
        self.assertIn("concealed_ms", log[-1])
        rec = self.record_of(s["communication id"])
        self.assert_valid(self.record_schema, rec, "the record")
        self.assertEqual(rec[0]["event"], "connect")
        self.assertEqual(rec[0]["from"], "\u00e9" * 63)
        self.assertEqual(rec[0]["metadata"], {"k": 1})
        self.assertEqual(rec[-1]["event"], "end")
        names = {(e["dir"], e["event"]) for e in rec}
        self.assertLessEqual({("out", "clear"), ("in", "dtmf"),
                              ("in", "mark"), ("out", "mark")}, names)

    def test_a_refused_call(self):
        code, s, log, err = self.call("--agent", "nobody-here")
        self.assertEqual(code, 3, err)
        self.assert_valid(self.events_schema, log, "--events")
        self.assertEqual([(e["dir"], e["event"]) for e in log],
                         [("call", "error"), ("call", "end")])

    def test_a_clients_bad_frames_and_its_close(self):
        c, cid = self.open_call("echo", query="from=a%FFb&metadata=" +
                                b64url([1]))
        c.send_text('{"event":')
        c.send_text('{"event":"x\\n\\u001b[2J","k":1}')
        c.send_event({"event": "dtmf", "dtmf": "5"})
        c.send_binary(b"\x00")
        self.assert_closes_with(c, 1003)
        rec = self.record_of(cid)
        self.assert_valid(self.record_schema, rec, "the record")
        self.assertEqual([e["event"] for e in rec
                          if e["dir"] == "call"],
                         ["connect", "error", "error", "error", "end"])
        self.assertEqual(rec[0]["from"], "a\\xFFb")
        self.assertNotIn("metadata", rec[0])

    def test_a_servers_bad_frames_and_a_log_cut_at_its_bound(self):
        srv = B.BadServer([B.wait_start(), B.start(), B.text("{oops"),
                           B.event("x-note", text="hi", n=[1, None]),
                           B.event("audio", payload="!!!!")] +
                          [B.mark("m%d-" % i + "x" * 500)
                           for i in range(100)] +
                          [B.sleep(0.3), B.close(4001, "gone \u00e9")])
        self.addCleanup(srv.stop)
        events = self.path("events.jsonl")
        code, out, err = run_call("--url", srv.url, "--agent", "a",
                                  "--api-key", KEY, "--events", events,
                                  "--events-max", "16k", "--input",
                                  self.speech, "--hangup-after", "10")
        srv.finish(timeout=15)
        self.assertEqual(code, 1, err)
        log = read_jsonl(events)
        self.assertLessEqual(os.path.getsize(events), 16384)
        self.assert_valid(self.events_schema, log, "--events")
        names = [(e["dir"], e["event"]) for e in log]
        self.assertIn(("in", "x-note"), names)
        self.assertEqual(names.count(("call", "error")), 2)
        self.assertEqual(names[-2:], [("call", "truncated"),
                                      ("call", "end")])
        self.assertEqual(log[-1]["close_reason"], "gone \u00e9")

    def test_the_demo(self):
        d = self.path("demo")
        os.mkdir(d)
        p = subprocess.run([harness.binary(), "demo", "--quiet", "--dir", d],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=90 * SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        log = read_jsonl(os.path.join(d, "demo-call.jsonl"))
        self.assert_valid(self.events_schema, log, "demo-call.jsonl")
        self.assertIn(("in", "clear"), [(e["dir"], e["event"]) for e in log])


if __name__ == "__main__":
    harness.main()
