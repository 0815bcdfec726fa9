"""A scripted attacker against `wvoice serve`, and the live call beside it.

Each attack is a function of the server's port and a Scale (how many
connections, how long a flood, how big a frame) that returns a Counter of
what the attacker saw at the end of each of its connections:

    "close 1009"     a close frame with that code (RFC 6455)
    "eof"            TCP closed by the server without a close frame
    "reset"          TCP reset by the server (a close frame lost under it)
    "open"           still open when the attacker gave up waiting
    "http 404"       an HTTP answer (no WebSocket): its status
    "101"            a handshake the server should not have taken

tests/hostile/test_hostile_server.py runs each at a small scale in
`make test`, tests/hostile/soak.py at full scale in `make soak`.

The live call (LiveCall) is a process of its own (`python3 attacks.py
live PORT`), so that an attacker holding the interpreter (masking a
16 MiB frame, say) cannot delay its frames: it holds an `echo` call,
speaks in turns at 50 frames a second and counts what comes back.

Standard library only; talks only to 127.0.0.1.
"""

import collections
import json
import os
import resource
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "serve"))
import harness  # noqa: E402
from harness import HOST, KEY, SILENCE, SLOW  # noqa: E402
import wsclient  # noqa: E402
from wsclient import (OP_BINARY, OP_CONT, OP_PING, OP_TEXT,  # noqa: E402
                      Connection)

MESSAGE_MAX = 65536  # the server's and the client's cap on one message


class Scale:
    """How hard the attacks push. SMALL is what `make test` runs; FULL is
    the issue's list, for `make soak`."""

    def __init__(self, conns, flood_s, big, frames_per_conn, audio_flood_s):
        self.conns = conns            # connections, calls, disconnects
        self.flood_s = flood_s        # a flood attack's length, shared by
                                      # its connections
        self.big = big                # the biggest frame, in bytes
        self.frames_per_conn = frames_per_conn  # bad frames one call sends
        self.audio_flood_s = audio_flood_s  # the 100x audio flood's length


SMALL = Scale(conns=50, flood_s=2.0, big=16 << 20, frames_per_conn=20,
              audio_flood_s=3.0)
FULL = Scale(conns=1000, flood_s=10.0, big=16 << 20, frames_per_conn=100,
             audio_flood_s=600.0)


def raise_fd_limit(want=8192):
    """1,000 connections need more descriptors than a shell's 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(want, hard), hard))


# ---------------------------------------------------------------- outcomes

def outcome(conn, timeout):
    """How a WebSocket ended, reading up to its close frame."""
    try:
        code, _, _ = conn.wait_close(max(0.01, timeout))
        return "close %s" % code
    except wsclient.ConnectionLost:
        return "eof"
    except TimeoutError:
        return "open"
    except wsclient.ProtocolError:
        return "protocol error"
    except OSError:  # ECONNRESET: the close frame, if any, was lost
        return "reset"
    finally:
        conn.close()


def outcomes(conns, timeout):
    """Each connection's outcome, all read by one deadline."""
    deadline = time.monotonic() + timeout
    return collections.Counter(outcome(c, deadline - time.monotonic())
                               for c in conns)


def socket_outcome(sock, timeout):
    """How a plain TCP connection ended: "eof", "reset", "open", or
    "data" if the server said something (an HTTP answer)."""
    sock.settimeout(max(0.01, timeout))
    try:
        data = sock.recv(4096)
        if not data:
            return "eof"
        return "http %s" % data.split(b" ", 2)[1].decode("latin-1") \
            if data.startswith(b"HTTP/") else "data"
    except socket.timeout:
        return "open"
    except OSError:
        return "reset"
    finally:
        sock.close()


