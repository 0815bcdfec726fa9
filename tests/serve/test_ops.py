#!/usr/bin/env python3
"""`wvoice serve` as an operator sees it: TLS, shutdown on a signal, exit
codes, the command line, log levels, the exit summary and GET /healthz.

Run: python3 test_ops.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

import harness
from harness import (HOST, KEY, SLOW, Received, ServeTest, collect,
                     speech)
import wsclient
from test_records import read_jsonl, wav_header


def run_cli(*args, timeout=20):
    """Runs `wvoice serve ARGS` to its end: (exit code, stdout, stderr)."""
    env = dict(os.environ)
    env.pop("WVOICE_API_KEYS", None)
    p = subprocess.run([harness.binary(), "serve"] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout * SLOW, env=env)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


class HttpConn:
    """One HTTP/1.1 connection to the server: requests one after another,
    each answer read to the end its Content-Length gives."""

    def __init__(self, port, tls=False, timeout=5.0):
        sock = socket.create_connection((HOST, port), timeout * SLOW)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=HOST)
        self.sock = sock
        self.buf = b""

    def close(self):
        self.sock.close()

    def _more(self):
        chunk = self.sock.recv(4096)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buf += chunk

    def request(self, method="GET", path="/healthz", headers=(),
                version="HTTP/1.1", body=b""):
        """(status, headers (lower-case names), body)."""
        lines = ["%s %s %s" % (method, path, version), "Host: " + HOST]
        lines += ["%s: %s" % h for h in headers]
        if body:
            lines.append("Content-Length: %d" % len(body))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        first, *rest = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for line in rest:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        n = 0 if method == "HEAD" else int(hdrs.get("content-length", "0"))
        while len(self.buf) < n:
            self._more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return int(first.split()[1]), hdrs, data

    def closed_by_server(self, timeout=3.0):
        """Whether the server closes the connection within timeout, with
        nothing more sent."""
        self.sock.settimeout(timeout * SLOW)
        try:
            return self.sock.recv(1) == b"" and not self.buf
        except (socket.timeout, TimeoutError):
            return False


def healthz(server, headers=(), tls=None):
    """GET /healthz on a connection of its own: (status, headers, JSON)."""
    c = HttpConn(server.port, server.scheme == "wss" if tls is None else tls)
    try:
        status, hdrs, body = c.request(headers=list(headers) +
                                       [("Connection", "close")])
    finally:
        c.close()
    return status, hdrs, json.loads(body)


REFUSALS = ["shutting_down", "wrong_path", "origin_not_allowed",
            "unauthorized", "unknown_agent", "at_capacity"]


def make_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


class Tls(ServeTest):
    concurrent = True

    temp_dir = "tls"

    @classmethod
    def prepare(cls):
        cls.cert, cls.key = make_cert(cls.dir)
        cls.server_args = ("--tls-cert", cls.cert, "--tls-key", cls.key)

    def test_listening_line_says_wss(self):
        self.assertEqual(self.server.url, "wss://127.0.0.1:%d" %
                         self.server.port)

    def test_a_call_over_tls(self):
        c, cid = self.open_call("demo", auth="subprotocol")
        self.assertEqual(c.subprotocol, "apikey")
        self.assertIsInstance(c.sock, ssl.SSLSocket)
        r = Received()
        collect(c, lambda ev: len(r.items) >= 25, 5 * SLOW, r)
        self.assertEqual(set(r.names()), {"audio"})
        self.assertTrue(any(harness.loud(f) for _, f in r.audio()))
        self.assert_stop_closes(c)

    def test_many_calls_over_tls_end_with_close_frames(self):
        # Once seen: about one call in forty got the TLS close_notify but
        # no WebSocket close frame after its stop.
        results = []

        def one():
            try:
                c, cid = self.server.start_call("demo")
                try:
                    r = Received()
                    collect(c, lambda ev: len(r.items) >= 10, 5 * SLOW, r)
                    c.send_event({"event": "stop"})
                    results.append(c.wait_close(5 * SLOW)[0])
                finally:
                    c.close()
            except Exception as e:  # noqa: BLE001
                results.append(repr(e)[:100])

        threads = [threading.Thread(target=one) for _ in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30 * SLOW)
        self.assertEqual(results, [1000] * 30)

    def test_refusals_over_tls_are_http_responses(self):
        self.assertEqual(self.server.call("echo", key="nope"), 401)
        self.assertEqual(self.server.call("nobody"), 404)

    def test_alpn_never_picks_http2(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection((HOST, self.server.port), 5) as raw:
            with ctx.wrap_socket(raw, server_hostname=HOST) as s:
                self.assertIn(s.selected_alpn_protocol(), (None, "http/1.1"))

    def test_https_own_origin_is_allowed_http_is_not(self):
        port = self.server.port
        c, _ = self.open_call("echo", headers={
            "Origin": "https://127.0.0.1:%d" % port})
        self.assert_stop_closes(c)
        self.assertEqual(self.server.call("echo", headers={
            "Origin": "http://127.0.0.1:%d" % port}), 403)

    def test_healthz_over_tls(self):
        status, hdrs, health = healthz(self.server)
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        self.assertEqual(health["status"], "ok")
        self.assertEqual(list(health["refused"]), REFUSALS)

    def test_plain_ws_to_the_tls_port_gets_no_call(self):
        try:
            c = self.server.call("echo", tls=False, timeout=3)
        except (wsclient.ConnectionLost, wsclient.ProtocolError, OSError,
                TimeoutError, ValueError):
            return
        if not isinstance(c, int):
            c.close()
            self.fail("a plain-text WebSocket was upgraded on the TLS port")


class Shutdown(ServeTest):
    """SIGTERM with calls up: each gets stop then 1000, records complete,
    exit 0, and the summary counts what happened."""

    temp_dir = "shutdown"

    @classmethod
    def prepare(cls):
        cls.server_args = ("--record", cls.dir)

    @classmethod
    def stop_server(cls):
        if cls.server.proc.poll() is None:  # the test stops it itself
            cls.server.stop()

    def test_sigterm_during_calls(self):
        echo, eid = self.open_call("echo")
        demo, did = self.open_call("demo")
        pump = self.start_pump(echo)
        pump.say(speech(0.6, seed=15))
        collect(demo, lambda ev: ev.get("event") == "audio", 5 * SLOW)
        self.assertEqual(self.server.call("echo", key="wrong-key"), 401)
        time.sleep(1.0)
        t = time.monotonic()
        self.server.send_signal(signal.SIGTERM)
        for c in (echo, demo):
            code, reason, events = c.wait_close(5 * SLOW)
            self.assertEqual(events[-1:], [{"event": "stop"}],
                             "no stop before the close")
            self.assertEqual(code, 1000)
        pump.stop()
        self.assertEqual(self.server.wait_exit(), 0)
        self.assertLess(time.monotonic() - t, 3.0 * SLOW)
        self.server.check_clean()
        for cid in (eid, did):
            self.server.wait_log(r"call %s end .* reason=shutdown " % cid)
            events = read_jsonl(os.path.join(self.dir, cid + ".jsonl"))
            self.assertEqual(events[0]["event"], "connect")
            stops = [e for e in events if e.get("event") == "stop"]
            self.assertEqual([e["dir"] for e in stops], ["out"])
            riff, off, size, fsize = wav_header(
                os.path.join(self.dir, cid + ".wav"))
            self.assertEqual(riff, fsize - 8, "RIFF size not final")
            self.assertEqual(off + size, fsize, "data size not final")
            # The test waits a second before SIGTERM; the caller's last
            # frames may still be in flight then.
            self.assertGreater(size, 0.9 * 4 * 8000,
                               "under a second recorded")
        m = re.search(r"wvoice serve: (\d+) calls, (\d+) refused; agent "
                      r"frames (\d+), late (\d+), worst send delay "
                      r"([0-9.]+) ms$", self.server.stderr_lines[-1])
        self.assertTrue(m, "summary line: %r" % self.server.stderr_lines[-1])
        calls, refused, frames, late, worst = m.groups()
        self.assertEqual((calls, refused), ("2", "1"))
        self.assertGreater(int(frames), 40)
        harness.figure("shutdown summary", self.server.stderr_lines[-1])


class Health(ServeTest):
    """GET /healthz: counts for a supervisor, without a key. One call at
    a time, so that a second one is refused at --max-calls."""

    server_args = ("--max-calls", "1")

    def health(self, **kw):
        status, hdrs, h = healthz(self.server, **kw)
        self.assertEqual(status, 200)
        return h

    def test_healthz_counts_calls_and_refusals(self):
        h0 = self.health()
        self.assertEqual(h0["calls_up"], 0)
        c, cid = self.open_call("echo")
        h1 = self.health()
        self.assertEqual(h1["calls_up"], 1)
        self.assertEqual(h1["calls_total"], h0["calls_total"] + 1)
        port = self.server.port
        for want, kw in (
                (401, {"key": "wrong-key"}),
                (404, {"agent": "nobody"}),
                (404, {"agent": None}),
                (404, {"path": "/elsewhere?agent_id=echo"}),
                (403, {"headers": {"Origin": "http://evil.example"}}),
                (503, {})):  # the one call allowed is up
            with self.subTest(**{k: str(v) for k, v in kw.items()}):
                self.assertEqual(self.server.call(kw.pop("agent", "echo"),
                                                  **kw), want)
        h2 = self.health()
        moved = {k: h2["refused"][k] - h0["refused"][k] for k in REFUSALS}
        self.assertEqual(moved, {"shutting_down": 0, "wrong_path": 1,
                                 "origin_not_allowed": 1, "unauthorized": 1,
                                 "unknown_agent": 2, "at_capacity": 1})
        self.assertEqual(h2["calls_total"], h1["calls_total"],
                         "a refusal counted as a call")
        self.assertEqual(h2["calls_up"], 1)
        self.assert_stop_closes(c)
        self.server.wait_log(r"call %s end " % cid)
        h3 = self.health()
        self.assertEqual((h3["calls_up"], h3["calls_total"]),
                         (0, h1["calls_total"]))
        self.assertEqual(h3["refused"], h2["refused"])
        self.assertEqual(port, self.server.port)

    def test_healthz_is_no_call_and_logs_nothing(self):
        before = len(self.server.stderr_lines)
        h0 = self.health()
        for _ in range(5):
            h = self.health()
        self.assertEqual((h["calls_total"], h["refused"]),
                         (h0["calls_total"], h0["refused"]))
        time.sleep(0.2)
        self.assertEqual(self.server.stderr_lines[before:], [])

    def test_healthz_body_is_one_json_object_with_the_documented_fields(self):
        c = HttpConn(self.server.port)
        self.addCleanup(c.close)
        status, hdrs, body = c.request()
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        self.assertEqual(hdrs["cache-control"], "no-store")
        self.assertEqual(int(hdrs["content-length"]), len(body))
        self.assertNotIn(b"\n", body)
        h = json.loads(body)
        self.assertEqual(list(h), ["status", "calls_up", "calls_total",
                                   "refused"])
        self.assertEqual(h["status"], "ok")
        self.assertEqual(list(h["refused"]), REFUSALS)
        for v in [h["calls_up"], h["calls_total"]] + list(
                h["refused"].values()):
            self.assertIsInstance(v, int)
            self.assertGreaterEqual(v, 0)

    def test_healthz_needs_no_key(self):
        before = self.health()["refused"]["unauthorized"]
        for headers in ([], [("X-API-Key", "wrong-key")],
                        [("Sec-WebSocket-Protocol", "apikey, wrong-key")]):
            with self.subTest(headers=headers):
                status, _, h = healthz(self.server, headers=headers)
                self.assertEqual(status, 200)
                self.assertEqual(h["refused"]["unauthorized"], before)

    def test_other_paths_and_methods_are_refused(self):
        c = HttpConn(self.server.port)
        self.addCleanup(c.close)
        for path in ("/no-such-page", "/healthz/", "/healthzz", "/HEALTHZ",
                     "/health", "/favicon.ico"):
            with self.subTest(path=path):
                self.assertEqual(c.request(path=path)[0], 404)
        status, hdrs, body = c.request("POST", body=b"{}")
        self.assertEqual(status, 405)
        self.assertEqual(hdrs["allow"], "GET, HEAD")
        # A query is no other path.
        self.assertEqual(c.request(path="/healthz?full=1")[0], 200)
        # HEAD: the GET's headers, no body; the next answer follows.
        status, hdrs, body = c.request("HEAD")
        self.assertEqual(status, 200)
        self.assertGreater(int(hdrs["content-length"]), 0)
        status, _, body = c.request()
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["status"], "ok")
        # An upgrade to it is a call to the wrong path.
        self.assertEqual(self.server.call("echo", path="/healthz"), 404)

    def test_healthz_keeps_the_connection_alive_until_asked_to_close(self):
        c = HttpConn(self.server.port)
        self.addCleanup(c.close)
        for headers in ([], [("Connection", "keep-alive")], []):
            status, _, body = c.request(headers=headers)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["status"], "ok")
        self.assertFalse(c.closed_by_server(0.3), "closed a keep-alive")
        status, _, body = c.request(headers=[("Connection", "close")])
        self.assertEqual(status, 200)
        json.loads(body)
        self.assertTrue(c.closed_by_server(), "left a close open")
        # HTTP/1.0 closes after the answer unless asked otherwise.
        c10 = HttpConn(self.server.port)
        self.addCleanup(c10.close)
        status, _, body = c10.request(version="HTTP/1.0")
        self.assertEqual(status, 200)
        json.loads(body)
        self.assertTrue(c10.closed_by_server())


class Signals(ServeTest):
    def test_sigint_exits_0(self):
        self.assertEqual(self.server.stop(signal.SIGINT), 0)
        self.server.check_clean()


class ListenOption(ServeTest):
    server_kw = {"port": None}
    server_args = ("--listen", "localhost:0")

    def test_listen_host_and_port_zero(self):
        self.assertRegex(self.server.url, r"^ws://127\.0\.0\.1:\d+$")
        self.assertNotEqual(self.server.port, 0)
        c, _ = self.open_call("echo")
        self.assert_stop_closes(c)


class Quiet(ServeTest):
    server_args = ("--quiet",)

    def test_quiet_logs_only_refusals_and_problems(self):
        c, cid = self.open_call("echo")
        c.send_text("{")
        self.assert_stop_closes(c)
        self.assertEqual(self.server.call("echo", key="wrong"), 401)
        self.server.wait_log(r"refused 127\.0\.0\.1: 401")
        self.server.wait_log(r"call %s: bad frame" % cid)
        self.assertEqual(self.server.log_lines(r" start agent=| end agent="),
                         [])


class Verbose(ServeTest):
    server_args = ("--verbose",)

    def test_verbose_logs_every_event_but_audio(self):
        c, cid = self.open_call("echo")
        pump = self.start_pump(c)
        c.send_event({"event": "dtmf", "dtmf": "3"})
        time.sleep(0.3)
        pump.stop()
        self.assert_stop_closes(c)
        self.server.wait_log(r"call %s: in start" % cid)
        self.server.wait_log(r"call %s: out start" % cid)
        self.server.wait_log(r"call %s: in dtmf" % cid)
        self.server.wait_log(r"call %s: in stop" % cid)
        self.assertEqual(self.server.log_lines(r"call %s: (in|out) audio" %
                                               cid), [])


class CommandLine(ServeTest):
    """Exit 2 on usage errors, 1 when it cannot start, 0 for --help."""

    concurrent = True

    start_server = False
    temp_dir = "cli"

    def test_help_exits_0(self):
        code, out, err = run_cli("--help")
        self.assertEqual(code, 0)
        self.assertIn("usage: wvoice serve", out)

    def test_usage_errors_exit_2(self):
        for args in (["--port", "abc"], ["--port", "70000"], ["--bogus"],
                     ["--tls-cert", "x.pem"], ["--max-calls", "0"],
                     ["stray"], ["--verbose", "--quiet"], ["--script", "x"],
                     ["--listen", "nohostport"], ["--api-key"]):
            with self.subTest(args=args):
                code, out, err = run_cli(*args)
                self.assertEqual(code, 2, err)
                self.assertIn("Try 'wvoice serve --help'", err)
                self.assertNotIn("listening", out)

    def test_port_in_use_exits_1(self):
        with socket.socket() as s:
            s.bind((HOST, 0))
            s.listen(1)
            port = s.getsockname()[1]
            code, out, err = run_cli("--port", str(port), "--api-key", KEY)
        self.assertEqual(code, 1, err)
        self.assertIn("cannot listen on 127.0.0.1 port %d: Address already "
                      "in use" % port, err)
        self.assertNotIn(KEY, err)
        self.assertNotIn("listening", out)
        self.assertNotIn("lws:", err)  # said once, in wvoice's words

    def test_an_address_this_machine_has_not_exits_1(self):
        # TEST-NET-1: bind() fails here, and nothing is sent anywhere.
        code, out, err = run_cli("--listen", "192.0.2.1:8000", "--api-key",
                                 KEY, timeout=10)
        self.assertEqual(code, 1, err)
        self.assertIn("cannot listen on 192.0.2.1 port 8000: Cannot assign "
                      "requested address", err)
        self.assertNotIn("listening", out)

    def test_a_host_that_does_not_resolve_exits_1(self):
        # A 64-byte label is no DNS name: the resolver fails it here,
        # with no query leaving the machine.
        host = "a" * 64 + ".invalid"
        code, out, err = run_cli("--listen", host + ":8000", "--api-key",
                                 KEY, timeout=10)
        self.assertEqual(code, 1, err)
        self.assertIn("cannot listen on %s port 8000: " % host, err)
        self.assertNotIn("listening", out)

    def test_bad_certificate_exits_1(self):
        junk = os.path.join(self.dir, "junk.pem")
        with open(junk, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a cert\n"
                    "-----END CERTIFICATE-----\n")
        none = os.path.join(self.dir, "none.pem")
        other = os.path.join(self.dir, "other")
        os.makedirs(other, exist_ok=True)
        cert, key = make_cert(self.dir)
        _, other_key = make_cert(other)
        for c, k, says in (
                (junk, junk, "bad certificate %s: " % junk),  # OpenSSL says why
                (none, junk, "cannot read certificate %s: No such file or "
                             "directory" % none),
                (cert, other_key, "bad key %s: key values mismatch"
                                  % other_key)):
            with self.subTest(cert=os.path.basename(c)):
                code, out, err = run_cli("--port", "0", "--api-key", KEY,
                                         "--tls-cert", c, "--tls-key", k)
                self.assertEqual(code, 1, err)
                self.assertIn(says, err)
                self.assertNotIn("listening", out)

    def test_bad_key_option_exits_1(self):
        code, out, err = run_cli("--port", "0", "--api-key", "k" * 600)
        self.assertEqual(code, 1, err)
        self.assertNotIn("k" * 20, err)


if __name__ == "__main__":
    harness.main()
