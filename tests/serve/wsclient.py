"""A small raw WebSocket client (RFC 6455) for testing `wvoice serve`.

It writes its own framing so that a test can send what no well-behaved
client would: binary frames, broken UTF-8, oversized or oddly fragmented
messages, raw bytes. Standard library only.

    c = connect("127.0.0.1", port, "/telephony/websocket/call?agent_id=echo",
                headers={"X-API-Key": key})
    if isinstance(c, int): ...        # refused: the HTTP status
    c.send_event({"event": "start"})
    ev = c.recv_event(timeout=5)

A connection may be used by two threads at once: one sending (sends are
serialised by a lock) and one receiving. Over TLS, use one thread only.
"""

import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import threading
import time

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"



def parse_close(payload):
    """(code, reason) of a close frame's payload; (None, "") if empty."""
    if len(payload) < 2:
        return None, ""
    return (struct.unpack("!H", payload[:2])[0],
            payload[2:].decode("utf-8", "replace"))

class Refused(int):
    """The HTTP status of a refused handshake; an int with the details."""

    def __new__(cls, status, head=b"", body=b""):
        obj = super().__new__(cls, status)
        obj.head = head
        obj.body = body
        return obj


class ProtocolError(Exception):
    """The server broke RFC 6455 (or the handshake)."""


class Closed(Exception):
    """A close frame arrived where an event was expected."""

    def __init__(self, code, reason):
        super().__init__("connection closed: %s %r" % (code, reason))
        self.code = code
        self.reason = reason


class ConnectionLost(Exception):
    """The TCP connection ended without a close frame."""


def _read_head(sock, deadline):
    buf = b""
    while b"\r\n\r\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no HTTP response head")
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            if buf:
                break
            raise ConnectionLost("closed before the HTTP response")
        buf += chunk
        if len(buf) > 65536:
            raise ProtocolError("HTTP response head too long")
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ProtocolError("bad status line %r" % lines[0])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            k = k.strip().lower()
            v = v.strip()
            headers[k] = headers[k] + ", " + v if k in headers else v
    return status, headers


def _read_body(sock, rest, headers, deadline):
    """The rest of a refusal's body, best effort (it is only for messages)."""
    want = int(headers.get("content-length", "0") or 0)
    while len(rest) < want and time.monotonic() < deadline:
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(4096)
        except (OSError, socket.timeout):
            break
        if not chunk:
            break
        rest += chunk
    return rest


def http_get(host, port, path, headers=None, timeout=5.0, tls=False):
    """A plain HTTP/1.1 GET (no upgrade). Returns (status, headers, body)."""
    sock = _open(host, port, tls, timeout)
    try:
        req = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
               "Connection: close"]
        for k, v in (headers or {}).items():
            req.append("%s: %s" % (k, v))
        sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode("latin-1"))
        deadline = time.monotonic() + timeout
        head, rest = _read_head(sock, deadline)
        status, hdrs = _parse_head(head)
        return status, hdrs, _read_body(sock, rest, hdrs, deadline)
    finally:
        sock.close()


def _open(host, port, tls, timeout):
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        sock = ctx.wrap_socket(sock, server_hostname=host)
    return sock


def connect(host, port, path, headers=None, tls=False, timeout=5.0):
    """Opens a WebSocket. headers: dict (or list of pairs) of extra request
    headers, e.g. {"Sec-WebSocket-Protocol": "apikey, KEY"}.

    Returns a Connection, or a Refused (an int: the HTTP status) when the
    server answered anything but 101. Raises ProtocolError when a 101 comes
    with a wrong Sec-WebSocket-Accept or upgrade headers.
    """
    sock = _open(host, port, tls, timeout)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        req = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
               "Upgrade: websocket", "Connection: Upgrade",
               "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        items = headers.items() if isinstance(headers, dict) else headers or []
        for k, v in items:
            req.append("%s: %s" % (k, v))
        sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode("latin-1"))
        deadline = time.monotonic() + timeout
        head, rest = _read_head(sock, deadline)
        status, hdrs = _parse_head(head)
        if status != 101:
            body = _read_body(sock, rest, hdrs, deadline)
            sock.close()
            return Refused(status, head, body)
        want = base64.b64encode(
            hashlib.sha1((key + GUID).encode()).digest()).decode()
        if hdrs.get("sec-websocket-accept") != want:
            raise ProtocolError("Sec-WebSocket-Accept %r, expected %r" %
                                (hdrs.get("sec-websocket-accept"), want))
        if hdrs.get("upgrade", "").lower() != "websocket":
            raise ProtocolError("Upgrade header %r" % hdrs.get("upgrade"))
        if "upgrade" not in hdrs.get("connection", "").lower():
            raise ProtocolError("Connection header %r" %
                                hdrs.get("connection"))
        return Connection(sock, hdrs, rest)
    except BaseException:
        sock.close()
        raise