def wait_all_closed(socks, timeout):
    """Waits, with one selector, until the server has closed every socket
    (or the time is up); returns the Counter of their outcomes."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    seen = collections.Counter()
    deadline = time.monotonic() + timeout
    left = len(socks)
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(min(0.5, deadline - time.monotonic())):
            sel.unregister(key.fileobj)
            left -= 1
            seen[socket_outcome(key.fileobj, 0.5)] += 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
        seen["open"] += 1
    sel.close()
    return seen


def call(port, query="agent_id=echo", timeout=10.0):
    """A call socket, the key in X-API-Key (a Connection or the status)."""
    return wsclient.connect(HOST, port, harness.CALL_PATH + "?" + query,
                            headers=[("X-API-Key", KEY)],
                            timeout=timeout * SLOW)


def started(port):
    """A call confirmed by `start`."""
    c = call(port)
    if isinstance(c, int):
        raise AssertionError("call refused with %d" % c)
    c.send_event({"event": "start"})
    ev = c.recv_event(10 * SLOW)
    if ev.get("event") != "start":
        raise AssertionError("first server event %r, not start" % ev)
    return c


def flooders(scale):
    """How many connections flood, and for how long each: a tenth of
    scale.conns, sharing scale.flood_s between them."""
    n = max(2, scale.conns // 10)
    return n, scale.flood_s / n


def send_until_closed(conn, chunks, seconds):
    """Sends the chunks (bytes, or a generator of them) until they run out,
    `seconds` pass, or the server stops reading (a send error)."""
    end = time.monotonic() + seconds
    try:
        for data in chunks:
            conn.send_raw(data)
            if time.monotonic() >= end:
                break
    except OSError:
        pass


def request_head(path, extra=()):
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % HOST,
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
             "Sec-WebSocket-Version: 13", "X-API-Key: " + KEY]
    return ("\r\n".join(lines + list(extra)) + "\r\n\r\n").encode("latin-1")


# ---------------------------------------------------------------- attacks

def slowloris(port, scale):
    """Handshakes sent a byte at a time, one byte per connection every
    0.5 s: the server must drop each one by its handshake timeout (10 s),
    none ever upgraded."""
    head = request_head(harness.CALL_PATH + "?agent_id=echo")
    socks = [socket.create_connection((HOST, port)) for _ in
             range(scale.conns)]
    pos = [0] * len(socks)
    seen = collections.Counter()
    deadline = time.monotonic() + 30 * SLOW
    live = list(range(len(socks)))
    while live and time.monotonic() < deadline:
        for i in list(live):
            try:
                socks[i].send(head[pos[i]:pos[i] + 1])
                pos[i] = min(pos[i] + 1, len(head) - 1)
            except OSError:
                live.remove(i)
        time.sleep(0.5)
        # The ones the server closed: their send fails next time round, or
        # a read says so now.
        for i in list(live):
            socks[i].setblocking(False)
            try:
                if socks[i].recv(1, socket.MSG_PEEK) == b"":
                    live.remove(i)
            except BlockingIOError:
                pass
            except OSError:
                live.remove(i)
    for i, s in enumerate(socks):
        seen["open" if i in live else socket_outcome(s, 0.5)] += 1
    return seen


def idle_connections(port, scale):
    """Connections that send nothing at all: each dropped by the server's
    handshake timeout."""
    socks = [socket.create_connection((HOST, port)) for _ in
             range(scale.conns)]
    return wait_all_closed(socks, 30 * SLOW)


def silent_calls(port, scale, hold=None):
    """Calls that send `start` and then nothing. Returns (Counter, the
    connections): held open for `hold` seconds, or handed back open."""
    conns = [started(port) for _ in range(scale.conns)]
    if hold is None:
        return collections.Counter(), conns
    return outcomes(conns, hold), []


def oversized(port, scale):
    """One text frame each of 16 MiB and of 200 KiB per connection (a few
    of the big ones, the rest the small): every one closed with 1009,
    the close frame read, not lost to a reset."""
    n_big = max(2, scale.conns // 25)
    conns = []
    for i in range(scale.conns):
        size = scale.big if i < n_big else 200 << 10
        c = started(port)
        # The frame's head says its whole size; the body follows in 64 KiB
        # pieces, sent until the server stops reading.
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, size) + b"\0\0\0\0"
        piece = b"a" * 65536
        send_until_closed(c, [head] + [piece] * (size // len(piece)),
                          scale.flood_s)
        conns.append(c)
    return outcomes(conns, 10 * SLOW)


def fragment_flood(port, scale):
    """A text message in one-byte fragments, heading past 64 KiB: each
    piece counts as a frame, so the flood limiter closes it (1008)
    before the size cap would (1009)."""
    frag = Connection.frame(OP_CONT, b"a", fin=False) * 4096
    conns = []
    n, seconds = flooders(scale)
    for _ in range(n):
        c = started(port)
        first = Connection.frame(OP_TEXT, b'{"event":"x","pad":"', fin=False)
        send_until_closed(c, _repeat(first, frag), seconds)
        conns.append(c)
    return outcomes(conns, 3 * SLOW)


def empty_continuation_flood(port, scale):
    """A text message opened and then continued by empty fragments, which
    never grow it: only a flood limit can end it (1008)."""
    frag = Connection.frame(OP_CONT, b"", fin=False) * 4096
    conns = []
    n, seconds = flooders(scale)
    for _ in range(n):
        c = started(port)
        send_until_closed(c, _repeat(Connection.frame(
            OP_TEXT, b"{", fin=False), frag), seconds)
        conns.append(c)
    return outcomes(conns, 3 * SLOW)


def binary_fragment_flood(port, scale):
    """A binary message in many fragments: closed 1003 at its first."""
    frag = Connection.frame(OP_CONT, b"\0" * 100, fin=False) * 1024
    conns = []
    n, seconds = flooders(scale)
    for _ in range(n):
        c = started(port)
        send_until_closed(c, _repeat(Connection.frame(
            OP_BINARY, b"\0" * 100, fin=False), frag), seconds)
        conns.append(c)
    return outcomes(conns, 3 * SLOW)


def ping_flood(port, scale):
    """Pings as fast as the socket takes them, pongs never read: a flood,
    closed 1008."""
    pings = Connection.frame(OP_PING, b"p") * 4096
    conns = []
    n, seconds = flooders(scale)
    for _ in range(n):
        c = started(port)
        send_until_closed(c, _repeat(b"", pings), seconds)
        conns.append(c)
    return outcomes(conns, 3 * SLOW)


# Frames that break RFC 6455's framing: the server fails the connection
# with 1002 (protocol error).
BAD_FRAMES = (
    [("rsv%d" % r, Connection.frame(OP_TEXT, b'{"event":"x"}', rsv=r))
     for r in range(1, 8)] +
    [("opcode %#x" % op, Connection.frame(op, b"xx"))
     for op in (0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF)] +
    [("stray continuation", Connection.frame(OP_CONT, b"xx")),
     ("ping in fragments", Connection.frame(OP_PING, b"p", fin=False))])
# A client's frame must be masked (RFC 6455 5.1): 1002 too.
UNMASKED = Connection.frame(OP_TEXT, b'{"event":"x"}', mask=False)


def bad_frames(port, scale, frames=None):
    """Each of BAD_FRAMES (or `frames`) on calls of its own, round after
    round."""
    frames = [f for _, f in BAD_FRAMES] if frames is None else frames
    conns = []
    for i in range(max(len(frames), scale.conns)):
        c = started(port)
        try:
            c.send_raw(frames[i % len(frames)])
        except OSError:
            pass
        conns.append(c)
    return outcomes(conns, 3 * SLOW)


def unmasked_frames(port, scale):
    """Client frames without a mask, on a tenth of scale.conns calls."""
    return bad_frames(port, Scale(flooders(scale)[0], 0, 0, 0, 0),
                      frames=[UNMASKED])


def oversized_control_frames(port, scale):
    """Pings with 126 and 65535 bytes of payload (control frames carry at
    most 125, RFC 6455 5.5)."""
    conns = []
    for i in range(max(2, scale.conns // 10)):
        c = started(port)
        try:
            c.send_frame(OP_PING, b"p" * (126 if i % 2 else 65535))
        except OSError:
            pass
        conns.append(c)
    return outcomes(conns, 10 * SLOW)


def abrupt_disconnects(port, scale):
    """Calls that start, send half of an audio frame and vanish: half with
    a reset, half with a FIN. Nothing to see for the attacker; the server
    must forget every one (its /healthz calls_up)."""
    msg = json.dumps(harness.audio_event(SILENCE)).encode()
    whole = Connection.frame(OP_TEXT, msg)
    for i in range(scale.conns):
        c = started(port)
        c.send_raw(whole[:len(whole) // 2])
        if i % 2:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))
        c.close()
    return collections.Counter(left=scale.conns)


def audio_flood(port, scale, speed=100, seconds=None):
    """Audio at `speed` times real time, call after call for `seconds`:
    each closed 1008 by the flood limit. Also counts how much audio each
    call got in before its close."""
    seconds = scale.audio_flood_s if seconds is None else seconds
    frame = Connection.frame(OP_TEXT, json.dumps(harness.audio_event(
        SILENCE)))
    seen = collections.Counter()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        c = started(port)
        t0, sent = time.monotonic(), 0
        try:
            # At most 5 s of one call: the limit acts well before.
            while time.monotonic() - t0 < 5.0:
                due = int((time.monotonic() - t0) * 50 * speed) + 1
                if due > sent:
                    c.send_raw(frame * (due - sent))
                    sent = due
                time.sleep(0.002)
        except OSError:
            pass
        seen[outcome(c, 10 * SLOW)] += 1
    return seen


def invalid_utf8_fragments(port, scale):
    """Text that is not UTF-8, cut so that the bad sequence straddles the
    fragments: closed 1007."""
    bad = [b'{"event":"mark","mark":"ab\xe2\x82"}',     # truncated
           b'{"event":"mark","mark":"\xc0\xaf"}',       # overlong
           b'{"event":"mark","mark":"\xed\xa0\x80"}',   # surrogate
           b'{"event":"mark","mark":"\xf4\x90\x80\x80"}',  # past U+10FFFF
           b'{"event":"mark","mark":"\xe2\x82\xe2\x82\xac"}']
    conns = []
    for i in range(scale.conns):
        data = bad[i % len(bad)]
        cut = data.index(b'"', 20) + 1 + (i // len(bad)) % 3
        frames = Connection.frame(OP_TEXT, data[:cut], fin=False)
        frames += b"".join(Connection.frame(OP_CONT, data[k:k + 1],
                                            fin=k == len(data) - 1)
                           for k in range(cut, len(data)))
        c = started(port)
        try:
            c.send_raw(frames)
        except OSError:
            pass
        conns.append(c)
    return outcomes(conns, 10 * SLOW)


def nested_json(port, scale):
    """JSON nested as deep as 64 KiB allows (32,000 arrays, 16,000
    objects...), each ignored as a bad frame; then `stop`, which the call
    must still take (close 1000)."""
    bodies = [b'{"event":"mark","mark":' + b"[" * 32000 + b"]" * 32000 + b"}",
              b'{"event":"x","a":' + b'{"a":' * 12000 + b"1" + b"}" * 12000
              + b"}",
              b"[" * 65536,
              b'{"event":"mark","mark":"m","x":' + b"[{" * 16000 + b"}"]
    conns = []
    for i in range(flooders(scale)[0]):
        c = started(port)
        try:
            for k in range(scale.frames_per_conn):
                c.send_text(bodies[(i + k) % len(bodies)][:MESSAGE_MAX])
            c.send_event({"event": "stop"})
        except OSError:
            pass
        conns.append(c)
    return outcomes(conns, 10 * SLOW)


def long_queries(port, scale):
    """Handshakes whose query values run to 4 KiB, 64 KiB and 1 MiB: past
    what the server takes in a request head. Never an upgrade: an HTTP
    refusal (414 or 431), or the connection dropped."""
    sizes = [4096, 65536, 1 << 20]
    names = ["from", "metadata", "agent_id", "x"]
    seen = collections.Counter()
    for i in range(scale.conns):
        n = sizes[i % len(sizes)]
        query = "agent_id=echo&%s=%s" % (names[i % len(names)], "A" * n)
        s = socket.create_connection((HOST, port))
        try:
            s.sendall(request_head(harness.CALL_PATH + "?" + query))
        except OSError:
            pass
        got = socket_outcome(s, 10 * SLOW)
        seen["101" if got == "http 101" else got] += 1
    return seen


# Paths out of the web folder (test_web.py has the full list, each
# checked against a secret file beside the folder).
TRAVERSALS = ["/../../../../etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd",
              "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd",
              "/....//....//etc/passwd", "/..\\..\\etc\\passwd",
              "/%00/../../etc/passwd", "/.%2e/.%2e/.%2e/etc/passwd",
              "/telephony/websocket/../../../../etc/passwd",
              "/healthz/../../etc/passwd"]


def path_traversal(port, scale):
    """GETs of TRAVERSALS, round after round: never a 200, never the
    file's text."""
    seen = collections.Counter()
    for i in range(scale.conns):
        try:
            status, _, body = wsclient.http_get(
                HOST, port, TRAVERSALS[i % len(TRAVERSALS)],
                timeout=10 * SLOW)
        except (OSError, wsclient.ConnectionLost):
            seen["eof"] += 1
            continue
        seen["leak" if b"root:" in body else "http %d" % status] += 1
    return seen


