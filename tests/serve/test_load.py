#!/usr/bin/env python3
"""`wvoice load`: its report checked against what `wvoice serve --record`
recorded of the same calls, impairment seen in the figures it should
move, shard reports merged into one run's, --fail-if and usage errors.

Run: python3 test_load.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import glob
import json
import os
import subprocess
import tempfile

import harness
from harness import SLOW, ServeTest

# One turn: the caller speaks, the echo agent says it back, the caller
# hangs up once it has heard it out.
ONE_TURN = [
    {"say": "Hello there, this is a test call."},
    {"wait_agent_quiet": 600, "timeout_ms": 10000},
    {"hangup": True},
]
# The echo agent's least turn latency: it waits for 500 ms of silence to
# end the caller's utterance; the caller's playout then holds what its
# policy holds before it plays (the adaptive default: from nothing, for a
# burst, to 500 ms).
ECHO_TURN_MIN_MS = 500


def k_of(rep, key):
    return rep["counts"][key]


def records(directory):
    """Each call's record, as lists of events, by communication id."""
    out = {}
    for path in glob.glob(os.path.join(directory, "*.jsonl")):
        with open(path) as f:
            out[os.path.basename(path)[:-6]] = [json.loads(l) for l in f]
    return out


class LoadTest(ServeTest):
    concurrent = True
    temp_dir = "load"

    @classmethod
    def prepare(cls):
        cls.server_args = ("--record", cls.dir, "--max-calls", "100")
        cls.script = os.path.join(cls.dir, "one-turn.json")
        with open(cls.script, "w") as f:
            json.dump(ONE_TURN, f)

    def load(self, *args, url=True, timeout=120):
        """Runs wvoice load; returns (status, report, stderr)."""
        fd, report = tempfile.mkstemp(suffix=".json", dir=self.dir)
        os.close(fd)
        cmd = [harness.binary(), "load", "--quiet", "--report", report]
        if url:
            cmd += ["--url", self.server.url, "--api-key", self.server.key,
                    "--agent", "echo"]
        cmd += [str(a) for a in args]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout * SLOW)
        try:
            with open(report) as f:
                rep = json.load(f)
        except ValueError:
            rep = None
        return p.returncode, rep, p.stderr.decode(), p.stdout.decode()

    def ours(self, rep):
        """The server's records of this report's calls."""
        ids = {c["comm_id"] for c in rep["calls"]}
        deadline = harness.time.monotonic() + 10 * SLOW
        while True:
            recs = {k: v for k, v in records(self.dir).items() if k in ids}
            ended = all(r and r[-1].get("event") == "end"
                        for r in recs.values())
            if (len(recs) == len(ids) and ended) or \
                    harness.time.monotonic() > deadline:
                return recs
            harness.time.sleep(0.2)

    def test_the_report_matches_what_the_server_recorded(self):
        status, rep, err, out = self.load(
            "--calls", 3, "--rate", 5, "--duration", 30,
            "--script", self.script)
        self.assertEqual(status, 0, err)
        k = rep["counts"]
        self.assertEqual((k["calls_planned"], k["calls_started"],
                          k["calls_connected"], k["calls_completed"],
                          k["calls_failed"]), (3, 3, 3, 3, 0))
        self.assertEqual(rep["errors"], {})
        recs = self.ours(rep)
        self.assertEqual(len(recs), 3)
        audio_in = sum(1 for r in recs.values() for e in r
                       if e["dir"] == "in" and e["event"] == "audio")
        marks_in = sum(1 for r in recs.values() for e in r
                       if e["dir"] == "in" and e["event"] == "mark")
        for r in recs.values():
            self.assertIs(r[0]["synthetic"], True)
            self.assertEqual(r[-1]["reason"], "client-stop")
        # Every frame the generator sent, the server received, and every
        # mark it answered came back.
        self.assertEqual(k["frames_sent"], audio_in)
        self.assertEqual(k["marks_answered"], marks_in)
        self.assertGreaterEqual(k["marks_answered"], 3)
        m = rep["metrics"]
        self.assertEqual(m["lateness_ms"]["count"], k["frames_sent"])
        self.assertEqual(m["turn_ms"]["count"], 3)
        self.assertGreaterEqual(m["turn_ms"]["min"], ECHO_TURN_MIN_MS)
        self.assertLess(m["turn_ms"]["p50"], 3000 * SLOW)
        self.assertEqual(m["mark_rtt_ms"]["count"], k["marks_answered"])
        for name in ("connect_ms", "handshake_ms", "start_ms",
                     "first_audio_ms"):
            self.assertEqual(m[name]["count"], 3, name)
        self.assertEqual(sorted(c["id"] for c in rep["calls"]), [0, 1, 2])
        self.assertIn("turn_ms", out)  # the table
        harness.figure("load: turn latency p50 (echo)",
                       "%.0f" % m["turn_ms"]["p50"], "ms")

    def test_impairment_moves_the_figures_it_should(self):
        status, rep, err, _ = self.load(
            "--calls", 2, "--rate", 5, "--duration", 30,
            "--script", self.script, "--impair", "delay=150,seed=3")
        self.assertEqual(status, 0, err)
        m = rep["metrics"]
        self.assertEqual(rep["config"]["impair"], "delay=150,seed=3")
        # start goes out and comes back, each held 150 ms.
        self.assertGreaterEqual(m["start_ms"]["min"], 300)
        # The caller's speech reaches the agent, and its answer the
        # caller, each 150 ms late.
        self.assertGreaterEqual(m["turn_ms"]["min"], ECHO_TURN_MIN_MS + 300)
        self.assertGreaterEqual(m["lateness_ms"]["min"], 150)

    def test_stalls_show_as_gaps_and_underruns(self):
        # The agent's answer runs over 6 s: three 600 ms stalls, 2 s
        # apart, fall inside it. One that empties a playout buffer holding
        # less than 600 ms is an underrun; but a stall that holds back the
        # answer's very start (within about 60 ms of it) only starts the
        # playout later with more queued, so the later ones are absorbed.
        # Each call's stalls have a phase of their own (the seed salted
        # by the call): of four calls, one at least meets an underrun.
        script = os.path.join(self.dir, "long.json")
        with open(script, "w") as f:
            json.dump([{"say": "One two three four five six seven eight "
                               "nine ten eleven twelve thirteen fourteen "
                               "fifteen sixteen seventeen eighteen."},
                       {"wait_agent_quiet": 1500, "timeout_ms": 15000},
                       {"hangup": True}], f)
        status, rep, err, _ = self.load(
            "--calls", 4, "--duration", 40, "--script", script,
            "--impair", "stall=600@2000,seed=5")
        self.assertEqual(status, 0, err)
        k = rep["counts"]
        self.assertGreaterEqual(k["gaps"], 1)
        self.assertGreaterEqual(k["underruns"], 1)
        # The playout concealed them (issue 14), and says so per call and
        # per second as in all.
        self.assertEqual(rep["config"]["playout"], "adaptive")
        self.assertGreater(k["concealed_ms"], 0)
        self.assert_playout_adds_up(rep)

    def assert_playout_adds_up(self, rep):
        """The playout's counts are the sums of the calls' and of the
        rows' figures; concealed silence comes with underruns only."""
        k = rep["counts"]
        for key in ("concealed_ms", "silence_inserted_ms",
                    "silence_dropped_ms", "late_arrivals"):
            self.assertEqual(k[key], sum(c[key] for c in rep["calls"]), key)
        self.assertEqual(k["concealed_ms"],
                         sum(r["concealed_ms"] for r in rep["series"]))
        for c in rep["calls"]:
            if c["underruns"] == 0:
                self.assertEqual(c["concealed_ms"], 0, c)
            self.assertLessEqual(c["playout_target_ms"],
                                 c["playout_target_ms_max"], c)
        m = rep["metrics"]
        self.assertEqual(m["playout_delay_ms"]["count"],
                         m["playout_target_ms"]["count"])
        self.assertEqual(m["playout_delay_ms"]["count"],
                         sum(r["playout_delay"]["count"]
                             for r in rep["series"] if r["playout_delay"]))

    def test_the_playout_policy_is_the_flags_and_its_figures_add_up(self):
        for args, policy, pre in ((("--playout", "fixed"), "fixed", 300),
                                  (("--prebuffer-ms", "200"), "fixed", 200),
                                  ((), "adaptive", None)):
            with self.subTest(args=args):
                status, rep, err, out = self.load(
                    "--calls", 1, "--duration", 30, "--script", self.script,
                    *args)
                self.assertEqual(status, 0, err)
                self.assertEqual((rep["config"]["playout"],
                                  rep["config"]["prebuffer_ms"]),
                                 (policy, pre))
                self.assertIn("playout " + policy, out)  # the table
                target = rep["metrics"]["playout_target_ms"]
                self.assertGreater(target["count"], 0)
                if pre is not None:
                    self.assertEqual((target["min"], target["max"]),
                                     (pre, pre))
                    self.assertEqual(k_of(rep, "silence_inserted_ms") +
                                     k_of(rep, "silence_dropped_ms"), 0)
                else:
                    self.assertGreaterEqual(target["min"], 40)
                    self.assertLessEqual(target["max"], 500)
                self.assert_playout_adds_up(rep)

    def test_shard_reports_merge_into_the_whole_run(self):
        common = ("--calls", 4, "--rate", 10, "--duration", 2)
        procs, reports = [], []
        for i in range(2):
            path = os.path.join(self.dir, "shard-%d.json" % i)
            reports.append(path)
            procs.append(subprocess.Popen(
                [harness.binary(), "load", "--quiet", "--url",
                 self.server.url, "--api-key", self.server.key, "--agent",
                 "silent", "--shard", "%d/2" % i, "--report", path]
                + [str(a) for a in common],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for p in procs:
            _, e = p.communicate(timeout=60 * SLOW)
            self.assertEqual(p.returncode, 0, e.decode())
        shards = []
        for path in reports:
            with open(path) as f:
                shards.append(json.load(f))
        self.assertEqual(sorted(c["id"] for c in shards[0]["calls"]), [0, 2])
        self.assertEqual(sorted(c["id"] for c in shards[1]["calls"]), [1, 3])
        merged = os.path.join(self.dir, "merged.json")
        p = subprocess.run([harness.binary(), "load", "merge"] + reports +
                           ["--report", merged], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        with open(merged) as f:
            m = json.load(f)
        status, whole, err, _ = self.load(*common, "--agent", "silent")
        self.assertEqual(status, 0, err)
        for key in ("calls_planned", "calls_started", "calls_connected",
                    "calls_completed", "calls_failed"):
            self.assertEqual(m["counts"][key], whole["counts"][key], key)
        for key in m["counts"]:
            if key != "calls_peak":  # the merge takes it from the rows
                self.assertEqual(m["counts"][key],
                                 sum(s["counts"][key] for s in shards), key)
        # Histograms add up bucket for bucket.
        for name, h in m["metrics"].items():
            want = {}
            for s in shards:
                for lo, n in s["metrics"][name]["histogram"]:
                    want[lo] = want.get(lo, 0) + n
            self.assertEqual({lo: n for lo, n in h["histogram"]}, want, name)
        self.assertEqual(sorted(c["id"] for c in m["calls"]), [0, 1, 2, 3])

    def test_fail_if_sets_the_exit_status(self):
        common = ("--calls", 1, "--duration", 1, "--agent", "silent")
        status, rep, err, _ = self.load(*common,
                                        "--fail-if", "calls_failed>0")
        self.assertEqual(status, 0, err)
        status, rep, err, _ = self.load(*common,
                                        "--fail-if", "frames_sent>0")
        self.assertEqual(status, 1)
        self.assertIn("frames_sent", err)

    def test_refused_calls_fail_and_are_counted_by_kind(self):
        status, rep, err, _ = self.load(
            "--url", self.server.url, "--api-key", "wrong-key",
            "--agent", "echo", "--calls", 2, "--rate", 20, "--duration", 1,
            url=False)
        self.assertEqual(status, 1)
        self.assertEqual(rep["counts"]["calls_failed"], 2)
        self.assertEqual(rep["errors"], {"refused: 401": 2})


class LoadAloneTest(ServeTest):
    """wvoice load without --url, and what it refuses."""
    concurrent = True
    start_server = False
    temp_dir = "load-alone"

    def run_load(self, *args, timeout=60):
        return subprocess.run([harness.binary(), "load"] +
                              [str(a) for a in args],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout * SLOW, cwd=self.dir)

    def test_without_url_it_runs_its_own_server(self):
        p = self.run_load("--quiet", "--calls", 2, "--rate", 10,
                          "--duration", 2, "--report", "r.json",
                          "--csv", "r.csv")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        with open(os.path.join(self.dir, "r.json")) as f:
            rep = json.load(f)
        self.assertEqual(rep["config"]["agent"], "echo")
        self.assertEqual(rep["counts"]["calls_completed"], 2)
        # What the server said of itself: both calls, none up now.
        self.assertEqual(rep["server"]["calls_total"], 2)
        self.assertRegex(rep["server"]["summary"],
                         r"^2 calls, 0 refused; agent frames \d+")
        with open(os.path.join(self.dir, "r.csv")) as f:
            lines = f.read().splitlines()
        self.assertGreaterEqual(len(lines), 3)

    def test_usage_errors_exit_2(self):
        cases = [
            ((), "--calls N is required"),
            (("--calls", "0"), "--calls"),
            (("--calls", "2", "--shard", "2/2"), "--shard"),
            (("--calls", "2", "--impair", "delay=x"), "--impair"),
            (("--calls", "2", "--impair", "stall=500@500"), "--impair"),
            (("--calls", "2", "--rate", "-1"), "--rate"),
            (("--calls", "2", "--fail-if", "p99_nothing>1"), "fail-if"),
            (("--calls", "2", "--url", "ws://127.0.0.1:1"), "--agent"),
            (("--calls", "2", "--script", "a.json", "--input", "b.wav"),
             "conflict"),
            (("--calls", "2", "--connect-timeout", "60.5"),
             "--connect-timeout: '60.5' is not 0.001 to 60 seconds"),
            (("--calls", "2", "--playout", "elastic"),
             "--playout: 'elastic' is not adaptive or fixed"),
            (("--calls", "2", "--playout", "adaptive", "--prebuffer-ms",
              "100"), "--prebuffer-ms is the fixed policy's: it conflicts "
             "with --playout adaptive"),
        ]
        for args, words in cases:
            p = self.run_load(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(words, p.stderr.decode(), args)

    def test_a_script_with_problems_is_refused_whole(self):
        path = os.path.join(self.dir, "bad.json")
        with open(path, "w") as f:
            json.dump([{"dtmf": "x"}, {"silence": -1}, {"nope": 1}], f)
        p = self.run_load("--calls", 1, "--script", path)
        self.assertEqual(p.returncode, 2)
        err = p.stderr.decode()
        for step in ("step 1", "step 2", "step 3"):
            self.assertIn(step, err)


if __name__ == "__main__":
    harness.main()
