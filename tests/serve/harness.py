"""Test harness for `wvoice serve`: runs the server, makes calls, makes audio.

- Server: starts `wvoice serve --port 0 --api-key test-key ...`, waits for
  its `listening on` line, keeps its stdout and stderr, stops it with
  SIGTERM and checks that it exited 0 and never logged a key.
- Audio: G.711 mu-law in Python, speech-like test signals, a caller "pump"
  that sends 20 ms frames at real time.
- main(): a unittest runner that runs the tests of a class concurrently
  when the class says it may (`concurrent = True`), so the suite stays
  short while most tests wait on real-time audio.

The binary: the first command-line argument, or $WVOICE_BIN.
Timing slack: $WV_SANITIZED (set by CMake to WV_SANITIZE) scales the
timeouts (x2, x4 for thread); latency bounds stay as the contract says.
"""

import base64
import collections
import faulthandler
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsclient  # noqa: E402

HOST = "127.0.0.1"
KEY = "test-key"
CALL_PATH = "/telephony/websocket/call"
RATE = 8000
FRAME = 160  # samples in 20 ms
SILENCE = b"\xff" * FRAME

SANITIZED = os.environ.get("WV_SANITIZED", "")
# Timeouts stretch under sanitizers; latency bounds do not (the TSan build
# meets them: barge-in measured ~40 ms there as in the plain build).
SLOW = 4.0 if "thread" in SANITIZED else 2.0 if SANITIZED else 1.0
BARGE_IN_LIMIT = 0.3  # s from the first speech frame sent to the clear

_BIN = None


def binary():
    global _BIN
    if _BIN is None:
        _BIN = os.environ.get("WVOICE_BIN")
        if not _BIN:
            here = os.path.dirname(os.path.abspath(__file__))
            _BIN = os.path.join(here, "..", "..", "build", "wvoice")
        _BIN = os.path.abspath(_BIN)
    return _BIN


# ---------------------------------------------------------------- G.711

def _ulaw_decode_one(u):
    u = ~u & 0xFF
    exp = (u >> 4) & 7
    mant = u & 0xF
    s = (((mant << 3) + 0x84) << exp) - 0x84
    return -s if u & 0x80 else s


def _ulaw_encode_one(s):
    # The common bias-0x84 encoder (Sun's, spandsp's).
    if s < 0:
        s, mask = -s, 0x7F
    else:
        mask = 0xFF
    s = min(s, 32635) + 0x84
    exp = max(0, (s >> 7).bit_length() - 1)
    mant = (s >> (exp + 3)) & 0xF
    return ((exp << 4) | mant) ^ mask


_DEC = [_ulaw_decode_one(u) for u in range(256)]
_ENC = bytes(_ulaw_encode_one(s) for s in range(-32768, 32768))


def ulaw_encode(samples):
    return bytes(_ENC[max(-32768, min(32767, int(s))) + 32768]
                 for s in samples)


def ulaw_decode(data):
    return [_DEC[b] for b in data]


def frame_energy(ulaw):
    """Mean square of a mu-law frame, in linear units."""
    d = _DEC
    return sum(d[b] * d[b] for b in ulaw) / max(1, len(ulaw))


def dbfs(mean_square):
    if mean_square <= 0:
        return -200.0
    return 10 * math.log10(mean_square / (32768.0 * 32768.0))


def loud(ulaw, floor_dbfs=-45.0):
    return dbfs(frame_energy(ulaw)) >= floor_dbfs


# ---------------------------------------------------------------- signals

_VOWELS = [  # formant frequencies and bandwidths (Hz) of a few vowels
    ((730, 90), (1090, 110), (2440, 170)),   # a
    ((270, 60), (2290, 100), (3010, 150)),   # i
    ((300, 60), (870, 90), (2240, 150)),     # u
    ((530, 80), (1840, 100), (2480, 160)),   # e
]
_speech_cache = {}