def _repeat(first, chunk):
    yield first
    while True:
        yield chunk


# ---------------------------------------------------------------- figures

def rss_kb(pid):
    """(VmRSS, VmHWM) of a process, in KiB."""
    got = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                got[k] = int(v.split()[0])
    return got.get("VmRSS", 0), got.get("VmHWM", 0)


def healthz(port):
    status, _, body = wsclient.http_get(HOST, port, "/healthz",
                                        timeout=10 * SLOW)
    if status != 200:
        raise AssertionError("/healthz answered %d" % status)
    return json.loads(body)


def wait_calls_up(port, at_most, timeout):
    """Waits until /healthz says at most `at_most` calls are up; returns
    the last count."""
    deadline = time.monotonic() + timeout
    while True:
        up = healthz(port)["calls_up"]
        if up <= at_most or time.monotonic() >= deadline:
            return up
        time.sleep(0.2)


def new_call_works(port):
    """A fresh echo call: connects, starts, is echoed a short utterance
    and hangs up with close 1000. True or the reason it did not."""
    try:
        c = started(port)
        pump = harness.Pump(c)
        pump.start()
        pump.say(harness.speech(0.4, seed=7))
        try:
            harness.collect(c, harness.is_mark("echo-1"), 10 * SLOW)
        finally:
            pump.stop()
        c.send_event({"event": "stop"})
        code, _, _ = c.wait_close(10 * SLOW)
        c.close()
        return True if code == 1000 else "closed %s" % code
    except (AssertionError, OSError, wsclient.Closed,
            wsclient.ConnectionLost, wsclient.ProtocolError) as e:
        return "%s: %s" % (type(e).__name__, e)


