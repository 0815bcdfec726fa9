#!/usr/bin/env python3
"""`wvoice --version`: the first line is exactly `wvoice VERSION` (scripts
read it), then libwvoice and each library wvoice runs on, one a line, each
as the library reports itself at run time (speexdsp, which cannot, as it
was built, marked "(build)"). The same after any command, and nothing on
standard error (no library chatter: none is initialized for it).

Run: python3 test_version.py [path/to/wvoice]   (or WVOICE_BIN=...);
WV_VERSION is the project's version (CMake's), default: read from
CMakeLists.txt.
"""

import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

# Each library's line, in order, as that library words its version.
LIBRARIES = (
    ("libwebsockets", r"libwebsockets \d+\.\d+\.\d+\S*"),
    ("OpenSSL", r"OpenSSL \d+\.\d+\.\d+\S*( .*)?"),
    ("jansson", r"jansson \d+\.\d+(\.\d+)?"),
    ("speexdsp", r"speexdsp \d+\.\d+\S* \(build\)"),
    ("PortAudio", r"PortAudio V\d+\.\d+\.\d+\S*(,? .*)?"),
    ("libsndfile", r"libsndfile-\d+\.\d+\.\d+\S*"),
    ("espeak-ng", r"espeak-ng \d+\.\d+\S*"),
    ("libev", r"libev \d+\.\d+"),
)


def binary():
    if len(sys.argv) > 1:
        return os.path.abspath(sys.argv[1])
    return os.path.abspath(os.environ.get("WVOICE_BIN") or
                           os.path.join(HERE, "..", "..", "build", "wvoice"))


def project_version():
    if os.environ.get("WV_VERSION"):
        return os.environ["WV_VERSION"]
    with open(os.path.join(HERE, "..", "..", "CMakeLists.txt")) as f:
        return re.search(r"project\(wvoice VERSION (\S+)", f.read()).group(1)


def run(*args):
    p = subprocess.run([binary()] + list(args), capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


class Version(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.code, cls.out, cls.err = run("--version")
        cls.lines = cls.out.splitlines()

    def test_exits_0_and_says_nothing_on_stderr(self):
        self.assertEqual(self.code, 0)
        self.assertEqual(self.err, "")

    def test_first_line_is_wvoice_and_the_project_version(self):
        self.assertEqual(self.lines[0], "wvoice " + project_version())

    def test_second_line_is_the_library_linked(self):
        self.assertEqual(self.lines[1], "libwvoice " + project_version())

    def test_each_library_has_its_line_in_order(self):
        self.assertEqual(len(self.lines), 2 + len(LIBRARIES), self.out)
        for line, (name, pattern) in zip(self.lines[2:], LIBRARIES):
            with self.subTest(library=name):
                self.assertRegex(line, "^%s$" % pattern)

    def test_only_speexdsp_is_from_the_build(self):
        self.assertEqual([l for l in self.lines if "(build)" in l],
                         [l for l in self.lines if l.startswith("speexdsp ")])

    def test_the_versions_are_those_installed(self):
        # What pkg-config says of the development packages built against:
        # the same packages' libraries on this machine.
        for module, prefix in (("jansson", "jansson "),
                               ("speexdsp", "speexdsp "),
                               ("sndfile", "libsndfile-"),
                               ("espeak-ng", "espeak-ng "),
                               ("libwebsockets", "libwebsockets ")):
            try:
                p = subprocess.run(["pkg-config", "--modversion", module],
                                   capture_output=True, text=True,
                                   timeout=20)
            except FileNotFoundError:
                self.skipTest("no pkg-config")
            if p.returncode:
                continue
            with self.subTest(module=module):
                self.assertIn(prefix + p.stdout.strip(),
                              [l.replace(" (build)", "") for l in self.lines])

    def test_the_same_after_each_command(self):
        for command in ("call", "demo", "devices", "serve"):
            with self.subTest(command=command):
                self.assertEqual(run(command, "--version"),
                                 (0, self.out, ""))

    def test_a_full_stdout_is_an_error(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        with open("/dev/full", "w") as full:
            p = subprocess.run([binary(), "--version"], stdout=full,
                               stderr=subprocess.DEVNULL, timeout=20)
        self.assertEqual(p.returncode, 1)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