def speech(seconds, level_dbfs=-20.0, f0=120.0, seed=1):
    """Speech-like audio at 8 kHz: a glottal pulse train (pitch ~f0 with a
    little vibrato and jitter) through three formant resonators, one vowel
    per syllable, with a 4 Hz syllabic envelope; RMS at level_dbfs.
    Returns a list of int samples. Deterministic for a seed."""
    key = (seconds, level_dbfs, f0, seed)
    if key in _speech_cache:
        return list(_speech_cache[key])
    rng = random.Random(seed)
    n = int(seconds * RATE)
    out = [0.0] * n
    syll = RATE // 4  # 250 ms syllables
    state = [[0.0, 0.0] for _ in range(3)]
    coefs = []
    phase = 1.0
    for i in range(n):
        if i % syll == 0:
            formants = _VOWELS[(i // syll + seed) % len(_VOWELS)]
            coefs = []
            for f, bw in formants:
                r = math.exp(-math.pi * bw / RATE)
                coefs.append((2 * r * math.cos(2 * math.pi * f / RATE),
                              -r * r, 1 - r))
        t = i / RATE
        pitch = f0 * (1 + 0.04 * math.sin(2 * math.pi * 5 * t))
        phase += pitch / RATE
        x = rng.gauss(0, 0.02)
        if phase >= 1.0:
            phase -= 1.0
            x += 1.0 + rng.uniform(-0.1, 0.1)
        for k, (b1, b2, g) in enumerate(coefs):
            s = state[k]
            y = g * x + b1 * s[0] + b2 * s[1]
            s[1], s[0] = s[0], y
            x = y
        # Syllables: loud centres, softer (never silent) joins.
        env = 0.35 + 0.65 * (0.5 - 0.5 * math.cos(2 * math.pi * (i % syll)
                                                    / syll))
        out[i] = x * env
    ramp = min(n // 2, RATE // 50)  # 20 ms fades
    for i in range(ramp):
        g = i / ramp
        out[i] *= g
        out[n - 1 - i] *= g
    rms = math.sqrt(sum(v * v for v in out) / max(1, n)) or 1.0
    gain = 32768.0 * 10 ** (level_dbfs / 20) / rms
    res = [max(-32768, min(32767, int(round(v * gain)))) for v in out]
    _speech_cache[key] = tuple(res)
    return list(res)


def to_frames(samples):
    """mu-law 20 ms frames; the last one padded with silence."""
    data = ulaw_encode(samples)
    if len(data) % FRAME:
        data += b"\xff" * (FRAME - len(data) % FRAME)
    return [data[i:i + FRAME] for i in range(0, len(data), FRAME)]


def audio_event(ulaw):
    return {"event": "audio", "payload": base64.b64encode(ulaw).decode()}


def figure(name, value, unit=""):
    """Prints a measured figure (a latency, a rate) for the run's log."""
    print("figure: %s = %s%s" % (name, value, unit), flush=True)


def is_uuid4(s):
    try:
        u = uuid.UUID(s)
    except (ValueError, TypeError, AttributeError):
        return False
    return u.version == 4 and str(u) == s and u.variant == uuid.RFC_4122


# ---------------------------------------------------------------- the caller

class Utterance:
    """Frames the pump sends; the times its first and last frames left, and
    when the last was due. A frame never leaves before it is due, so
    last_due + N * 20 ms bounds when the server can have had N frames more;
    last_sent is later by however long a loaded machine kept the pump."""

    def __init__(self, frames):
        self.frames = frames
        self.first_sent = None
        self.first_loud_sent = None
        self.last_sent = None
        self.last_due = None
        self.done = threading.Event()

    @property
    def seconds(self):
        return len(self.frames) * FRAME / RATE


class Pump(threading.Thread):
    """Sends the caller's audio: one 20 ms frame every 20 ms, on a fixed
    schedule, from what say() queued, else silence (mu-law 0xFF)."""

    def __init__(self, conn, silence=True):
        super().__init__(daemon=True)
        self.conn = conn
        self.silence = silence
        self._queue = collections.deque()
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self.sent = 0
        self.error = None
        self.started_at = None

    def say(self, samples_or_frames):
        frames = samples_or_frames
        if frames and not isinstance(frames[0], (bytes, bytearray)):
            frames = to_frames(frames)
        u = Utterance(list(frames))
        with self._lock:
            for i, f in enumerate(u.frames):
                self._queue.append((f, u, i))
        return u

    def run(self):
        t0 = self.started_at = time.monotonic()
        i = 0
        while not self._halt.is_set():
            due = t0 + i * 0.02
            wait = due - time.monotonic()
            if wait > 0 and self._halt.wait(wait):
                break
            with self._lock:
                item = self._queue.popleft() if self._queue else None
            if item is None and not self.silence:
                i += 1
                continue
            frame = item[0] if item else SILENCE
            try:
                self.conn.send_event(audio_event(frame))
            except OSError as e:
                self.error = e
                break
            now = time.monotonic()
            self.sent += 1
            if item:
                _, u, k = item
                if k == 0:
                    u.first_sent = now
                if u.first_loud_sent is None and loud(frame):
                    u.first_loud_sent = now
                if k == len(u.frames) - 1:
                    u.last_sent = now
                    u.last_due = due
                    u.done.set()
            i += 1

    def stop(self):
        self._halt.set()
        if self.is_alive():
            self.join(5)


class Sender(threading.Thread):
    """Sends bytes on a connection from a thread of its own, so the test
    can read at the same time; `error` is the OSError that stopped it."""

    def __init__(self, conn, data):
        super().__init__(daemon=True)
        self.conn = conn
        self.data = data
        self.error = None
        self.start()

    def run(self):
        try:
            self.conn.send_raw(self.data)
        except OSError as e:
            self.error = e


class Received:
    """What the agent sent, with arrival times (time.monotonic())."""

    def __init__(self):
        self.items = []  # (t, event dict)

    def add(self, ev, t=None):
        self.items.append((t if t is not None else time.monotonic(), ev))

    def audio(self):
        return [(t, base64.b64decode(ev["payload"])) for t, ev in self.items
                if ev.get("event") == "audio"]

    def names(self):
        return [describe(ev) for _, ev in self.items]

    def first(self, pred):
        for t, ev in self.items:
            if pred(ev):
                return t, ev
        return None, None


def describe(ev):
    e = ev.get("event")
    if e == "mark":
        return "mark:" + str(ev.get("mark"))
    return str(e)


def collect(conn, until, timeout, received=None):
    """Receives events into `received` until until(ev) is true for one
    (returns it) or the time runs out (raises AssertionError). A close
    frame raises wsclient.Closed."""
    received = received if received is not None else Received()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out after %.1f s; got %s" % (
                timeout, _summary(received)))
        try:
            ev = conn.recv_event(left)
        except TimeoutError:
            continue
        received.add(ev)
        if until(ev):
            return ev


def _summary(received):
    names = received.names()
    out, last, n = [], None, 0
    for x in names + [None]:
        if x == last:
            n += 1
            continue
        if last is not None:
            out.append(last if n == 1 else "%s x%d" % (last, n))
        last, n = x, 1
    return "[" + ", ".join(out[-20:]) + "]"


def is_mark(name):
    return lambda ev: ev.get("event") == "mark" and ev.get("mark") == name


def is_event(name):
    return lambda ev: ev.get("event") == name


# ---------------------------------------------------------------- the server

class Server:
    """One `wvoice serve` process."""

    def __init__(self, *extra, key=KEY, env=None, port=0, ready=True,
                 timeout=None):
        self.key = key
        self.args = [binary(), "serve"]
        if port is not None:
            self.args += ["--port", str(port)]
        if key is not None:
            self.args += ["--api-key", key]
        self.args += [str(a) for a in extra]
        self.secrets = set([key] if key else [])
        self.stdout_lines = []
        self.stderr_lines = []
        # Reentrant: wait_ready() calls log() while it holds it.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        e = dict(os.environ)
        e.pop("WVOICE_API_KEYS", None)
        e.update(env or {})
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=e)
        self._readers = [
            threading.Thread(target=self._read,
                             args=(self.proc.stdout, self.stdout_lines),
                             daemon=True),
            threading.Thread(target=self._read,
                             args=(self.proc.stderr, self.stderr_lines),
                             daemon=True)]
        for t in self._readers:
            t.start()
        self.exit_code = None
        self.port = None
        self.url = None
        if ready:
            self.wait_ready(timeout or 30 * SLOW)

    def _read(self, pipe, lines):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                lines.append(line)
                self._cond.notify_all()
            if os.environ.get("WV_TEST_ECHO"):
                sys.stderr.write("[server] %s\n" % line)
        with self._cond:
            self._cond.notify_all()

    def wait_ready(self, timeout):
        pat = re.compile(r"^listening on (wss?)://([^\s]+):(\d+)$")
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.stdout_lines:
                    m = pat.match(line)
                    if m:
                        self.scheme = m.group(1)
                        self.port = int(m.group(3))
                        self.url = line.split(" ", 2)[2]
                        return
                if self.proc.poll() is not None and \
                        not any(t.is_alive() for t in self._readers):
                    raise AssertionError(
                        "server exited %s before listening:\n%s" % (
                            self.proc.returncode, self.log()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("server not listening after %.0f s:"
                                         "\n%s" % (timeout, self.log()))
                self._cond.wait(min(left, 0.2))

    # ---- logs ----

    def log(self):
        with self._lock:
            return "\n".join(self.stderr_lines)

    def log_tail(self, n=40):
        with self._lock:
            return "\n".join(self.stderr_lines[-n:])

    def wait_log(self, pattern, timeout=5.0):
        """The first stderr line matching the regex; waits for it."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * SLOW
        with self._cond:
            while True:
                for line in self.stderr_lines:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "no log line matching %r in %.1f s; log tail:\n%s" % (
                            pattern, timeout * SLOW,
                            "\n".join(self.stderr_lines[-30:])))
                self._cond.wait(min(left, 0.1))

    def log_lines(self, pattern):
        rx = re.compile(pattern)
        with self._lock:
            return [ln for ln in self.stderr_lines if rx.search(ln)]

    def secret(self, s):
        """Remembers a string that must never show up on stderr."""
        with self._lock:
            self.secrets.add(s)
        return s

    def leaked(self):
        """Secrets that appeared on stderr (any of them, even partly:
        any 12-character piece of a long key)."""
        text = self.log()
        with self._lock:
            secrets = list(self.secrets)
        found = []
        for s in secrets:
            if not s:
                continue
            pieces = [s] if len(s) <= 12 else \
                [s[i:i + 12] for i in range(0, len(s) - 11)]
            if any(p in text for p in pieces):
                found.append(s)
        return found

    # ---- calls ----

    def call(self, agent="echo", auth="header", key=None, query="",
             headers=None, path=None, tls=None, timeout=5.0):
        """Opens a call socket. auth: "header" (X-API-Key), "subprotocol"
        (Sec-WebSocket-Protocol: apikey, KEY) or None. Returns a
        wsclient.Connection or the HTTP status of a refusal."""
        key = self.key if key is None else key
        h = []
        if auth == "header":
            h.append(("X-API-Key", key))
        elif auth == "subprotocol":
            h.append(("Sec-WebSocket-Protocol", "apikey, " + key))
        h += list((headers or {}).items())
        if path is None:
            path = CALL_PATH
            q = []
            if agent is not None:
                q.append("agent_id=" + agent)
            if query:
                q.append(query)
            if q:
                path += "?" + "&".join(q)
        return wsclient.connect(HOST, self.port, path, headers=h,
                                tls=self.scheme == "wss" if tls is None
                                else tls, timeout=timeout * SLOW)

    def start_call(self, agent="echo", **kw):
        """A call confirmed by `start`: (connection, communication_id)."""
        c = self.call(agent, **kw)
        if isinstance(c, int):
            raise AssertionError("call to %s refused with %d" % (agent, c))
        c.send_event({"event": "start"})
        ev = c.recv_event(10 * SLOW)
        if ev.get("event") != "start":
            raise AssertionError("first server event %r, not start" % ev)
        return c, ev.get("communication_id")

    # ---- the end ----

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Signals the server and waits for it; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.exit_code = self.proc.wait(timeout or 15 * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.exit_code = self.proc.wait()
            raise AssertionError("server did not exit within %.0f s of %s;"
                                 " log tail:\n%s" % (
                                     timeout or 15 * SLOW, sig,
                                     self.log_tail()))
        for t in self._readers:
            t.join(5)
        return self.exit_code

    def wait_exit(self, timeout=None):
        """Waits for the server to exit by itself; returns its exit code."""
        try:
            self.exit_code = self.proc.wait(timeout or 20 * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server still running after %.0f s:\n%s"
                                 % (timeout or 20 * SLOW, self.log_tail()))
        for t in self._readers:
            t.join(5)
        return self.exit_code

    def check_clean(self):
        """After stop(): exit 0, no key on stderr, no sanitizer report."""
        problems = []
        if self.exit_code != 0:
            problems.append("exit status %s (expected 0)" % self.exit_code)
        leaks = self.leaked()
        if leaks:
            problems.append("API key(s) on stderr: %d of them" % len(leaks))
        log = self.log()
        for marker in ("AddressSanitizer", "LeakSanitizer",
                       "ThreadSanitizer", "runtime error:"):
            if marker in log:
                problems.append("sanitizer report (%s) on stderr" % marker)
        if problems:
            raise AssertionError("server %s: %s\nlog tail:\n%s" % (
                " ".join(self.args[1:]), "; ".join(problems),
                self.log_tail(60)))

    def stop_clean(self):
        self.stop()
        self.check_clean()


class ServeTest(unittest.TestCase):
    """A test class with one server for all its tests (args in
    server_args). Every test checks at its end that no key reached the
    log so far; the class checks a clean exit at the end."""

    server_args = ()
    server_kw = {}
    server = None
    start_server = True  # False: the tests run wvoice themselves
    temp_dir = None      # a name: cls.dir is a fresh directory, removed
                         # when the class ends

    @classmethod
    def prepare(cls):
        """Runs before the server starts: write files into cls.dir, set
        cls.server_args."""

    @classmethod
    def stop_server(cls):
        cls.server.stop_clean()

    @classmethod
    def setUpClass(cls):
        if cls.temp_dir:
            cls.dir = tempfile.mkdtemp(prefix="wv-%s-" % cls.temp_dir)
        try:
            cls.prepare()
            if cls.start_server:
                cls.server = Server(*cls.server_args, **cls.server_kw)
        except BaseException:
            cls.remove_dir()
            raise

    @classmethod
    def remove_dir(cls):
        if cls.temp_dir:
            shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server:
                cls.stop_server()
        finally:
            cls.remove_dir()

    def tearDown(self):
        if self.server and self.server.leaked():
            self.fail("an API key appeared on the server's stderr")

    # ---- helpers shared by the test files ----

    def open_call(self, agent="echo", **kw):
        c, cid = self.server.start_call(agent, **kw)
        self.addCleanup(c.close)
        self.assertTrue(is_uuid4(cid), "communication_id %r" % cid)
        return c, cid

    def start_pump(self, conn, **kw):
        p = Pump(conn, **kw)
        p.start()
        self.addCleanup(p.stop)
        return p

    def assert_stop_closes(self, conn, timeout=5.0):
        """Sends stop; the server must close with 1000 (no stop back)."""
        conn.send_event({"event": "stop"})
        code, reason, events = conn.wait_close(timeout * SLOW)
        self.assertEqual(code, 1000, "close reason %r" % reason)
        self.assertNotIn("stop", [e.get("event") for e in events],
                         "the server answered a client stop with stop")

    def assert_closes_with(self, conn, code, timeout=5.0):
        try:
            got, reason, _ = conn.wait_close(timeout * SLOW)
        except wsclient.ConnectionLost:
            self.fail("the server closed TCP without a close frame "
                      "(expected close %d)" % code)
        self.assertEqual(got, code, "close reason %r" % reason)
        return reason


# ---------------------------------------------------------------- the runner

class _Holder:
    """Stands for a class-level fixture in the results."""

    def __init__(self, name):
        self.name = name

    def id(self):
        return self.name

    def __str__(self):
        return self.name

    def shortDescription(self):
        return None


class _Result(unittest.TestResult):
    """Thread-safe; one line per test as it ends, with the server's log
    tail on failures."""

    def __init__(self):
        super().__init__()
        self._lock = threading.RLock()
        self._started = {}
        self.lines = []

    def startTest(self, test):
        with self._lock:
            super().startTest(test)
            self._started[test.id()] = time.monotonic()

    def _line(self, test, status):
        t = time.monotonic() - self._started.get(test.id(), time.monotonic())
        line = "%-6s %6.2fs  %s" % (status, t, test.id())
        print(line, flush=True)
        self.lines.append(line)

    def addSuccess(self, test):
        with self._lock:
            super().addSuccess(test)
            self._line(test, "ok")

    def _fail(self, kind, test, err):
        srv = getattr(test, "server", None)
        if isinstance(srv, Server):
            tail = srv.log_tail(30)
            exc = err[1]
            if exc is not None and tail:
                note = "\n--- server log tail ---\n" + tail
                try:
                    exc.args = (str(exc) + note,) if not exc.args else \
                        (str(exc.args[0]) + note,) + tuple(exc.args[1:])
                except Exception:  # noqa: BLE001
                    pass
        getattr(super(), "add" + kind)(test, err)
        self._line(test, "FAIL" if kind == "Failure" else "ERROR")

    def addFailure(self, test, err):
        with self._lock:
            self._fail("Failure", test, err)

    def addError(self, test, err):
        with self._lock:
            self._fail("Error", test, err)

    def addSkip(self, test, reason):
        with self._lock:
            super().addSkip(test, reason)
            self._line(test, "skip")

    def addExpectedFailure(self, test, err):
        with self._lock:
            super().addExpectedFailure(test, err)
            self._line(test, "xfail")

    def addUnexpectedSuccess(self, test):
        with self._lock:
            super().addUnexpectedSuccess(test)
            self._line(test, "XPASS")

    def addSubTest(self, test, subtest, err):
        with self._lock:
            if err is not None:
                self._fail("Failure" if issubclass(
                    err[0], test.failureException) else "Error", subtest, err)


def _run_class(cls, tests, result):
    try:
        cls.setUpClass()
    except Exception:  # noqa: BLE001
        result.addError(_Holder("setUpClass (%s)" % cls.__name__),
                        sys.exc_info())
        return
    try:
        if getattr(cls, "concurrent", False) and len(tests) > 1:
            threads = [threading.Thread(target=t, args=(result,),
                                        daemon=True) for t in tests]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        else:
            for t in tests:
                t(result)
    finally:
        try:
            cls.tearDownClass()
        except Exception:  # noqa: BLE001
            result.addError(_Holder("tearDownClass (%s)" % cls.__name__),
                            sys.exc_info())


def main():
    """Runs the calling module's tests. Arguments: [WVOICE_BIN] [-k TEXT]
    (only tests whose id contains TEXT)."""
    args = sys.argv[1:]
    only = []
    while args:
        a = args.pop(0)
        if a == "-k" and args:
            only.append(args.pop(0))
        elif not a.startswith("-"):
            os.environ["WVOICE_BIN"] = a
    if not os.access(binary(), os.X_OK):
        print("wvoice binary not found: %s (pass it as the first argument "
              "or in WVOICE_BIN)" % binary(), file=sys.stderr)
        sys.exit(2)
    # A test that hangs in spite of its own timeouts still ends the run.
    faulthandler.dump_traceback_later(int(240 * min(SLOW, 1.2)), exit=True)
    module = sys.modules["__main__"]
    loader = unittest.TestLoader()
    result = _Result()
    t0 = time.monotonic()
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, unittest.TestCase)
               and v.__module__ == module.__name__]
    runners = []
    for cls in classes:
        tests = [t for t in loader.loadTestsFromTestCase(cls)
                 if not only or any(k in t.id() for k in only)]
        if not tests:
            continue
        th = threading.Thread(target=_run_class, args=(cls, tests, result),
                              daemon=True)
        th.start()
        runners.append(th)
        if not getattr(cls, "concurrent_class", True):
            th.join()
    for th in runners:
        th.join()
    for kind, items in (("FAIL", result.failures), ("ERROR", result.errors)):
        for test, tb in items:
            print("=" * 70)
            print("%s: %s" % (kind, test))
            print("-" * 70)
            print(tb)
    print("Ran %d tests in %.1f s: %s" % (
        result.testsRun, time.monotonic() - t0,
        "OK" if result.wasSuccessful() else "FAILED (failures=%d, errors=%d)"
        % (len(result.failures), len(result.errors))), flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)