# ---------------------------------------------------------------- a trial

class Trial:
    """One attack on a fresh `wvoice serve` (room for 3,000 calls, quiet
    log) with the live call beside it, and what came of it: the attack's
    outcomes, the live call's figures, whether a new call worked and the
    server's RSS (KiB) before the attack, at its peak and after.

        t = Trial().run(attacks.ping_flood, attacks.SMALL)
    """

    def __init__(self, server_args=()):
        raise_fd_limit()
        self.srv = harness.Server("--max-calls", "3000", "--quiet",
                                  *server_args)
        self.pid = self.srv.proc.pid
        self.rss_samples = []

    def run(self, attack, scale, sample_s=None, **kw):
        """Runs attack(port, scale, **kw) beside the live call; sample_s:
        also note the RSS every sample_s seconds during the attack, in
        rss_samples (KiB). Returns self."""
        self.name = getattr(attack, "__name__", "attack")
        attacking = threading.Event()
        try:
            self.live = LiveCall(self.srv.port)
            self.rss_before, _ = rss_kb(self.pid)
            if sample_s:
                threading.Thread(target=self._sample, daemon=True, args=(
                    self.pid, sample_s, attacking)).start()
            try:
                self.seen = attack(self.srv.port, scale, **kw)
            finally:
                attacking.set()
            self.up = self.srv.proc.poll() is None
            self.new_call = new_call_works(self.srv.port)
            self.live_fig = self.live.finish()
            self.rss_after, self.rss_peak = rss_kb(self.pid)
        except BaseException:
            self.kill()
            raise
        return self

    def _sample(self, pid, every, done):
        while not done.wait(every):
            self.rss_samples.append(rss_kb(pid)[0])

    def kill(self):
        if self.srv.proc.poll() is None:
            self.srv.proc.kill()
            self.srv.proc.wait()

    def problems(self, peak_kb, after_kb):
        """What went wrong besides the outcomes: a list of sentences. RSS
        is checked against the bounds in plain builds only (a sanitizer's
        shadow memory and quarantine grow by design)."""
        out = []
        if not self.up:
            out.append("the server died")
        live = check_live(self.live_fig)
        if live:
            out.append("the live call: " + live)
        if self.new_call is not True:
            out.append("a new call: %s" % self.new_call)
        if not harness.SANITIZED:
            if self.rss_peak - self.rss_before > peak_kb:
                out.append("RSS peaked %d KiB over its start" % (
                    self.rss_peak - self.rss_before))
            if self.rss_after - self.rss_before > after_kb:
                out.append("RSS ended %d KiB over its start" % (
                    self.rss_after - self.rss_before))
        return out

    def figures(self):
        """One line: outcomes, the live call, RSS, the new call."""
        f = self.live_fig
        live = f.get("error") or "%d/%d frames, %d/%d turns, worst gap " \
            "%d ms" % (f["frames"], f["expected"], f["marks"], f["turns"],
                       f["worst_gap_ms"])
        return "%s: %s | live %s | RSS %d/%d/%d KiB | new call %s" % (
            self.name, ", ".join("%s x%d" % kv for kv in
                                 sorted(self.seen.items())),
            live, self.rss_before, self.rss_peak, self.rss_after,
            "ok" if self.new_call is True else self.new_call)


