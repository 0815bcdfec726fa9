#!/usr/bin/env python3
"""`wvoice call` over wss:// against `wvoice serve --tls-cert --tls-key`
with self-signed certificates made by the openssl command: verified by
default, trusted with --ca, host names checked, accepted with --insecure.
And what the command says on stderr: --verbose, --quiet, --help."""

import os
import re
import subprocess
import sys

import badserver as B
import harness
from harness import KEY, ServeTest, Server, speech
from test_call import run_call, summary
from test_script import write_wav

# The synopsis of `wvoice call` in issue 4, plus the transport's timeout.
FLAGS = ["--url", "--api-key", "--auth", "--agent", "--from", "--metadata",
         "--synthetic", "--input", "--input-device", "--output",
         "--output-device", "--events", "--dtmf", "--mute", "--hangup-after",
         "--prebuffer-ms", "--ca", "--insecure", "--quiet", "--verbose",
         "--connect-timeout"]


def make_cert(directory, name, cn, san):
    """A self-signed P-256 certificate and its key: (cert.pem, key.pem)."""
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=" + san],
                   check=True, capture_output=True, timeout=30)
    return cert, key


class CallTest(ServeTest):
    concurrent = True

    @classmethod
    def prepare(cls):
        cls.input = os.path.join(cls.dir, "input.wav")
        write_wav(cls.input, speech(0.5, seed=6))

    def path(self, name):
        return os.path.join(self.dir, "%s-%s" % (self.id().split(".")[-1],
                                                 name))

    def call(self, *args, url=None, agent="silent", hangup="0.5"):
        """A short call to this class's server: (code, stdout, stderr)."""
        extra = ["--hangup-after", hangup] if hangup else []
        code, out, err = run_call(
            "--url", url or self.server.url, "--api-key", KEY, "--agent",
            agent, "--input", self.input, "--output", self.path("out.wav"),
            *extra, *args)
        self.assertNotIn(KEY, out + err, "the key was printed")
        return code, out, err


class Tls(CallTest):
    temp_dir = "call-tls"

    @classmethod
    def prepare(cls):
        super().prepare()
        cls.cert, cls.key = make_cert(cls.dir, "server", "wvoice-test",
                                      "IP:127.0.0.1,DNS:localhost")
        # Valid, but for another name, and not the server's.
        cls.other, cls.other_key = make_cert(cls.dir, "other", "other",
                                             "DNS:elsewhere.test")
        cls.server_args = ("--tls-cert", cls.cert, "--tls-key", cls.key)

    def assert_rejected(self, code, out, err, why, port=None):
        self.assertEqual(code, 1, err)
        self.assertRegex(err, r"wvoice call: TLS handshake with "
                         r"127\.0\.0\.1:%d failed: certificate rejected "
                         r"\(%s\)" % (port or self.server.port, why))
        s = summary(out)
        self.assertEqual(s["end reason"], "error")
        self.assertEqual(s["communication id"], "-")

    def test_server_url_is_wss(self):
        self.assertTrue(self.server.url.startswith("wss://127.0.0.1:"))

    def test_self_signed_certificate_is_refused_by_default(self):
        code, out, err = self.call()
        self.assert_rejected(code, out, err, "self-signed certificate")

    def test_ca_file_trusts_the_certificate(self):
        code, out, err = self.call("--ca", self.cert)
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "")
        s = summary(out)
        self.assertEqual(s["end reason"], "hangup")
        self.assertTrue(harness.is_uuid4(s["communication id"]), s)

    def test_ca_file_and_a_host_name_of_the_certificate(self):
        url = "wss://localhost:%d" % self.server.port
        code, out, err = self.call("--ca", self.cert, url=url)
        self.assertEqual(code, 0, err)

    def test_ca_file_of_another_certificate_refuses(self):
        code, out, err = self.call("--ca", self.other)
        self.assert_rejected(code, out, err, "self-signed certificate")

    def test_trusted_certificate_for_another_name_is_refused(self):
        other = Server("--tls-cert", self.other, "--tls-key", self.other_key)
        self.addCleanup(other.stop_clean)
        code, out, err = self.call("--ca", self.other, url=other.url)
        self.assert_rejected(code, out, err, "IP address mismatch",
                             port=other.port)
        # --insecure skips the name check too.
        code, out, err = self.call("--insecure", url=other.url)
        self.assertEqual(code, 0, err)

    def test_insecure_accepts_the_self_signed_certificate(self):
        code, out, err = self.call("--insecure")
        self.assertEqual(code, 0, err)
        self.assertEqual(summary(out)["end reason"], "hangup")

    def test_ca_file_that_cannot_be_loaded(self):
        for ca in (os.path.join(self.dir, "missing.pem"), self.input):
            with self.subTest(ca=os.path.basename(ca)):
                code, out, err = self.call("--ca", ca)
                self.assertEqual(code, 1, err)
                self.assertIn("cannot load CA file " + ca, err)

    def test_plain_ws_to_a_tls_server_fails(self):
        url = "ws://127.0.0.1:%d" % self.server.port
        code, out, err = self.call(url=url)
        self.assertEqual(code, 1, err)
        self.assertRegex(err, r"wvoice call: .*127\.0\.0\.1:%d" %
                         self.server.port)
        # What probably happened, said.
        self.assertIn("is it wss:// rather than ws://?", err)

    def test_wss_to_a_plain_server_says_so(self):
        plain = Server()
        self.addCleanup(plain.stop_clean)
        code, out, err = self.call("--insecure", url="wss://127.0.0.1:%d"
                                   % plain.port)
        self.assertEqual(code, 1, err)
        self.assertIn("TLS handshake with 127.0.0.1:%d failed: the server did "
                      "not answer in TLS (is it ws:// rather than wss://?)"
                      % plain.port, err)


