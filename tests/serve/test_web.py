#!/usr/bin/env python3
"""`wvoice serve` serves the browser client: a web folder's files at /,
with their types, revalidation (ETag, 304), the page's security headers,
no listing and no way out of the folder; --web, the default folders (the
build tree's, the installed one), the `open http://...` line, and the
calls and GET /healthz beside them.

Run: python3 test_web.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import harness
from harness import HOST, KEY, SLOW, ServeTest, Server
import wsclient
from test_ops import HttpConn, make_cert, run_cli

SECRET = "TOP-SECRET-OUTSIDE-THE-WEB-FOLDER"
SOURCE = os.path.abspath(os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))

# name: (bytes, Content-Type)
FILES = {
    "index.html": (b"<!doctype html><title>wv</title><p>the page</p>\n",
                   "text/html; charset=utf-8"),
    "app.js": (b"export const app = 1;\n", "text/javascript; charset=utf-8"),
    "mod.mjs": (b"export default 2;\n", "text/javascript; charset=utf-8"),
    "style.css": (b"body { margin: 0 }\n", "text/css; charset=utf-8"),
    "core.wasm": (b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 300,
                  "application/wasm"),
    "data.json": (b'{"a": 1}\n', "application/json"),
    "logo.png": (b"\x89PNG\r\n\x1a\nnot really", "image/png"),
    "icon.svg": (b"<svg xmlns='http://www.w3.org/2000/svg'/>\n",
                 "image/svg+xml"),
    "favicon.ico": (b"\x00\x00\x01\x00", "image/x-icon"),
    "ring.wav": (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
    "notes.txt": (b"plain notes\n", "application/octet-stream"),
    "sub/page.js": (b"export const sub = 3;\n",
                    "text/javascript; charset=utf-8"),
    "withindex/index.html": (b"<p>a folder's own page</p>\n",
                             "text/html; charset=utf-8"),
}
SECOND = {
    "app.js": b"export const app = 'the second folder';\n",
    "extra.wasm": b"\x00asm\x01\x00\x00\x00extra",
}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_web(base):
    """base/web (FILES, a hidden file, symlinks in and out), base/web2
    (SECOND), base/secret.txt outside both. Returns (web, web2)."""
    web, web2 = os.path.join(base, "web"), os.path.join(base, "web2")
    for name, (data, _) in FILES.items():
        write(os.path.join(web, name), data)
    for name, data in SECOND.items():
        write(os.path.join(web2, name), data)
    write(os.path.join(web, ".hidden"), SECRET.encode())
    write(os.path.join(base, "secret.txt"), SECRET.encode())
    os.symlink(os.path.join(base, "secret.txt"), os.path.join(web, "out.txt"))
    os.symlink("../secret.txt", os.path.join(web, "out-relative.js"))
    os.symlink(base, os.path.join(web, "outdir"))
    os.symlink("app.js", os.path.join(web, "inlink.js"))
    return web, web2


def raw(port, target, method="GET", headers=(), tls=False):
    """One request with the target sent as it is, read to the close:
    (status or None if the server closed without answering, bytes)."""
    sock = wsclient._open(HOST, port, tls, 5 * SLOW)
    try:
        head = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n" % (
            method, target, HOST, port)
        head += "".join("%s: %s\r\n" % h for h in headers)
        sock.sendall(head.encode("latin-1") + b"\r\n")
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    return (int(m.group(1)) if m else None), data


def get(server, path, headers=None):
    return wsclient.http_get(HOST, server.port, path, headers=headers,
                             timeout=5 * SLOW, tls=server.scheme == "wss")


def wait_stdout(server, count, timeout=5.0):
    """The server's first count stdout lines, once there are that many."""
    deadline = time.monotonic() + timeout * SLOW
    while len(server.stdout_lines) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(server.stdout_lines[:count])