# ---------------------------------------------------------------- live call

SPEECH_S = 0.5   # each turn: this much speech...
PAUSE_S = 0.7    # ...then this much silence, which ends the utterance
SPEECH_FRAMES = int(SPEECH_S * 50)


class LiveCall:
    """The live `echo` call beside an attack, in a process of its own:
    start() once the server is up, finish() after the attack; finish()
    returns its figures (see live_main)."""

    def __init__(self, port, min_turns=2):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "live", str(port),
             str(min_turns)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=dict(os.environ))
        line = self.proc.stdout.readline().decode()
        if not line.startswith("ready"):
            self.proc.kill()
            raise AssertionError("the live call did not start: %r %s" % (
                line, self.proc.stderr.read().decode()[-2000:]))

    def finish(self, timeout=60.0):
        try:
            out, err = self.proc.communicate(b"", timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        try:
            return json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": "no figures (exit %s): %s" % (
                self.proc.returncode, err.decode()[-2000:])}


def check_live(fig, min_share=0.9, max_gap=2.0):
    """What is wrong with a live call's figures, or None: every turn
    echoed (its mark back), at least min_share of the frames the echo
    owed, no gap inside an echo over max_gap s (x SLOW), ended 1000."""
    if "error" in fig:
        return fig["error"]
    problems = []
    if fig["marks"] < fig["turns"]:
        problems.append("%d of %d turns echoed" % (fig["marks"],
                                                   fig["turns"]))
    if fig["frames"] < min_share * fig["expected"]:
        problems.append("%d echoed frames of at least %d" % (
            fig["frames"], fig["expected"]))
    if fig["worst_gap_ms"] > max_gap * 1000 * SLOW:
        problems.append("a %d ms gap inside an echo" % fig["worst_gap_ms"])
    if fig["close"] != 1000:
        problems.append("ended with %s" % fig["close"])
    return "; ".join(problems) or None


