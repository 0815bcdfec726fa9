#!/usr/bin/env python3
"""completion/wvoice.bash, as bash runs it when Tab is pressed: COMP_WORDS
and COMP_CWORD set, _wvoice called, COMPREPLY read back. A bash started
with --norc --noprofile, so nothing of the bash-completion package is
there to lean on. Also: each command's flags in the completion are exactly
those its --help lists, so a flag added to one and not the other fails here.

Run: python3 test_completion.py [path/to/wvoice]   (or WVOICE_BIN=...)
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "completion", "wvoice.bash")
COMMANDS = ("call", "demo", "devices", "load", "serve")


def binary():
    if len(sys.argv) > 1:
        return os.path.abspath(sys.argv[1])
    return os.path.abspath(os.environ.get("WVOICE_BIN") or
                           os.path.join(HERE, "..", "..", "build", "wvoice"))


def complete(*words, cwd=None, wordbreaks=None):
    """COMPREPLY for the command line WORDS, the last being the word under
    the cursor (bash's own split: '=' and ':' are words of their own)."""
    words = ["wvoice"] + list(words)
    script = ['source "$1"', "shift",
              'COMP_WORDS=("$@")', "COMP_CWORD=$(($# - 1))"]
    if wordbreaks is not None:
        script.append("COMP_WORDBREAKS=%s" % wordbreaks)
    script += ["_wvoice", 'printf "%s\\n" "${COMPREPLY[@]}"']
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                        "\n".join(script), "bash", SCRIPT] + words,
                       capture_output=True, text=True, cwd=cwd, timeout=20)
    if p.returncode or p.stderr:
        raise AssertionError("bash: exit %d: %s" % (p.returncode, p.stderr))
    return sorted(line for line in p.stdout.split("\n") if line)


