#!/usr/bin/env bash
# `make install PREFIX=...` and `make uninstall` as a user runs them, into a
# temporary prefix:
# - neither installs packages: apt-get, apt and dpkg-query (what
#   scripts/install-deps.sh runs) are fakes first in PATH that fail the test;
#   a development package missing stops the install, named by CMake;
# - the install builds no test, example or benchmark, and needs neither
#   cmocka nor spandsp (a fake pkg-config knows neither);
# - the prefix then holds the command, both libraries (shared and static),
#   the headers, the .pc files, the man page and the bash completion, and
#   the command installed runs;
# - uninstall leaves no file of its own behind, and what was in the prefix
#   before (a file, an empty directory) is still there.
# Usage: install_make.sh SRC INSTALL_BUILD VERSION. INSTALL_BUILD is the
# install's build directory, kept between runs so that a later run only
# checks; a lock beside it keeps two runs off it at once.
set -euo pipefail
src=$1 ib=$2 version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install make: $*" >&2; exit 1; }

mkdir -p "$(dirname "$ib")"
exec 9>"$ib.lock"
flock 9

mkdir "$tmp/fake"
for tool in apt-get apt dpkg-query; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 1\n' "$tool" "$tmp/ran" \
		>"$tmp/fake/$tool"
	chmod +x "$tmp/fake/$tool"
done
ran() { [ ! -e "$tmp/ran" ] || fail "make $1 ran: $(cat "$tmp/ran")"; }

prefix=$tmp/prefix
mkdir -p "$prefix/bin" "$prefix/share/man/man1"
echo theirs >"$prefix/bin/theirs"

# make TARGET [ARGS...], its output in $tmp/TARGET.log. A make from outside
# (make test) passes its flags and variables down in MAKEFLAGS; this one is
# run as from a shell.
mk_try() {
	local target=$1
	shift
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DESTDIR \
		PATH="$tmp/fake:$PATH" make -C "$src" INSTALL_BUILD="$ib" \
		PREFIX="$prefix" "$@" "$target" >"$tmp/$target.log" 2>&1
}
mk() {
	mk_try "$@" || { cat "$tmp/$1.log" >&2; fail "make $1 failed"; }
	ran "$1"
}

# DIR/pkg-config: pkg-config, but for MODULES, which it does not know.
pkg_config=$(command -v pkg-config)
fake_pkg_config() {
	local dir=$1
	shift
	mkdir -p "$dir"
	# shellcheck disable=SC2016 # the fake's own $a and $@
	printf '#!/bin/sh\nfor a; do case $a in %s) exit 1;; esac; done\nexec %s "$@"\n' \
		"$(printf '%s*|' "$@" | sed 's/|$//')" "$pkg_config" \
		>"$dir/pkg-config"
	chmod +x "$dir/pkg-config"
}
# The install's build knows no cmocka or spandsp, which only the tests
# need. It is kept with the build directory, whose cache names it.
fake_pkg_config "$ib.bin" cmocka spandsp
PATH=$ib.bin:$PATH

# A development package missing as well (sndfile): CMake names it, and
# nothing is installed.
fake_pkg_config "$tmp/nosndfile" cmocka spandsp sndfile
if PATH="$tmp/nosndfile:$PATH" mk_try install INSTALL_BUILD="$tmp/ib-missing"; then
	fail "make install went on without sndfile"
fi
ran install
grep -q "sndfile" "$tmp/install.log" ||
	{ cat "$tmp/install.log" >&2; fail "make install did not name sndfile"; }
[ -z "$(find "$prefix" ! -type d ! -path "$prefix/bin/theirs")" ] ||
	fail "make install installed something without sndfile"

mk install
built=$(find "$ib" -maxdepth 1 -type f \
	\( -name 'test_*' -o -name 'example_*' -o -name 'bench_*' \) -printf '%f ')
[ -z "$built" ] || fail "make install built $built"
[ ! -e "$ib/CTestTestfile.cmake" ] || fail "make install configured the tests"

[ -x "$prefix/bin/wvoice" ] || fail "bin/wvoice was not installed"
first=$("$prefix/bin/wvoice" --version | head -n 1)
[ "$first" = "wvoice $version" ] ||
	fail "the installed wvoice --version says '$first'"
pcdir=$(find "$prefix" -name wvoice.pc -printf '%h\n' | head -n 1)
{ [ -n "$pcdir" ] && [ -f "$pcdir/wvoice-core.pc" ]; } || fail "no .pc files"
libdir=$(dirname "$pcdir")
for lib in wvoice wvoice-core; do
	for f in "lib$lib.a" "lib$lib.so" "lib$lib.so.$version"; do
		[ -e "$libdir/$f" ] || fail "$f was not installed"
	done
	ls "$libdir/lib$lib.so".[0-9] >/dev/null 2>&1 ||
		fail "lib$lib.so's SONAME link was not installed"
done
for h in "$src"/include/wvoice/*.h; do
	[ -f "$prefix/include/wvoice/${h##*/}" ] || fail "${h##*/} was not installed"
done
[ -f "$prefix/include/wvoice/version.h" ] || fail "version.h was not installed"
[ -f "$prefix/share/man/man1/wvoice.1" ] || fail "the man page was not installed"
for f in index.html wvoice.js worker.js capture-worklet.js playback-worklet.js; do
	[ -f "$prefix/share/wvoice/web/$f" ] || fail "web/$f was not installed"
done
completion=$(find "$prefix" -path '*/bash-completion/completions/wvoice')
[ -n "$completion" ] || fail "the bash completion was not installed"
bash --norc --noprofile -c 'source "$1" && complete -p wvoice' _ "$completion" \
	>/dev/null || fail "the installed completion does not load"
if grep -q 'test_\|example_\|bench_' "$ib/install_manifest.txt"; then
	fail "make install installed a test"
fi

mk uninstall
left=$(find "$prefix" ! -type d ! -path "$prefix/bin/theirs")
[ -z "$left" ] || fail "make uninstall left $left"
[ ! -e "$prefix/include/wvoice" ] || fail "make uninstall left include/wvoice/"
[ ! -e "$prefix/share/wvoice" ] || fail "make uninstall left share/wvoice/"
{ [ -f "$prefix/bin/theirs" ] && [ -d "$prefix/share/man/man1" ]; } ||
	fail "make uninstall removed what it had not installed"
echo "install make: make install put everything under PREFIX without apt-get or tests; make uninstall took it all away"