def live_main(port, min_turns):
    """Holds the call until stdin closes and at least min_turns turns are
    done, finishes the turn it is in, waits for the last echo, hangs up.
    Prints one JSON line: turns, marks, frames (echoed audio frames),
    expected (SPEECH_FRAMES per turn: the echo gives back the speech with
    its pre-roll and hangover, so at least that), worst_gap_ms (between
    two frames of one echo), close (the code of its end)."""
    c = started(port)
    print("ready", flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()),
                     daemon=True).start()
    state = {"marks": 0, "frames": 0, "gap": 0.0, "last": None,
             "close": None}
    lock = threading.Condition()

    def receive():
        try:
            while True:
                ev = c.recv_event(120)
                now = time.monotonic()
                with lock:
                    if ev.get("event") == "audio":
                        state["frames"] += 1
                        if state["last"] is not None:
                            state["gap"] = max(state["gap"],
                                               now - state["last"])
                        state["last"] = now
                    elif ev.get("event") == "mark":
                        state["marks"] += 1
                        state["last"] = None  # the next echo starts anew
                        lock.notify_all()
        except wsclient.Closed as e:
            with lock:
                state["close"] = e.code
                lock.notify_all()
        except (OSError, TimeoutError, wsclient.ConnectionLost,
                wsclient.ProtocolError) as e:
            with lock:
                state["close"] = type(e).__name__
                lock.notify_all()

    rx = threading.Thread(target=receive, daemon=True)
    rx.start()
    speech = harness.to_frames(harness.speech(SPEECH_S, seed=3))
    turn = speech + [SILENCE] * int(PAUSE_S * 50)
    t0, i, turns = time.monotonic(), 0, 0
    try:
        while not (done.is_set() and turns >= min_turns and
                   i % len(turn) == 0):
            wait = t0 + i * 0.02 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            c.send_event(harness.audio_event(turn[i % len(turn)]))
            i += 1
            if i % len(turn) == 0:
                turns += 1
        # The last echo comes back while silence keeps the stream going.
        deadline = time.monotonic() + 15 * SLOW
        while time.monotonic() < deadline:
            with lock:
                if state["marks"] >= turns or state["close"] is not None:
                    break
            time.sleep(0.02)
            c.send_event(harness.audio_event(SILENCE))
        c.send_event({"event": "stop"})
    except OSError:
        pass
    rx.join(10 * SLOW)
    c.close()
    with lock:
        print(json.dumps({"turns": turns, "marks": state["marks"],
                          "frames": state["frames"],
                          "expected": turns * SPEECH_FRAMES,
                          "worst_gap_ms": round(state["gap"] * 1000),
                          "close": state["close"]}), flush=True)


if __name__ == "__main__" and sys.argv[1:2] == ["live"]:
    live_main(int(sys.argv[2]), int(sys.argv[3]))