def help_flags(command):
    """The flags `wvoice COMMAND --help` lists (its option lines: two spaces,
    then the flag), with --version, which every command takes."""
    p = subprocess.run([binary(), command, "--help"], capture_output=True,
                       text=True, timeout=20)
    flags = {"--version"}
    for line in p.stdout.splitlines():
        if re.match(r"  -", line):
            flags.update(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
    return flags


class Commands(unittest.TestCase):
    def test_the_commands_and_help(self):
        self.assertEqual(complete(""), sorted(COMMANDS + ("help",)))
        self.assertEqual(complete("de"), ["demo", "devices"])

    def test_top_level_flags(self):
        self.assertEqual(complete("--"), ["--help", "--version"])

    def test_help_takes_a_command(self):
        self.assertEqual(complete("help", ""), sorted(COMMANDS))
        self.assertEqual(complete("help", "call", ""), [])

    def test_usage_lists_the_same_commands(self):
        p = subprocess.run([binary(), "--help"], capture_output=True,
                           text=True, timeout=20)
        listed = re.findall(r"^  ([a-z]+)  ", p.stdout, re.M)
        self.assertEqual(sorted(listed), sorted(COMMANDS))

    def test_an_unknown_command_gets_nothing(self):
        self.assertEqual(complete("dial", "--"), [])


class Flags(unittest.TestCase):
    def test_a_prefix_completes_to_the_flag(self):
        self.assertEqual(complete("call", "--pre"), ["--prebuffer-ms"])
        self.assertEqual(complete("serve", "--tls-"),
                         ["--tls-cert", "--tls-key"])
        self.assertEqual(complete("devices", "--j"), ["--json"])

    def test_each_commands_flags_are_its_help(self):
        for command in COMMANDS:
            with self.subTest(command=command):
                self.assertEqual(set(complete(command, "--")),
                                 help_flags(command))

    def test_flags_are_offered_after_a_value(self):
        self.assertIn("--quiet", complete("call", "--agent", "x", ""))
        self.assertIn("--verbose", complete("call", "--url", "ws", ":",
                                            "//h", ":", "1", "--v"))

    def test_a_value_without_choices_gets_nothing(self):
        self.assertEqual(complete("call", "--agent", ""), [])
        self.assertEqual(complete("serve", "--port", ""), [])
        self.assertEqual(complete("call", "--url", "ws", ":"), [])


class Values(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        for name in ("hello.wav", "ivr.json", "two words.wav", "cert.pem"):
            open(os.path.join(self.dir, name), "w").close()
        os.mkdir(os.path.join(self.dir, "calls"))

    def tearDown(self):
        self.tmp.cleanup()

    def names(self, *words, **kw):
        return complete(*words, cwd=self.dir, **kw)

    def test_auth_and_summary_take_their_words(self):
        self.assertEqual(complete("call", "--auth", ""),
                         ["header", "subprotocol"])
        self.assertEqual(complete("call", "--auth", "s"), ["subprotocol"])
        self.assertEqual(complete("call", "--summary", ""), ["json", "text"])
        self.assertEqual(complete("call", "--auth", "=", "h"), ["header"])

    def test_playout_takes_its_policies(self):
        for command in ("call", "load"):
            with self.subTest(command=command):
                self.assertEqual(complete(command, "--playout", ""),
                                 ["adaptive", "fixed"])
                self.assertEqual(complete(command, "--playout", "f"),
                                 ["fixed"])
                self.assertEqual(complete(command, "--pl"), ["--playout"])

    def test_file_flags_take_file_names(self):
        everything = ["calls", "cert.pem", "hello.wav", "ivr.json",
                      "two words.wav"]
        for words in (("call", "--input", ""), ("call", "--output", ""),
                      ("call", "--ca", ""), ("serve", "--tls-cert", ""),
                      ("serve", "--tls-key", ""), ("call", "--input", "=")):
            with self.subTest(words=words):
                self.assertEqual(self.names(*words), everything)
        self.assertEqual(self.names("call", "--input", "t"),
                         ["two words.wav"])

    def test_dash_is_offered_where_it_means_a_stream(self):
        self.assertEqual(self.names("call", "--events", "-"), ["-"])
        self.assertEqual(self.names("call", "--api-key-file", "-"), ["-"])
        self.assertIn("-", self.names("call", "--events", ""))
        self.assertNotIn("-", self.names("call", "--input", ""))

    def test_directory_flags_take_directories(self):
        self.assertEqual(self.names("serve", "--record", ""), ["calls"])
        self.assertEqual(self.names("demo", "--dir", ""), ["calls"])

    def test_script_completes_the_file_after_the_name(self):
        self.assertEqual(self.names("serve", "--script", ""), [])
        self.assertEqual(self.names("serve", "--script", "ivr", "=", "i"),
                         ["ivr.json"])
        self.assertEqual(self.names("serve", "--script", "ivr", "="),
                         ["calls", "cert.pem", "hello.wav", "ivr.json",
                          "two words.wav"])

    def test_load_merge_takes_reports(self):
        with tempfile.TemporaryDirectory() as d:
            for name in ("a.json", "b.json", "notes.txt"):
                open(os.path.join(d, name), "w").close()
            self.assertEqual(complete("load", "me", cwd=d), ["merge"])
            self.assertEqual(complete("load", "merge", "", cwd=d),
                             ["a.json", "b.json"])
            self.assertEqual(complete("load", "merge", "a.json", "--re",
                                      cwd=d), ["--report"])
            self.assertEqual(complete("load", "--report", "", cwd=d),
                             ["a.json", "b.json", "notes.txt"])

    def test_call_script_takes_a_file(self):
        self.assertEqual(self.names("call", "--script", "i"), ["ivr.json"])
        self.assertEqual(self.names("call", "--script", "=", "i"),
                         ["ivr.json"])
        self.assertEqual(self.names("call", "--script=i", wordbreaks="' '"),
                         ["--script=ivr.json"])

    def test_without_equals_as_a_word_break(self):
        self.assertEqual(self.names("call", "--input=h", wordbreaks="' '"),
                         ["--input=hello.wav"])
        self.assertEqual(self.names("serve", "--script", "ivr=i",
                                    wordbreaks="' '"), ["ivr=ivr.json"])
        self.assertEqual(self.names("call", "--summary=j", wordbreaks="' '"),
                         ["--summary=json"])

    def test_a_flag_of_another_command_takes_no_value(self):
        # --dir is demo's; after it, call offers its flags again.
        self.assertIn("--input", self.names("call", "--dir", ""))


class Registration(unittest.TestCase):
    def test_it_registers_for_wvoice_alone(self):
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                            'source "$1" && complete -p wvoice', "bash",
                            SCRIPT], capture_output=True, text=True,
                           timeout=20)
        self.assertEqual(p.stdout.strip(), "complete -F _wvoice wvoice")
        self.assertEqual(p.stderr, "")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
