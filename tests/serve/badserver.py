"""A scripted WebSocket server that misbehaves on purpose, for testing the
client side (`wvoice call`, the client API) against what `wvoice serve`
would never send: broken JSON, binary frames, oversized or non-UTF-8
messages, audio floods, events out of order, odd handshakes.

    srv = BadServer([wait_start(), start(), text("{oops"), audio(tone(1)),
                     hold(5)])
    ... run `wvoice call --url srv.url ...` ...
    srv.finish()                 # waits for the script and the client's close
    srv.events("out")            # what the client sent, decoded
    srv.client_close             # (code, reason) of the client's close frame

It listens on 127.0.0.1, port 0, and serves ONE connection in a thread of
its own: the HTTP upgrade (Sec-WebSocket-Accept; `Sec-WebSocket-Protocol:
apikey` when the client offered it, or whatever the test asks for), then
the script, a list of actions run in order, while a reader thread decodes
everything the client sends (frames must be masked), answers pings and
answers the client's close. After the script it lingers until the client
closes (or `linger` seconds), then closes TCP. Every wait has a deadline,
and the whole thing ends by `timeout` seconds after it was made: it never
hangs a suite. A script that failed (a wait that timed out, a socket error
while sending) is recorded in `error`; check() raises it.

Standard library only.
"""

import base64
import hashlib
import json
import math
import select
import socket
import struct
import threading
import time

import harness
import wsclient
from wsclient import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT

HOST = "127.0.0.1"
APIKEY = object()  # the default answer: "apikey" if offered, else none


class ScriptError(Exception):
    """A script step could not be done (a wait ran out, the client left)."""


class Message:
    """One message from the client, with its arrival time (monotonic)."""

    def __init__(self, t, op, data):
        self.t = t
        self.op = op
        self.data = data
        self.event = None
        if op == OP_TEXT:
            try:
                obj = json.loads(data.decode("utf-8"))
                self.event = obj if isinstance(obj, dict) else None
            except (UnicodeDecodeError, ValueError):
                pass

    @property
    def name(self):
        return self.event.get("event") if self.event else None

    def __repr__(self):
        if self.event is not None:
            return "<%s>" % self.name
        return "<op %d, %d bytes>" % (self.op, len(self.data))


# ---------------------------------------------------------------- actions

class Action:
    """One step of a script: a name for messages, and what it does."""

    def __init__(self, name, fn):
        self.name = name
        self.fn = fn

    def __repr__(self):
        return self.name


def text(obj, pieces=1):
    """A text message: a dict (sent as compact JSON), a str, or bytes sent
    as they are (UTF-8 or not); split into `pieces` fragments."""
    if isinstance(obj, dict):
        obj = json.dumps(obj, separators=(",", ":"))
    return Action("text", lambda s: s.send_message(OP_TEXT, obj, pieces))


def binary(data, pieces=1):
    return Action("binary", lambda s: s.send_message(OP_BINARY, data, pieces))


def frame(opcode, payload, fin=True, rsv=0):
    """One frame as given: for fragments sent by hand, or broken ones."""
    return Action("frame %d" % opcode,
                  lambda s: s.send_raw(wsclient.Connection.frame(
                      opcode, payload, fin=fin, mask=False, rsv=rsv)))


def raw(data):
    """Bytes on the socket, no framing."""
    return Action("raw", lambda s: s.send_raw(data))


def sleep(seconds):
    return Action("sleep %.2f" % seconds, lambda s: s.pause(seconds))


def wait_start(timeout=10.0):
    """Waits for the client's `start`."""
    return wait_event("start", timeout)


def wait_event(name, timeout=10.0, count=1):
    """Waits until the client has sent `count` events named `name`."""
    return Action("wait %s" % name,
                  lambda s: s.wait_for(lambda: len(s.events("out", name)) >=
                                       count, timeout, "client " + name))


def start(communication_id="c-bad-1"):
    """The server's `start` (the call is confirmed)."""
    ev = {"event": "start"}
    if communication_id is not None:
        ev["communication_id"] = communication_id
    return text(ev)


def event(name, **fields):
    ev = {"event": name}
    ev.update(fields)
    return text(ev)


def mark(name):
    return event("mark", mark=name)


def stop():
    return event("stop")


def audio(ulaw, realtime=True, frame_bytes=harness.FRAME):
    """mu-law bytes as `audio` events of frame_bytes each, at real time
    (one frame per frame's duration) or all at once."""
    def run(s):
        t0 = time.monotonic()
        for i in range(0, len(ulaw), frame_bytes):
            if realtime:
                s.pause(t0 + i / harness.RATE - time.monotonic())
            s.send_message(OP_TEXT, audio_text(ulaw[i:i + frame_bytes]))
    return Action("audio %.2f s" % (len(ulaw) / harness.RATE), run)