class Connection:
    def __init__(self, sock, headers, pending=b""):
        self.sock = sock
        self.headers = headers
        # The subprotocol the server chose, or None.
        self.subprotocol = headers.get("sec-websocket-protocol")
        self._buf = bytearray(pending)
        self._send_lock = threading.Lock()
        self._frag_op = None
        self._frag = bytearray()
        self.close_sent = False
        self.close_code = None  # set once a close frame arrived
        self.close_reason = None
        self.pings = 0

    # ---- sending ----

    @staticmethod
    def frame(opcode, payload, fin=True, mask=True, rsv=0):
        """The bytes of one frame (exposed so tests can build broken ones)."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        b0 = (0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0xF)
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mbit | 127, n)
        if not mask:
            return head + payload
        key = os.urandom(4)
        return head + key + _mask(payload, key)

    def send_raw(self, data):
        with self._send_lock:
            self.sock.sendall(data)

    def send_frame(self, opcode, payload, fin=True, mask=True, rsv=0):
        self.send_raw(self.frame(opcode, payload, fin, mask, rsv))

    @classmethod
    def message(cls, opcode, data, pieces=1, mask=True):
        """The frames of one message (str is sent as UTF-8) split into
        `pieces` fragments, as bytes."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        pieces = max(1, min(pieces, max(1, len(data))))
        size = -(-len(data) // pieces) if data else 0
        chunks = [data[i:i + size] for i in range(0, len(data), size)] \
            if size else [b""]
        return b"".join(
            cls.frame(opcode if i == 0 else OP_CONT, c,
                      fin=i == len(chunks) - 1, mask=mask)
            for i, c in enumerate(chunks))

    def _send_message(self, opcode, data, pieces):
        self.send_raw(self.message(opcode, data, pieces))

    def send_text(self, data, pieces=1):
        """A text message (str, or bytes sent as they are, valid UTF-8 or
        not), split into `pieces` fragments."""
        self._send_message(OP_TEXT, data, pieces)

    def send_binary(self, data, pieces=1):
        self._send_message(OP_BINARY, data, pieces)

    def send_event(self, obj):
        self.send_text(json.dumps(obj, separators=(",", ":")))

    def send_ping(self, data=b""):
        self.send_frame(OP_PING, data)

    def send_close(self, code=1000, reason=""):
        payload = struct.pack("!H", code) + reason.encode() if code else b""
        try:
            self.send_frame(OP_CLOSE, payload)
        except OSError:
            pass
        self.close_sent = True

    # ---- receiving ----

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("nothing from the server in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("nothing from the server in time") from None
        except ssl.SSLWantReadError:
            return
        if not chunk:
            raise ConnectionLost("TCP connection closed without a close frame")
        self._buf += chunk

    def _next_frame(self, deadline):
        while True:
            frame = parse_frame(self._buf)
            if frame is not None:
                fin, op, rsv, masked, payload = frame
                if masked:
                    raise ProtocolError("server frame is masked")
                if rsv:
                    raise ProtocolError("RSV bits set: %#x" % rsv)
                return fin, op, payload
            self._fill(deadline)

    def recv(self, timeout=5.0):
        """The next message: (opcode, payload bytes) for text and binary;
        (OP_CLOSE, (code, reason)) for a close (answered if we had not
        closed first). Pings are answered and skipped; pongs skipped.
        Raises TimeoutError, ConnectionLost, ProtocolError."""
        deadline = time.monotonic() + timeout
        while True:
            fin, op, payload = self._next_frame(deadline)
            if op == OP_PING:
                self.pings += 1
                if not self.close_sent:
                    try:
                        self.send_frame(OP_PONG, payload)
                    except OSError:
                        pass
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                code, reason = parse_close(payload)
                self.close_code, self.close_reason = code, reason
                if not self.close_sent:
                    self.send_close(code or 1000)
                return OP_CLOSE, (code, reason)
            if op in (OP_TEXT, OP_BINARY):
                if self._frag_op is not None:
                    raise ProtocolError("new message inside a fragmented one")
                if fin:
                    return op, payload
                self._frag_op = op
                self._frag = bytearray(payload)
                continue
            if op == OP_CONT:
                if self._frag_op is None:
                    raise ProtocolError("continuation without a message")
                self._frag += payload
                if fin:
                    op, self._frag_op = self._frag_op, None
                    return op, bytes(self._frag)
                continue
            raise ProtocolError("unknown opcode %#x" % op)

    def recv_event(self, timeout=5.0):
        """The next text message as a JSON object. Raises Closed on a close
        frame, ProtocolError on a binary frame or bad JSON."""
        op, payload = self.recv(timeout)
        if op == OP_CLOSE:
            raise Closed(*payload)
        if op != OP_TEXT:
            raise ProtocolError("binary frame from the server")
        obj = json.loads(payload.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ProtocolError("server message is not an object: %r" % obj)
        return obj

    def wait_close(self, timeout=5.0):
        """Reads until the close frame: (code, reason, events before it)."""
        deadline = time.monotonic() + timeout
        events = []
        while True:
            try:
                ev = self.recv_event(max(0.001, deadline - time.monotonic()))
            except Closed as c:
                return c.code, c.reason, events
            events.append(ev)

    def wait_eof(self, timeout=2.0):
        """After the close handshake: True once the server closed TCP."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
                self._buf.clear()
        except ConnectionLost:
            return True
        except (TimeoutError, OSError):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse_frame(buf):
    """Takes one whole frame off the front of buf (a bytearray):
    (fin, opcode, RSV bits, masked, payload unmasked), or None while it is
    not all there."""
    if len(buf) < 2:
        return None
    n = buf[1] & 0x7F
    off = {126: 4, 127: 10}.get(n, 2)
    masked = bool(buf[1] & 0x80)
    if len(buf) < off:
        return None
    if n == 126:
        n = struct.unpack_from("!H", buf, 2)[0]
    elif n == 127:
        n = struct.unpack_from("!Q", buf, 2)[0]
    start = off + (4 if masked else 0)
    if len(buf) < start + n:
        return None
    payload = bytes(buf[start:start + n])
    if masked:
        payload = _mask(payload, bytes(buf[off:start]))
    head = buf[0]
    del buf[:start + n]
    return bool(head & 0x80), head & 0xF, head & 0x70, masked, payload


def _mask(data, key):
    if not data:
        return b""
    # XOR in one big-integer operation: fast enough for 64 KiB messages.
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(
        n, "big")