def csp_directives(value):
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def build_tree_of_this_source(binary):
    """Whether binary is in a CMake build directory of this source tree."""
    cache = os.path.join(os.path.dirname(os.path.realpath(binary)),
                         "CMakeCache.txt")
    try:
        with open(cache, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("CMAKE_HOME_DIRECTORY:"):
                    home = line.split("=", 1)[1].strip()
                    return os.path.realpath(home) == os.path.realpath(SOURCE)
    except OSError:
        pass
    return False


def served_files(folder):
    """The files a folder would serve at its top: regular, not hidden."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [n for n in names if not n.startswith(".") and
            os.path.isfile(os.path.join(folder, n)) and
            not os.path.islink(os.path.join(folder, n))]


class DefaultFolders(ServeTest):
    """Without --web: the build tree's folders, or the installed one
    beside the program; a folder given and missing stops the start.

    A copy of the program runs as the harness's binary for a moment, so
    this class runs alone, one test at a time, before the others start
    (it is the module's first, and the runner waits for it)."""

    concurrent = False
    concurrent_class = False
    start_server = False
    temp_dir = "web-default"

    def start(self, binary=None, *args, **kw):
        saved = harness._BIN
        try:
            if binary:
                harness._BIN = binary
            server = Server(*args, **kw)
        finally:
            harness._BIN = saved
        self.addCleanup(server.stop_clean)
        return server

    def copy_binary(self, prefix):
        """The program as `make install` lays it out: PREFIX/bin/wvoice."""
        os.makedirs(os.path.join(prefix, "bin"))
        target = os.path.join(prefix, "bin", "wvoice")
        shutil.copy2(harness.binary(), target)
        return target

    def test_the_build_tree_serves_the_source_web_folder(self):
        if not build_tree_of_this_source(harness.binary()):
            self.skipTest("%s is not in a build tree of %s" % (
                harness.binary(), SOURCE))
        server = self.start()
        web = os.path.join(SOURCE, "web")
        wasm = os.path.join(SOURCE, "build-wasm", "web")
        found = [f for f in (web, wasm) if os.path.isdir(f)]
        names = served_files(web)
        if not found:
            server.wait_log(r"web: no folder to serve \(not found: %s, %s\)"
                            % (re.escape(web), re.escape(wasm)))
            self.assertEqual(get(server, "/")[0], 404)
            self.assertEqual(wait_stdout(server, 2)[1:], [])
            return
        server.wait_log(r"web: serving %s" % re.escape(found[0]))
        self.assertEqual(wait_stdout(server, 2)[1],
                         "open http://127.0.0.1:%d/" % server.port)
        # Others are editing web/ meanwhile: a file must come as it was
        # just before or just after.
        for folder in found:
            for name in served_files(folder)[:3]:
                if folder != web and name in names:
                    continue  # the source's file wins
                path = os.path.join(folder, name)
                with self.subTest(file=path):
                    before = open(path, "rb").read()
                    status, _, body = get(server, "/" + name)
                    after = open(path, "rb").read()
                    self.assertEqual(status, 200)
                    self.assertIn(body, (before, after))

    def test_installed_the_folder_beside_the_program_is_served(self):
        prefix = os.path.join(self.dir, "prefix")
        binary = self.copy_binary(prefix)
        share = os.path.join(prefix, "share", "wvoice", "web")
        write(os.path.join(share, "index.html"), b"<p>installed</p>\n")
        write(os.path.join(share, "core.wasm"), b"\x00asm\x01\x00\x00\x00")
        server = self.start(binary)
        server.wait_log(r"web: serving %s$" % re.escape(share))
        self.assertEqual(wait_stdout(server, 2)[1],
                         "open http://127.0.0.1:%d/" % server.port)
        status, _, body = get(server, "/")
        self.assertEqual((status, body), (200, b"<p>installed</p>\n"))
        status, hdrs, _ = get(server, "/core.wasm")
        self.assertEqual((status, hdrs["content-type"]),
                         (200, "application/wasm"))
        # Not the source tree's, though it exists.
        self.assertEqual(get(server, "/package.json")[0], 404)

    def test_installed_without_the_folder_still_takes_calls(self):
        prefix = os.path.join(self.dir, "bare")
        binary = self.copy_binary(prefix)
        server = self.start(binary)
        share = os.path.join(prefix, "share", "wvoice", "web")
        server.wait_log(r"web: no folder to serve \(not found: %s\): "
                        r"GET / answers 404; --web DIR serves one$"
                        % re.escape(share))
        self.assertEqual(len(server.log_lines(r"web: ")), 1)
        # No page: no line saying to open one.
        time.sleep(0.2 * SLOW)
        self.assertEqual(server.stdout_lines,
                         ["listening on ws://127.0.0.1:%d" % server.port])
        self.assertEqual(get(server, "/")[0], 404)
        status, _, body = get(server, "/healthz")
        self.assertEqual((status, json.loads(body)["status"]), (200, "ok"))
        c, _ = server.start_call("echo")
        c.send_event({"event": "stop"})
        self.assertEqual(c.wait_close(5 * SLOW)[0], 1000)

    def test_web_given_and_missing_is_a_start_error(self):
        missing = os.path.join(self.dir, "no-such-folder")
        a_file = os.path.join(self.dir, "a-file")
        write(a_file, b"x")
        good = os.path.join(self.dir, "good")
        os.makedirs(good)
        for args, says in (
                (["--web", missing], "cannot serve web folder %s: No such "
                                     "file or directory" % missing),
                (["--web", good, "--web", missing],
                 "cannot serve web folder %s: " % missing),
                (["--web", a_file], "cannot serve web folder %s: Not a "
                                    "directory" % a_file)):
            with self.subTest(args=args):
                code, out, err = run_cli("--port", "0", "--api-key", KEY,
                                         *args)
                self.assertEqual(code, 1, err)
                self.assertIn("wvoice serve: " + says, err)
                self.assertNotIn("listening", out)
                self.assertNotIn("open ", out)
        code, out, err = run_cli("--web")
        self.assertEqual(code, 2, err)

    def test_help_names_web(self):
        code, out, _ = run_cli("--help")
        self.assertEqual(code, 0)
        self.assertIn("--web DIR", out)
        self.assertIn("open http://HOST:PORT/#key=KEY", out)


class WebFolder(ServeTest):
    """Two folders, --web DIR --web DIR2: the first has the page."""

    concurrent = True
    temp_dir = "web"

    @classmethod
    def prepare(cls):
        cls.web, cls.web2 = make_web(cls.dir)
        cls.server_args = ("--web", cls.web, "--web", cls.web2)

    def assert_not_served(self, target, **kw):
        status, data = raw(self.server.port, target, **kw)
        self.assertIn(status, (None, 400, 403, 404),
                      "%s answered %s" % (target, data[:200]))
        self.assertNotIn(SECRET.encode(), data)
        self.assertNotIn(b"root:", data)

    def test_each_file_has_its_content_type(self):
        c = HttpConn(self.server.port)
        self.addCleanup(c.close)
        for name, (data, ctype) in FILES.items():
            with self.subTest(name=name):
                status, hdrs, body = c.request(path="/" + name)
                self.assertEqual(status, 200)
                self.assertEqual(hdrs["content-type"], ctype)
                self.assertEqual(int(hdrs["content-length"]), len(data))
                self.assertEqual(body, data)

    def test_root_and_a_folders_slash_serve_its_index_html(self):
        status, hdrs, body = get(self.server, "/")
        self.assertEqual(status, 200)
        self.assertEqual(body, FILES["index.html"][0])
        self.assertEqual(hdrs["content-type"], "text/html; charset=utf-8")
        status, _, body = get(self.server, "/withindex/")
        self.assertEqual(status, 200)
        self.assertEqual(body, FILES["withindex/index.html"][0])
        # A query changes nothing.
        status, _, body = get(self.server, "/?v=2")
        self.assertEqual((status, body), (200, FILES["index.html"][0]))

    def test_a_folder_without_index_html_is_404_and_never_listed(self):
        for path in ("/sub/", "/sub", "/withindex", "/web2/"):
            with self.subTest(path=path):
                status, _, body = get(self.server, path)
                self.assertEqual(status, 404)
                self.assertNotIn(b"page.js", body)
        self.assertEqual(get(self.server, "/sub/page.js")[0], 200)

    def test_missing_and_hidden_files_are_404(self):
        for path in ("/nope.js", "/index.htm", "/.hidden", "/sub/.x",
                     "/index.html/"):
            with self.subTest(path=path):
                status, _, body = get(self.server, path)
                self.assertEqual(status, 404)
                self.assertNotIn(SECRET.encode(), body)

    def test_no_path_leaves_the_folder(self):
        # The secret is readable: refusing it is the server's doing.
        with open(os.path.join(self.dir, "secret.txt")) as f:
            self.assertEqual(f.read(), SECRET)
        targets = [
            "/../secret.txt", "/../../../../etc/passwd",
            "/..%2fsecret.txt", "/..%2Fsecret.txt",
            "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
            "/%2e%2e%2fsecret.txt", "/%2E%2E%2Fsecret.txt",
            "/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/.%2e/secret.txt", "/sub/..%2f..%2fsecret.txt",
            "/sub/%2e%2e/%2e%2e/secret.txt", "/....//secret.txt",
            "//etc/passwd", "///etc/passwd", "/etc/passwd",
            self.dir + "/secret.txt",             # an absolute path
            "/" + self.dir + "/secret.txt",
            "http://%s:%d/../secret.txt" % (HOST, self.server.port),
            "secret.txt", "../secret.txt",
            "/..\\secret.txt", "/%5c..%5csecret.txt", "/..%5csecret.txt",
            "/sub\\..\\..\\secret.txt",
            "/%00/../secret.txt", "/..%00/secret.txt", "/app.js%00.html",
            "/index.html%00.js", "/%00/etc/passwd",
            "/out.txt", "/out-relative.js", "/outdir/secret.txt",
            "/outdir/web2/app.js", "/%2eoutdir/secret.txt",
        ]
        for target in targets:
            with self.subTest(target=target):
                self.assert_not_served(target)
                self.assert_not_served(target, method="HEAD")
        # libwebsockets ends the path at a %00 and does not count it: one
        # at the very end cannot be told from none, and names the file
        # before it, in the folder. Anything after a %00 is refused.
        for target, name in (("/%00", "index.html"),
                             ("/index.html%00", "index.html"),
                             ("/app.js%00", "app.js")):
            with self.subTest(target=target):
                status, data = raw(self.server.port, target)
                self.assertIn(status, (None, 400, 403, 404, 200))
                if status == 200:
                    self.assertTrue(data.endswith(b"\r\n\r\n" +
                                                  FILES[name][0]), data)

    def test_a_symlink_inside_the_folder_is_served(self):
        status, hdrs, body = get(self.server, "/inlink.js")
        self.assertEqual(status, 200)
        self.assertEqual(body, FILES["app.js"][0])
        self.assertEqual(hdrs["content-type"],
                         "text/javascript; charset=utf-8")

    def test_head_is_the_gets_headers_without_the_body(self):
        c = HttpConn(self.server.port)
        self.addCleanup(c.close)
        data, ctype = FILES["core.wasm"]
        status, head, _ = c.request("HEAD", "/core.wasm")
        self.assertEqual(status, 200)
        self.assertEqual(int(head["content-length"]), len(data))
        self.assertEqual(head["content-type"], ctype)
        # Nothing of a body came: the next answer reads clean.
        status, hdrs, body = c.request("GET", "/core.wasm")
        self.assertEqual((status, body), (200, data))
        for k in ("etag", "content-security-policy", "cache-control"):
            self.assertEqual(head[k], hdrs[k])

    def test_other_methods_are_405_with_allow(self):
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            for path in ("/", "/app.js", "/nope"):
                with self.subTest(method=method, path=path):
                    c = HttpConn(self.server.port)
                    try:
                        status, hdrs, _ = c.request(
                            method, path, body=b"x=1" if method in (
                                "POST", "PUT", "PATCH") else b"")
                    finally:
                        c.close()
                    self.assertEqual(status, 405)
                    self.assertEqual(hdrs["allow"], "GET, HEAD")

    def test_etag_revalidates_with_304(self):
        path = os.path.join(self.web, "changing.js")
        write(path, b"export const v = 1;\n")
        c = HttpConn(self.server.port)
        self.addCleanup(c.close)
        status, hdrs, body = c.request(path="/changing.js")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["cache-control"], "no-cache")
        etag = hdrs["etag"]
        self.assertRegex(etag, r'^"[^"]+"$')
        for inm in (etag, "W/" + etag, '"other", ' + etag, "*"):
            with self.subTest(if_none_match=inm):
                status, h304, body = c.request(
                    path="/changing.js", headers=[("If-None-Match", inm)])
                self.assertEqual(status, 304)
                self.assertEqual(body, b"")
                self.assertEqual(h304["etag"], etag)
                self.assertEqual(h304["cache-control"], "no-cache")
        status, _, body = c.request(path="/changing.js",
                                    headers=[("If-None-Match", '"other"')])
        self.assertEqual((status, body), (200, b"export const v = 1;\n"))
        # Rewritten, same size, within the same second: a new tag.
        write(path, b"export const v = 2;\n")
        status, hdrs, body = c.request(path="/changing.js",
                                       headers=[("If-None-Match", etag)])
        self.assertEqual((status, body), (200, b"export const v = 2;\n"))
        self.assertNotEqual(hdrs["etag"], etag)

    def test_security_headers_on_every_file(self):
        for name in ("index.html", "app.js", "core.wasm", "style.css"):
            with self.subTest(name=name):
                status, hdrs, _ = get(self.server, "/" + name)
                self.assertEqual(status, 200)
                self.assertEqual(hdrs["x-content-type-options"], "nosniff")
                self.assertEqual(hdrs["referrer-policy"], "no-referrer")
                self.assertEqual(hdrs["cache-control"], "no-cache")
                # Served without cross-origin isolation, as embedders are.
                for h in ("cross-origin-opener-policy",
                          "cross-origin-embedder-policy"):
                    self.assertNotIn(h, hdrs)
                csp = hdrs["content-security-policy"]
                d = csp_directives(csp)
                self.assertEqual(d["default-src"], ["'self'"])
                self.assertEqual(sorted(d["script-src"]),
                                 ["'self'", "'wasm-unsafe-eval'"])
                self.assertEqual(d["worker-src"], ["'self'"])
                for src in ("'self'", "ws:", "wss:"):
                    self.assertIn(src, d["connect-src"])
                self.assertEqual(d["style-src"], ["'self'"])
                self.assertEqual(d["object-src"], ["'none'"])
                self.assertEqual(d["base-uri"], ["'none'"])
                self.assertIn("frame-ancestors", d)
                self.assertNotIn("'unsafe-inline'", csp)
                self.assertNotIn("'unsafe-eval'", csp)

    def test_the_first_folder_wins_and_the_second_serves_the_rest(self):
        status, _, body = get(self.server, "/app.js")
        self.assertEqual((status, body), (200, FILES["app.js"][0]))
        status, hdrs, body = get(self.server, "/extra.wasm")
        self.assertEqual((status, body), (200, SECOND["extra.wasm"]))
        self.assertEqual(hdrs["content-type"], "application/wasm")
        self.server.wait_log(r"web: serving %s, %s$" % (
            re.escape(self.web), re.escape(self.web2)))

    def test_one_connection_takes_files_304s_404s_and_healthz(self):
        c = HttpConn(self.server.port)
        self.addCleanup(c.close)
        status, hdrs, _ = c.request(path="/style.css")
        self.assertEqual(status, 200)
        etag = hdrs["etag"]
        for path, headers, want in (
                ("/style.css", [("If-None-Match", etag)], 304),
                ("/nope", [], 404),
                ("/healthz", [], 200),
                ("/core.wasm", [], 200),
                ("/", [], 200)):
            with self.subTest(path=path):
                self.assertEqual(c.request(path=path, headers=headers)[0],
                                 want)
        self.assertFalse(c.closed_by_server(0.3), "closed a keep-alive")

    def test_healthz_and_calls_work_beside_the_files(self):
        status, hdrs, body = get(self.server, "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        self.assertIn(json.loads(body)["status"], ("ok",))
        c, _ = self.open_call("echo")
        self.assert_stop_closes(c)
        # The page's own origin may call (127.0.0.1 or localhost).
        for origin in ("http://127.0.0.1:%d" % self.server.port,
                       "http://localhost:%d" % self.server.port):
            with self.subTest(origin=origin):
                c, _ = self.open_call("echo", auth="subprotocol",
                                      headers={"Origin": origin})
                self.assert_stop_closes(c)
        # Only the call path upgrades; a file's path does not.
        self.assertEqual(self.server.call("echo", path="/index.html"), 404)

    def test_a_page_opened_by_address_may_call(self):
        """Listening on 0.0.0.0 and opened from another machine as
        http://ADDRESS:PORT/: the origin is the Host the browser used, an
        address. A name there is not enough (DNS rebinding)."""
        port = self.server.port
        for host, origin, want in (
                ("127.0.0.5:%d" % port, "http://127.0.0.5:%d" % port, 101),
                ("[fd00::5]:%d" % port, "http://[fd00::5]:%d" % port, 101),
                ("evil.example:%d" % port, "http://evil.example:%d" % port,
                 403),
                ("127.0.0.5:%d" % port, "http://127.0.0.6:%d" % port, 403),
                ("127.0.0.5:%d" % port, "https://127.0.0.5:%d" % port, 403),
                ("127.0.0.5", "http://127.0.0.5:%d" % port, 403)):
            with self.subTest(host=host, origin=origin):
                sock = socket.create_connection((HOST, port), 5 * SLOW)
                try:
                    sock.sendall((
                        "GET %s?agent_id=echo HTTP/1.1\r\nHost: %s\r\n"
                        "Origin: %s\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: "
                        "dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\nX-API-Key: %s\r\n\r\n"
                        % (harness.CALL_PATH, host, origin, KEY)).encode())
                    head = sock.recv(4096)
                finally:
                    sock.close()
                self.assertTrue(head.startswith(b"HTTP/1.1 %d " % want),
                                head[:80])

    def test_the_open_line_has_no_configured_key(self):
        lines = wait_stdout(self.server, 2)
        self.assertEqual(lines, [
            "listening on ws://127.0.0.1:%d" % self.server.port,
            "open http://127.0.0.1:%d/" % self.server.port])
        time.sleep(0.1 * SLOW)
        self.assertEqual(len(self.server.stdout_lines), 2)
        self.assertNotIn(KEY, "\n".join(self.server.stdout_lines))


class GeneratedKey(ServeTest):
    """No --api-key: the key is made up, and the page's link carries it
    in its fragment."""

    temp_dir = "web-key"
    server_kw = {"key": None}

    @classmethod
    def prepare(cls):
        cls.web, _ = make_web(cls.dir)
        cls.server_args = ("--web", cls.web)

    def test_open_line_carries_the_generated_key_after_listening(self):
        lines = wait_stdout(self.server, 3)
        self.assertEqual(len(lines), 3, lines)
        m = re.match(r"^api key: ([A-Za-z0-9_-]{20,})$", lines[0])
        self.assertTrue(m, lines[0])
        key = m.group(1)
        port = self.server.port
        self.assertEqual(lines[1:], [
            "listening on ws://127.0.0.1:%d" % port,
            "open http://127.0.0.1:%d/#key=%s" % (port, key)])
        # The link's key calls, and the page is there.
        c, _ = self.open_call("echo", key=key)
        self.assert_stop_closes(c)
        status, _, body = get(self.server, "/")
        self.assertEqual((status, body), (200, FILES["index.html"][0]))


class WebOverTls(ServeTest):
    temp_dir = "web-tls"

    @classmethod
    def prepare(cls):
        cls.web, _ = make_web(cls.dir)
        cert, key = make_cert(cls.dir)
        cls.server_args = ("--web", cls.web, "--tls-cert", cert,
                           "--tls-key", key)

    def test_open_line_says_https_and_the_page_comes_over_tls(self):
        port = self.server.port
        self.assertEqual(wait_stdout(self.server, 2), [
            "listening on wss://127.0.0.1:%d" % port,
            "open https://127.0.0.1:%d/" % port])
        status, hdrs, body = get(self.server, "/core.wasm")
        self.assertEqual((status, body), (200, FILES["core.wasm"][0]))
        self.assertEqual(hdrs["content-type"], "application/wasm")


if __name__ == "__main__":
    harness.main()