def flood(speed, seconds, frame_ms=20):
    """Loud audio at `speed` times real time for `seconds` of wall time,
    in events of frame_ms each. s.flood_seconds says how much went out."""
    def run(s):
        n = harness.RATE * frame_ms // 1000
        msg = audio_text(tone(n / harness.RATE, freq=500))
        t0 = time.monotonic()
        sent = 0
        while True:
            now = time.monotonic()
            if now - t0 >= seconds or s.stopping.is_set():
                break
            due = int((now - t0) * speed * 1000 / frame_ms) + 1
            while sent < due:
                s.send_message(OP_TEXT, msg)
                sent += 1
                s.flood_seconds = sent * frame_ms / 1000.0
            s.pause(0.002)
    return Action("flood x%g for %g s" % (speed, seconds), run)


def close(code=1000, reason="", timeout=5.0):
    """Sends a close frame and waits for the client's (or its EOF)."""
    def run(s):
        payload = b"" if code is None else \
            struct.pack("!H", code) + reason.encode("utf-8")
        s.close_sent = (code, reason)
        try:
            s.send_raw(wsclient.Connection.frame(OP_CLOSE, payload,
                                                 mask=False))
        except OSError:
            # The client may have closed first and gone (after a stop, say):
            # closes may cross. Its close or EOF must still come.
            pass
        s.wait_for(lambda: s.client_close is not None or s.eof_at,
                   timeout, "the client's close")
    return Action("close %s" % code, run)


def drop():
    """Closes TCP at once: no close frame (the connection is lost)."""
    def run(s):
        s.close_sent = (None, "dropped")
        with s._send_lock:
            conn = s._conn
        if conn is not None:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    return Action("drop", run)


def hold(seconds):
    """Does nothing for up to `seconds`, or until the client has gone."""
    return Action("hold %.1f" % seconds,
                  lambda s: s.wait_for(lambda: s.client_close is not None or
                                       s.eof_at, seconds, None))


def call(fn):
    """Any function of the server, for what the rest cannot say."""
    return Action(getattr(fn, "__name__", "call"), fn)


# ---------------------------------------------------------------- audio

def tone(seconds, freq=400.0, level_dbfs=-12.0):
    """A sine as mu-law bytes."""
    n = int(seconds * harness.RATE)
    a = 32768.0 * 10 ** (level_dbfs / 20) * math.sqrt(2)
    return harness.ulaw_encode(
        a * math.sin(2 * math.pi * freq * i / harness.RATE) for i in range(n))


def audio_text(ulaw):
    return json.dumps({"event": "audio",
                       "payload": base64.b64encode(ulaw).decode()},
                      separators=(",", ":"))


# ---------------------------------------------------------------- the server

