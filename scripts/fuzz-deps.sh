#!/usr/bin/env bash
# Installs what fuzz/'s targets build with, if missing (install-deps.sh's
# rules: idempotent, quiet when all is there, root to install): clang, and
# the runtime that holds its libFuzzer and sanitizers (libclang-rt-dev
# brings the one for Debian's default clang, libclang-rt-14-dev on
# bookworm: libclang_rt.fuzzer-x86_64.a).
set -euo pipefail
exec "$(dirname "$0")/install-deps.sh" clang libclang-rt-dev
