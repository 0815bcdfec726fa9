#!/usr/bin/env python3
"""`wvoice serve`: who may open a call, and what a refusal looks like.

Run: python3 test_handshake.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import re
import secrets

import harness
from harness import HOST, KEY, ServeTest, Server, is_uuid4
import wsclient


class Handshake(ServeTest):
    concurrent = True

    def refused(self, expected, *args, **kw):
        try:
            c = self.server.call(*args, **kw)
        except wsclient.ConnectionLost:
            self.fail("the server dropped the connection without an HTTP "
                      "response; the contract says refusals are an HTTP "
                      "response, here %d" % expected)
        if not isinstance(c, int):
            c.close()
            self.fail("handshake upgraded; expected HTTP %d" % expected)
        self.assertEqual(c, expected, "body %r" % c.body)
        return c

    def test_subprotocol_key_is_answered_with_exactly_apikey(self):
        c = self.server.call("echo", auth="subprotocol")
        self.assertNotIsInstance(c, int, "refused: %r" % c)
        self.addCleanup(c.close)
        self.assertEqual(c.subprotocol, "apikey")
        c.send_event({"event": "start"})
        ev = c.recv_event(5 * harness.SLOW)
        self.assertEqual(ev.get("event"), "start")
        self.assertTrue(is_uuid4(ev.get("communication_id")), ev)
        self.assert_stop_closes(c)

    def test_header_key_gets_no_subprotocol(self):
        c = self.server.call("echo", auth="header")
        self.assertNotIsInstance(c, int, "refused: %r" % c)
        self.addCleanup(c.close)
        self.assertIsNone(c.subprotocol)
        c.send_event({"event": "start"})
        self.assertEqual(c.recv_event(5 * harness.SLOW).get("event"), "start")
        self.assert_stop_closes(c)

    def test_start_is_answered_with_a_fresh_uuid4_and_logged(self):
        ids = []
        for agent in ("echo", "silent", "demo"):
            c, cid = self.open_call(agent, query="from=alice")
            self.assertTrue(is_uuid4(cid), "communication_id %r" % cid)
            ids.append(cid)
            self.server.wait_log(r"call %s start agent=%s peer=127\.0\.0\.1"
                                 r" from=alice$" % (cid, agent))
            self.assert_stop_closes(c)
            self.server.wait_log(r"call %s end agent=%s duration=[0-9.]+s "
                                 r"reason=client-stop frames_in=\d+ "
                                 r"frames_out=\d+ marks=\d+ late=\d+$"
                                 % (cid, agent))
        self.assertEqual(len(set(ids)), 3, ids)

    def test_client_stop_gets_close_1000_and_nothing_after(self):
        c, cid = self.open_call("silent")
        self.assert_stop_closes(c)
        self.assertTrue(c.wait_eof(5 * harness.SLOW),
                        "the server kept the TCP connection open")

    def test_client_close_frame_ends_the_call(self):
        c, cid = self.open_call("echo")
        c.send_close(1000, "bye")
        op, (code, _) = c.recv(5 * harness.SLOW)
        self.assertEqual(op, wsclient.OP_CLOSE)
        self.assertEqual(code, 1000)
        self.server.wait_log(r"call %s end agent=echo .* reason=closed " % cid)

    def test_wrong_key_is_refused_401(self):
        wrong = self.server.secret("wrong-" + secrets.token_hex(8))
        for auth in ("header", "subprotocol"):
            with self.subTest(auth=auth):
                self.refused(401, "echo", auth=auth, key=wrong)
        # A prefix or an extension of the right key is still wrong.
        self.refused(401, "echo", key=KEY[:-1])
        self.refused(401, "echo", key=KEY + "x", auth="subprotocol")
        self.server.wait_log(r"refused 127\.0\.0\.1: 401 Unauthorized")

    def test_missing_key_is_refused_401(self):
        self.refused(401, "echo", auth=None)
        # The subprotocol alone, or a key without the apikey marker.
        self.refused(401, "echo", auth=None,
                     headers={"Sec-WebSocket-Protocol": "apikey"})
        self.refused(401, "echo", auth=None, headers={"X-API-Key": ""})

    def not_upgraded(self, *args, **kw):
        """Refused at the handshake: an HTTP status, or, where lws drops the
        connection before our filter runs, no answer at all; never a 101."""
        try:
            c = self.server.call(*args, **kw)
        except wsclient.ConnectionLost:
            return None
        if not isinstance(c, int):
            c.close()
            self.fail("handshake upgraded; expected a refusal")
        self.assertEqual(c, 401, "body %r" % c.body)
        return c

    def test_subprotocols_without_apikey_are_not_upgraded(self):
        # libwebsockets 4.1.6 drops a handshake none of whose offered
        # subprotocols is "apikey" before our filter runs: no HTTP answer
        # (a documented limit). It must never upgrade, nor log the offer.
        for offered in (KEY, "chat"):
            with self.subTest(offered=offered):
                self.not_upgraded("echo", auth=None,
                                  headers={"Sec-WebSocket-Protocol": offered})
        self.assertEqual(self.server.leaked(), [])

    def test_long_keys_are_refused_and_never_logged(self):
        # lws copies the offered subprotocols into a 128-byte buffer and
        # logs them on a mismatch: a long key is where a leak would show.
        for n in (100, 118):
            k = self.server.secret(secrets.token_urlsafe(n)[:n])
            with self.subTest(n=n):
                self.refused(401, "echo", auth="subprotocol", key=k)
                self.refused(401, "echo", auth="header", key=k)
        for n in (119, 128, 300, 700):
            k = self.server.secret(secrets.token_urlsafe(n)[:n])
            with self.subTest(n=n):
                self.refused(401, "echo", auth="header", key=k)
        k = self.server.secret("y" * 40 + secrets.token_hex(20))
        self.refused(401, "echo", auth=None, headers={
            "Sec-WebSocket-Protocol": "apikey, " + k + ", other"})
        self.assertEqual(self.server.leaked(), [])

    def test_long_wrong_keys_in_the_subprotocol_are_not_upgraded(self):
        # Past 127 bytes of Sec-WebSocket-Protocol ("apikey, " and a
        # 119-character key) libwebsockets 4.1.6 drops the handshake itself
        # (a documented limit): refused, and the key is never logged.
        for n in (119, 128, 300):
            k = self.server.secret(secrets.token_urlsafe(n)[:n])
            with self.subTest(n=n):
                self.not_upgraded("echo", auth="subprotocol", key=k)
        self.assertEqual(self.server.leaked(), [])

    def test_unknown_agent_is_refused_404(self):
        self.refused(404, "nobody")
        self.refused(404, "ECHO")
        self.server.wait_log(r"refused 127\.0\.0\.1: 404 Not Found: "
                             r"unknown agent")

    def test_missing_agent_id_is_refused_404(self):
        self.refused(404, None)
        self.refused(404, None, query="from=alice")
        self.refused(404, "")
        self.server.wait_log(r"refused 127\.0\.0\.1: 404 Not Found: "
                             r"no agent_id")

    def test_wrong_path_is_refused_404(self):
        for path in ("/telephony/websocket/calls?agent_id=echo",
                     "/telephony/websocket?agent_id=echo",
                     "/?agent_id=echo", "/call?agent_id=echo",
                     "/TELEPHONY/websocket/call?agent_id=echo"):
            with self.subTest(path=path):
                self.refused(404, path=path)
        self.server.wait_log(r"refused 127\.0\.0\.1: 404 Not Found: "
                             r"no such path")
        # The log names the path it refused, and the right one.
        self.server.wait_log(r'no such path "/telephony/websocket/calls" '
                             r'\(calls go to /telephony/websocket/call\)')

    def test_plain_http_get_is_404(self):
        # Not a file of the web folder (test_web.py has those), nor the
        # call path: nothing.
        status, _, _ = wsclient.http_get(HOST, self.server.port,
                                         "/no-such-page")
        self.assertEqual(status, 404)
        status, _, _ = wsclient.http_get(HOST, self.server.port,
                                         "/favicon.ico")
        self.assertEqual(status, 404)

    def test_foreign_origin_is_refused_403(self):
        port = self.server.port
        for origin in ("http://evil.example", "null",
                       "http://127.0.0.1:%d" % (port + 1),
                       "https://127.0.0.1:%d" % port,
                       "http://127.0.0.1:%d.evil.example" % port,
                       "http://127.0.0.1"):
            with self.subTest(origin=origin):
                self.refused(403, "echo", headers={"Origin": origin})
        self.server.wait_log(r"refused 127\.0\.0\.1: 403 Forbidden")

    def test_own_origins_are_allowed(self):
        port = self.server.port
        for origin in ("http://127.0.0.1:%d" % port,
                       "http://localhost:%d" % port,
                       "http://[::1]:%d" % port):
            with self.subTest(origin=origin):
                c, cid = self.open_call("echo", auth="subprotocol",
                                        headers={"Origin": origin})
                self.assert_stop_closes(c)


class LongKey(ServeTest):
    LONG = "L" * 150 + "-long-key"
    server_kw = {"key": LONG}

    def test_a_long_key_works_through_the_header_and_is_warned_about(self):
        # A key over 118 characters cannot be offered as a subprotocol
        # (libwebsockets takes at most 127 bytes of that header): the server
        # says so at start, without the key, and X-API-Key still works.
        self.server.wait_log(r"API key 1 is over 118 characters")
        self.assertTrue(self.open_call("echo", auth="header"))
        try:
            c = self.server.call("echo", auth="subprotocol")
        except wsclient.ConnectionLost:
            c = None
        if c is not None and not isinstance(c, int):
            c.close()
            self.fail("a key over 118 characters upgraded as a subprotocol")


class MaxCalls(ServeTest):
    server_args = ("--max-calls", "2")

    def test_third_call_is_refused_503_while_two_are_open(self):
        a, aid = self.open_call("silent")
        b, bid = self.open_call("echo")
        third = self.server.call("echo")
        if not isinstance(third, int):
            third.close()
            self.fail("a third call was let in past --max-calls 2")
        self.assertEqual(third, 503)
        self.server.wait_log(r"refused 127\.0\.0\.1: 503 Service "
                             r"Unavailable")
        # Two calls are still fine.
        a.send_event({"event": "dtmf", "dtmf": "1"})
        self.server.wait_log(r"call %s: dtmf 1" % aid)
        # One ends: there is room again.
        self.assert_stop_closes(a)
        self.server.wait_log(r"call %s end " % aid)
        c, cid = self.open_call("echo")
        self.assert_stop_closes(c)
        self.assert_stop_closes(b)


class EnvKeys(ServeTest):
    server_kw = {"key": None,
                 "env": {"WVOICE_API_KEYS": "env-key-one,,env-key-two"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.secret("env-key-one")
        cls.server.secret("env-key-two")

    def test_each_key_in_WVOICE_API_KEYS_is_accepted(self):
        for k in ("env-key-one", "env-key-two"):
            for auth in ("header", "subprotocol"):
                with self.subTest(key=k, auth=auth):
                    c, cid = self.open_call("echo", key=k, auth=auth)
                    self.assert_stop_closes(c)

    def test_other_keys_are_refused(self):
        for k in (KEY, "env-key-one,env-key-two", "env-key"):
            with self.subTest(key=k):
                c = self.server.call("echo", key=k)
                self.assertEqual(c, 401)

    def test_no_key_is_generated(self):
        self.assertFalse([ln for ln in self.server.stdout_lines
                          if ln.startswith("api key:")])


class TwoKeyOptions(ServeTest):
    server_args = ("--api-key", "second-key")
    server_kw = {"env": {"WVOICE_API_KEYS": "ignored-env-key"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.secret("second-key")
        cls.server.secret("ignored-env-key")

    def test_every_api_key_option_is_accepted(self):
        for k in (KEY, "second-key"):
            with self.subTest(key=k):
                c, _ = self.open_call("echo", key=k, auth="subprotocol")
                self.assert_stop_closes(c)

    def test_options_override_the_environment(self):
        self.assertEqual(self.server.call("echo", key="ignored-env-key"), 401)


class GeneratedKey(ServeTest):
    server_kw = {"key": None}

    def test_generated_key_is_printed_first_and_accepted(self):
        out = self.server.stdout_lines
        m = re.match(r"^api key: (\S+)$", out[0])
        self.assertTrue(m, "first stdout line %r" % out[0])
        self.assertTrue(out[1].startswith("listening on ws://"), out)
        key = self.server.secret(m.group(1))
        self.assertGreaterEqual(len(key), 16, "a short generated key")
        for auth in ("header", "subprotocol"):
            with self.subTest(auth=auth):
                c, cid = self.open_call("echo", key=key, auth=auth)
                self.assert_stop_closes(c)
        self.assertEqual(self.server.call("echo", key=KEY), 401)
        self.assertEqual(self.server.call("echo", auth=None), 401)

    def test_each_server_generates_its_own_key(self):
        other = Server(key=None)
        try:
            k1 = self.server.stdout_lines[0]
            k2 = other.stdout_lines[0]
            self.assertTrue(k2.startswith("api key: "))
            self.assertNotEqual(k1, k2)
            other.secret(k2.split(": ", 1)[1])
        finally:
            other.stop_clean()


class AllowOrigin(ServeTest):
    server_args = ("--allow-origin", "https://app.example.com",
                   "--allow-origin", "http://localhost:3000")

    def test_listed_origins_are_allowed(self):
        for origin in ("https://app.example.com", "http://localhost:3000"):
            with self.subTest(origin=origin):
                c, _ = self.open_call("echo", headers={"Origin": origin})
                self.assert_stop_closes(c)

    def test_unlisted_origins_are_refused_403(self):
        for origin in ("https://evil.example.com", "http://localhost:3001",
                       "https://app.example.com.evil.example"):
            with self.subTest(origin=origin):
                self.assertEqual(self.server.call(
                    "echo", headers={"Origin": origin}), 403)

    def test_clients_without_origin_are_not_browsers_and_pass(self):
        c, _ = self.open_call("echo")
        self.assert_stop_closes(c)


class AnyOrigin(ServeTest):
    server_args = ("--allow-origin", "*")

    def test_star_allows_any_origin(self):
        for origin in ("https://anything.example", "null"):
            with self.subTest(origin=origin):
                c, _ = self.open_call("echo", headers={"Origin": origin})
                self.assert_stop_closes(c)

    def test_star_does_not_waive_the_key(self):
        self.assertEqual(self.server.call(
            "echo", auth=None, headers={"Origin": "https://x.example"}), 401)


if __name__ == "__main__":
    harness.main()