class BadServer:
    """One scripted connection. Arguments:

    script       the actions, run after the handshake
    subprotocol  the Sec-WebSocket-Protocol answer: APIKEY (the default:
                 "apikey" if it was offered), None (no header) or a string
    status       the HTTP status of the answer; not 101: a refusal, with
                 `body` and then the connection closed
    handshake    False: accept TCP, read the request, never answer
    accept       a Sec-WebSocket-Accept to send instead of the right one
    headers      extra (name, value) pairs in the answer
    linger       after the script: how long to wait for the client to close
    timeout      the whole life of the server, from its making
    """

    def __init__(self, script=(), subprotocol=APIKEY, status=101, body=b"",
                 handshake=True, accept=None, headers=(), linger=10.0,
                 timeout=60.0):
        self.script = list(script)
        self.subprotocol = subprotocol
        self.status = status
        self.body = body
        self.handshake = handshake
        self.accept = accept
        self.headers = list(headers)
        self.linger = linger * harness.SLOW
        self.deadline = time.monotonic() + timeout * harness.SLOW

        self.request_line = None
        self.request = {}  # header names in lower case
        self.connected_at = None
        self.opened_at = None  # the 101 went out
        self.messages = []
        self.client_close = None  # (code, reason) of its close frame
        self.close_sent = None
        self.eof_at = None  # the client closed TCP
        self.pings = 0
        self.protocol_errors = []  # what the client did wrong on the wire
        self.flood_seconds = 0.0
        self.step = None  # the action running
        self.error = None
        self.stopping = threading.Event()
        self.done = threading.Event()

        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._conn = None
        self._reader = None
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, 0))
        self._listener.listen(4)
        self.port = self._listener.getsockname()[1]
        self.url = "ws://%s:%d" % (HOST, self.port)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    # ---- what the client sent ----

    def events(self, direction="out", name=None):
        """The client's text events (dicts); direction is for symmetry with
        the event logs: what the client sent is "out"."""
        assert direction == "out"
        with self._cond:
            return [m.event for m in self.messages if m.event is not None
                    and (name is None or m.event.get("event") == name)]

    def event_names(self):
        with self._cond:
            return [m.name for m in self.messages if m.event is not None]

    def api_key_seen(self):
        """The key as the client presented it (subprotocol or header)."""
        offer = self.request.get("sec-websocket-protocol", "")
        parts = [p.strip() for p in offer.split(",")]
        if len(parts) == 2 and parts[0] == "apikey":
            return parts[1]
        return self.request.get("x-api-key")

    # ---- the end ----

    def finish(self, timeout=None):
        """Waits for the script and the client's close (bounded), then
        stops. Returns self."""
        left = self.deadline - time.monotonic()
        if timeout is not None:
            left = min(left, timeout * harness.SLOW)
        self.done.wait(max(0.0, left))
        self.stop()
        return self

    def stop(self):
        self.stopping.set()
        with self._cond:
            self._cond.notify_all()
        for s in (self._conn, self._listener):
            if s is None:
                continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        self._thread.join(5)
        if self._reader:
            self._reader.join(5)

    def check(self):
        """Raises what went wrong on the server's side, if anything."""
        if self.error:
            raise AssertionError("bad server: %s (during %r; client sent %r)"
                                 % (self.error, self.step,
                                    self.messages[-10:]))
        if self.protocol_errors:
            raise AssertionError("the client broke RFC 6455: %s" %
                                 "; ".join(self.protocol_errors))

    # ---- for actions ----

    def send_raw(self, data):
        with self._send_lock:
            if self._conn is None:
                raise ScriptError("no connection")
            self._conn.sendall(data)

    def send_message(self, opcode, data, pieces=1):
        self.send_raw(wsclient.Connection.message(opcode, data, pieces,
                                                  mask=False))

    def pause(self, seconds):
        if seconds > 0:
            self.stopping.wait(min(seconds, max(0.0, self.deadline -
                                                time.monotonic())))

    def wait_for(self, pred, timeout, what):
        """Waits until pred() (under the lock); raises ScriptError naming
        `what` if the time runs out (what=None: just returns)."""
        end = min(time.monotonic() + timeout * harness.SLOW, self.deadline)
        with self._cond:
            while not pred():
                left = end - time.monotonic()
                if left <= 0 or self.stopping.is_set() or \
                        (self.eof_at and what):
                    if what is None:
                        return False
                    raise ScriptError("no %s within %.1f s%s" % (
                        what, timeout * harness.SLOW,
                        " (the client closed TCP)" if self.eof_at else ""))
                self._cond.wait(min(left, 0.1))
        return True

    # ---- the thread ----

    def _run(self):
        try:
            conn = self._accept()
            if conn is None:
                return
            self._conn = conn
            pending = self._read_request(conn)
            if not self.handshake:
                # Holds the socket open, saying nothing, until the client
                # gives up (EOF) or the server's time is up.
                self._read_until_eof(conn)
                return
            self._answer(conn)
            if self.status != 101:
                return
            self._reader = threading.Thread(target=self._read_loop,
                                            args=(conn, pending), daemon=True)
            self._reader.start()
            for action in self.script:
                if self.stopping.is_set():
                    break
                self.step = action
                action.fn(self)
            self.step = "linger"
            self.wait_for(lambda: (self.client_close is not None and
                                   self.close_sent is not None) or
                          self.eof_at, self.linger, None)
        except ScriptError as e:
            self.error = str(e)
        except OSError as e:
            if not self.stopping.is_set():
                self.error = "%s: %s" % (type(e).__name__, e)
        except Exception as e:  # noqa: BLE001
            self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            with self._send_lock:
                conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                # The client's FIN (or the time) before the close: no RST
                # that could eat what it has not read yet.
                if self._reader:
                    self._reader.join(min(2.0, max(0.0, self.deadline -
                                                   time.monotonic())))
                conn.close()
            try:
                self._listener.close()
            except OSError:
                pass
            self.done.set()
            with self._cond:
                self._cond.notify_all()

    def _accept(self):
        while not self.stopping.is_set():
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise ScriptError("no client connected")
            try:
                r, _, _ = select.select([self._listener], [], [],
                                        min(left, 0.2))
            except (OSError, ValueError):
                return None
            if r:
                conn, _ = self._listener.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.connected_at = time.monotonic()
                return conn
        return None

    def _recv(self, conn, timeout):
        """Some bytes, b"" at EOF, None when nothing came in time."""
        try:
            r, _, _ = select.select([conn], [], [], timeout)
        except (OSError, ValueError):
            return b""
        if not r:
            return None
        try:
            return conn.recv(65536)
        except OSError:
            return b""

    def _read_request(self, conn):
        buf = b""
        while b"\r\n\r\n" not in buf:
            left = self.deadline - time.monotonic()
            if left <= 0 or self.stopping.is_set():
                raise ScriptError("no complete HTTP request")
            chunk = self._recv(conn, min(left, 0.2))
            if chunk == b"":
                raise ScriptError("client left during its request")
            if chunk:
                buf += chunk
            if len(buf) > 65536:
                raise ScriptError("HTTP request head too long")
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.request_line = lines[0]
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if sep:
                k = k.strip().lower()
                v = v.strip()
                self.request[k] = self.request[k] + ", " + v \
                    if k in self.request else v
        return rest

    def _answer(self, conn):
        if self.status != 101:
            reason = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                      302: "Found", 503: "Service Unavailable"}.get(
                          self.status, "Refused")
            head = ["HTTP/1.1 %d %s" % (self.status, reason),
                    "Content-Type: text/plain",
                    "Content-Length: %d" % len(self.body),
                    "Connection: close"]
            head += ["%s: %s" % hv for hv in self.headers]
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                         + self.body)
            return
        key = self.request.get("sec-websocket-key", "")
        accept = self.accept or base64.b64encode(hashlib.sha1(
            (key + wsclient.GUID).encode()).digest()).decode()
        head = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
                "Connection: Upgrade", "Sec-WebSocket-Accept: " + accept]
        proto = self.subprotocol
        if proto is APIKEY:
            offered = [p.strip() for p in self.request.get(
                "sec-websocket-protocol", "").split(",")]
            proto = "apikey" if "apikey" in offered else None
        if proto is not None:
            head.append("Sec-WebSocket-Protocol: " + proto)
        head += ["%s: %s" % hv for hv in self.headers]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        self.opened_at = time.monotonic()

    def _recv_more(self, conn):
        """The next bytes from the client (b"" if none yet), or None at
        EOF (noted in eof_at) or past the server's lifetime."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return None
        chunk = self._recv(conn, min(left, 0.2))
        if chunk == b"":
            with self._cond:
                self.eof_at = time.monotonic()
                self._cond.notify_all()
            return None
        return chunk or b""

    def _read_until_eof(self, conn):
        while not self.stopping.is_set():
            if self._recv_more(conn) is None:
                return

    def _add(self, msg):
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def _read_loop(self, conn, pending):
        """Decodes the client's frames until EOF (or stop)."""
        buf = bytearray(pending)
        frag_op, frag = None, bytearray()
        while not self.stopping.is_set():
            parsed = wsclient.parse_frame(buf)
            if parsed is None:
                chunk = self._recv_more(conn)
                if chunk is None:
                    return
                buf += chunk
                continue
            fin, op, _, masked, payload = parsed
            if not masked:
                self.protocol_errors.append("unmasked frame (op %d)" % op)
            now = time.monotonic()
            if op == OP_PING:
                with self._cond:
                    self.pings += 1
                try:
                    self.send_raw(wsclient.Connection.frame(
                        OP_PONG, payload, mask=False))
                except (OSError, ScriptError):
                    pass
            elif op == OP_PONG:
                pass
            elif op == OP_CLOSE:
                code, reason = wsclient.parse_close(payload)
                answer = False
                with self._cond:
                    if self.client_close is None:
                        self.client_close = (code, reason)
                        self.client_close_at = now
                    if self.close_sent is None:
                        self.close_sent = (code, "echo")
                        answer = True
                    self._cond.notify_all()
                if answer:
                    try:
                        self.send_raw(wsclient.Connection.frame(
                            OP_CLOSE, payload[:2], mask=False))
                    except (OSError, ScriptError):
                        pass
            elif op in (OP_TEXT, OP_BINARY):
                if frag_op is not None:
                    self.protocol_errors.append("new message inside a "
                                                "fragmented one")
                if fin:
                    self._add(Message(now, op, bytes(payload)))
                else:
                    frag_op, frag = op, bytearray(payload)
            elif op == OP_CONT:
                if frag_op is None:
                    self.protocol_errors.append("stray continuation")
                    continue
                frag += payload
                if fin:
                    self._add(Message(now, frag_op, bytes(frag)))
                    frag_op = None
            else:
                self.protocol_errors.append("opcode %#x" % op)
