#!/usr/bin/env python3
"""`wvoice call` with audio devices: the real command, through PortAudio
and ALSA, against the built-in echo agent.

The device is ALSA configuration, not hardware (ALSA_CONFIG_PATH): the
default PCM records from a raw file of speech (the `file` plugin's infile)
and plays into a FIFO, over ALSA's `null` device. `null` alone runs as fast
as the CPU; this test drains the FIFOs at real time, which gives the device
its clock. What the call played is what came out of the playback FIFO."""

import array
import json
import math
import os
import select
import subprocess
import threading
import time

import harness
from harness import SLOW, ServeTest, speech
from test_call import summary

DEVICE_RATE = 44100  # what PortAudio reports for ALSA's null device
SAMPLE_BYTES = 4     # wvoice opens its streams as mono float32

CONF = """pcm.!default {
  type asym
  playback.pcm { type file slave.pcm { type null }
                 file "%(dir)s/play" format "raw" }
  capture.pcm { type file slave.pcm { type null }
                file "%(dir)s/capture" infile "%(dir)s/mic.raw"
                format "raw" }
}
"""


class FakeDevice:
    """The ALSA configuration, the microphone's speech and the FIFOs, with
    a thread per FIFO draining it at real time."""

    def __init__(self, d, mic):
        self.dir = d
        with open(os.path.join(d, "mic.raw"), "wb") as f:
            f.write(array.array("f", mic).tobytes())
        for name in ("play", "capture"):
            os.mkfifo(os.path.join(d, name))
        self.conf = os.path.join(d, "asound.conf")
        with open(self.conf, "w") as f:
            f.write(CONF % {"dir": d})
        self.played = bytearray()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._drain, args=(n,),
                                         daemon=True)
                        for n in ("play", "capture")]
        for t in self.threads:
            t.start()

    def _drain(self, name):
        # Read-write, so the open never waits for ALSA's end.
        fd = os.open(os.path.join(self.dir, name), os.O_RDWR)
        try:
            # The clock starts with the stream, at its first write: started
            # earlier, it would owe the device the time wvoice took to
            # start, which ALSA would then run through at once.
            while not (self.stopping.is_set()
                       or select.select([fd], [], [], 0.005)[0]):
                pass
            start, taken = time.monotonic(), 0
            while not self.stopping.is_set():
                due = (int((time.monotonic() - start) * DEVICE_RATE)
                       * SAMPLE_BYTES - taken)
                if due > 0 and select.select([fd], [], [], 0.005)[0]:
                    got = os.read(fd, min(due, 65536))
                    taken += len(got)
                    if name == "play":
                        self.played.extend(got)
                time.sleep(0.005)
        finally:
            os.close(fd)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()

    def env(self):
        return dict(os.environ, ALSA_CONFIG_PATH=self.conf)

    def played_samples(self):
        whole = len(self.played) // SAMPLE_BYTES * SAMPLE_BYTES
        s = array.array("f")
        s.frombytes(bytes(self.played[:whole]))
        return s


def dbfs(samples):
    if not samples:
        return -200.0
    ms = sum(x * x for x in samples) / len(samples)
    return 10 * math.log10(ms + 1e-20)


def mic_speech():
    """1.5 s of silence, 1.5 s of speech at the device's rate, silence."""
    at8k = speech(1.5, level_dbfs=-20.0, seed=5)
    up = [at8k[i * 8000 // DEVICE_RATE] / 32768.0
          for i in range(len(at8k) * DEVICE_RATE // 8000)]
    silence = [0.0] * int(1.5 * DEVICE_RATE)
    return silence + up + [0.0] * (12 * DEVICE_RATE)


class Devices(ServeTest):
    concurrent = True
    start_server = False
    temp_dir = "devices"

    def fake(self, name):
        d = os.path.join(self.dir, name)
        os.mkdir(d)
        dev = FakeDevice(d, mic_speech())
        self.addCleanup(dev.stop)
        return dev

    def run_wvoice(self, dev, *args, timeout=60):
        p = subprocess.run([harness.binary()] + list(args), env=dev.env(),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout * SLOW)
        return p.returncode, p.stdout, p.stderr

    def test_devices_lists_the_alsa_default(self):
        dev = self.fake("list")
        code, out, err = self.run_wvoice(dev, "devices")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"(?m)^ +0 +in +\d+ +out +\d+ +44100 Hz +"
                         r"default \[default input\] \[default output\]"
                         r"  \(ALSA\)$")
        code, out, err = self.run_wvoice(dev, "devices", "--json")
        self.assertEqual(code, 0, err)
        first = json.loads(out)[0]
        self.assertEqual(first, {
            "index": 0, "name": "default", "host_api": "ALSA",
            "inputs": first["inputs"], "outputs": first["outputs"],
            "default_rate": 44100, "default_input": True,
            "default_output": True})
        self.assertGreater(first["inputs"], 0)
        self.assertGreater(first["outputs"], 0)

    def check_echo_through_devices(self, dev, *device_args):
        code, out, err = self.run_wvoice(
            dev, "call", "--agent", "echo", "--hangup-after", "7",
            *device_args)
        self.assertEqual(code, 0, err)
        self.assertNotIn("going on", err, "a device was not opened")
        s = summary(out)
        self.assertEqual(s["end reason"], "hangup")
        played = dev.played_samples()
        second = [dbfs(played[i * DEVICE_RATE:(i + 1) * DEVICE_RATE])
                  for i in range(len(played) // DEVICE_RATE)]
        # The echo's mark was answered when the device played it, and all
        # 1.5 s of the words came back: none were lost before the call.
        self.assertEqual(s["marks"], "1", (out, err, second))
        self.assertGreaterEqual(int(s["frames received"]), 75, out)
        self.assertGreater(len(played), 6 * DEVICE_RATE)
        # The speaker is silent until the caller's words come back (they
        # start at 1.5 s and last 1.5 s), then plays them.
        self.assertLess(max(second[:3]), -60, second)
        self.assertGreater(max(second[3:]), -35, second)

    def test_microphone_and_speaker_carry_the_call(self):
        self.check_echo_through_devices(self.fake("default"))

    def test_device_numbers_choose_the_devices(self):
        self.check_echo_through_devices(self.fake("numbered"),
                                        "--input-device", "0",
                                        "--output-device", "0")

    def test_a_missing_device_is_named_and_the_call_goes_on(self):
        dev = self.fake("missing")
        code, out, err = self.run_wvoice(dev, "call", "--hangup-after", "1",
                                         "--input-device", "7")
        self.assertEqual(code, 0, err)
        self.assertIn("no audio device 7", err)
        self.assertIn("going on with one audio device", err)
        self.assertEqual(summary(out)["end reason"], "hangup")


if __name__ == "__main__":
    harness.main()