class Output(CallTest):
    """--verbose, --quiet and --help, against a plain server."""

    temp_dir = "call-output"

    def test_verbose_prints_status_changes_and_events(self):
        srv = B.BadServer([B.wait_start(), B.start("c-verbose"),
                           B.audio(B.tone(0.2), realtime=False),
                           B.mark("m1"), B.event("x-note"), B.hold(10)])
        self.addCleanup(srv.stop)
        code, out, err = run_call(
            "--url", srv.url, "--api-key", KEY, "--agent", "a", "--input",
            self.input, "--output", self.path("out.wav"), "--dtmf", "5@0.1",
            "--hangup-after", "1", "--verbose")
        srv.finish(timeout=10)
        srv.check()
        self.assertEqual(code, 0, err)
        lines = err.splitlines()
        want = ["status: connecting", "-> start", "<- start",
                "status: connected", "<- mark m1", "<- x-note", "-> dtmf 5",
                "-> mark m1", "-> stop", "status: disconnected"]
        for w in want:
            self.assertIn(w, lines, err)
        order = [lines.index(w) for w in ("status: connecting", "-> start",
                                          "<- start", "status: connected",
                                          "-> stop", "status: disconnected")]
        self.assertEqual(order, sorted(order), err)
        self.assertLess(lines.index("<- mark m1"), lines.index("-> mark m1"))
        self.assertFalse([ln for ln in lines if "audio" in ln],
                         "audio events on stderr")

    def test_quiet_prints_nothing_for_a_normal_call(self):
        code, out, err = self.call("--quiet", agent="echo", hangup="1")
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "")
        self.assertEqual(summary(out)["end reason"], "hangup")

    def test_quiet_still_says_why_a_call_failed(self):
        cases = [
            (("--url", "ws://127.0.0.1:1", "--api-key", KEY), 1,
             r"^wvoice call: cannot connect to 127\.0\.0\.1:1"),
            (("--url", self.server.url, "--api-key", "wrong-key"), 3,
             r"^wvoice call: handshake refused: 401"),
        ]
        for args, status, words in cases:
            with self.subTest(status=status):
                code, out, err = run_call(
                    *args, "--agent", "echo", "--input", self.input,
                    "--output", self.path("o.wav"), "--quiet")
                self.assertEqual(code, status, err)
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertRegex(err, words)
                self.assertNotIn("wrong-key", out + err)

    def test_quiet_and_verbose_together_is_a_usage_error(self):
        code, out, err = run_call("--url", self.server.url, "--api-key", KEY,
                                  "--agent", "echo", "--quiet", "--verbose")
        self.assertEqual(code, 2, err)
        self.assertRegex(err, r"wvoice call: .*--quiet.*--verbose")
        self.assertEqual(out, "")

    def test_help_mentions_every_flag(self):
        for opt in ("--help", "-h"):
            with self.subTest(opt=opt):
                code, out, err = run_call(opt)
                self.assertEqual(code, 0, err)
                self.assertEqual(err, "")
                self.assertTrue(out.startswith("usage: wvoice call"), out)
                for flag in FLAGS:
                    self.assertRegex(out, r"(^|[\s|\[])%s\b" %
                                     re.escape(flag), flag)
                self.assertRegex(out, r"(?s)Exit status: 0 .*\b1 .*\b2 .*\b3 ")


if __name__ == "__main__":
    sys.exit(harness.main())
