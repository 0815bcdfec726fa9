#!/usr/bin/env bash
# The installed libraries as a user meets them: installs the build into a
# temporary prefix, then
# - checks the two libraries' SONAMEs, that libwvoice-core links nothing but
#   libc, libm, jansson and speexdsp, and that each exports exactly the
#   symbols listed in abi/;
# - builds programs with nothing but pkg-config: the core's example against
#   wvoice-core alone, and a program of both libraries against wvoice, each
#   once with the shared libraries and once statically, and runs them.
set -euo pipefail

# grep -q stops reading at its first match, and the command before it then
# dies of SIGPIPE, which pipefail takes for a failure: read it all.
has() { grep "$@" >/dev/null; }
build=$1 src=$2 soversion=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install smoke: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pcdir=$(find "$tmp/prefix" -name wvoice.pc -printf '%h\n' | head -n 1)
[ -n "$pcdir" ] || fail "wvoice.pc was not installed"
[ -f "$pcdir/wvoice-core.pc" ] || fail "wvoice-core.pc was not installed"
libdir=$(cd "$pcdir/.." && pwd)
export PKG_CONFIG_PATH=$pcdir
for h in error export version alloc message codec base64 pcm resampler \
	 capture playout protocol url call device wvoice; do
	[ -f "$tmp/prefix/include/wvoice/$h.h" ] || fail "missing wvoice/$h.h"
done

# The ABI: names, what the core links, exports.
for lib in wvoice-core wvoice; do
	so=$libdir/lib$lib.so
	[ -f "$so" ] && [ -f "$libdir/lib$lib.a" ] || fail "lib$lib is not installed"
	readelf -d "$so" | has "SONAME.*\[lib$lib\.so\.$soversion\]" ||
		fail "lib$lib.so has not the SONAME lib$lib.so.$soversion"
	"$src/abi/check-symbols.sh" "$so" "$src/abi/$lib.symbols"
done
others=$(ldd "$libdir/libwvoice-core.so" | awk '{print $1}' |
	 grep -vE '^(linux-vdso\.so|/lib.*/ld-linux|libc\.so|libm\.so|libjansson\.so|libspeexdsp\.so)' || true)
[ -z "$others" ] || fail "libwvoice-core.so links more than libc, libm, jansson and speexdsp: $others"
ldd "$libdir/libwvoice.so" | has "libwvoice-core.so.$soversion" ||
	fail "libwvoice.so does not link libwvoice-core"

cflags="-std=c17 -Wall -Wextra -Wpedantic -Werror"
static_libs() { # the .a of $1, then what it needs, for a static link
	echo "$libdir/lib$1.a"
	pkg-config --libs --static "$1" | sed -E 's/-lwvoice(-core)?( |$)/ /g'
}

# The core alone: wvoice-core.pc.
cc $cflags -o "$tmp/core-shared" "$src/examples/core_loop.c" \
	$(pkg-config --cflags --libs wvoice-core)
LD_LIBRARY_PATH=$libdir "$tmp/core-shared" | has "ended    remote-stop"
ldd "$tmp/core-shared" | has "libwvoice\.so" && fail "the core example links libwvoice"
cc $cflags -o "$tmp/core-static" "$src/examples/core_loop.c" \
	$(pkg-config --cflags wvoice-core) $(static_libs wvoice-core)
"$tmp/core-static" | has "ended    remote-stop"

# Both libraries: wvoice.pc brings wvoice-core.
cc $cflags -o "$tmp/abi-shared" "$src/tests/abi/abi_user.c" \
	$(pkg-config --cflags --libs wvoice)
LD_LIBRARY_PATH=$libdir "$tmp/abi-shared" | has "core and client linked"
cc $cflags -o "$tmp/abi-static" "$src/tests/abi/abi_user.c" \
	$(pkg-config --cflags wvoice) "$libdir/libwvoice.a" $(static_libs wvoice-core) \
	$(pkg-config --libs --static wvoice | sed -E 's/-lwvoice(-core)?( |$)/ /g')
"$tmp/abi-static" | has "core and client linked"

# The client example: libwebsockets, OpenSSL and libev, all from the .pc.
cc $cflags -o "$tmp/call" "$src/examples/call.c" \
	$(pkg-config --cflags wvoice) "$libdir/libwvoice.a" $(static_libs wvoice-core) \
	$(pkg-config --libs --static wvoice | sed -E 's/-lwvoice(-core)?( |$)/ /g')
env -u WVOICE_URL "$tmp/call" | has "skipping"
echo "install smoke: both libraries' headers, .pc files, SONAMEs, exports, shared and static links work"
