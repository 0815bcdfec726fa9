#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds a program against it
# with nothing but `pkg-config --cflags --libs wvoice`, once against the shared
# library and once statically, then runs both.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(find "$tmp/prefix" -name wvoice.pc -printf '%h\n' | head -n 1)
[ -n "$libdir" ] || { echo "wvoice.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$libdir
for h in error codec base64 pcm resampler capture playout protocol url call wvoice; do
	[ -f "$tmp/prefix/include/wvoice/$h.h" ] || { echo "missing wvoice/$h.h"; exit 1; }
done

cc -std=c17 -Wall -Wextra -Werror -o "$tmp/shared" "$src/examples/core_loop.c" \
	$(pkg-config --cflags --libs wvoice)
LD_LIBRARY_PATH="$libdir/.." "$tmp/shared" | grep -q "ended    remote-stop"
[ -f "$libdir/../libwvoice.so" ] || { echo "no shared library"; exit 1; }

cc -std=c17 -Wall -Wextra -Werror -o "$tmp/static" "$src/examples/core_loop.c" \
	$(pkg-config --cflags wvoice) "$libdir/../libwvoice.a" \
	$(pkg-config --libs --static wvoice | sed 's/-lwvoice//')
"$tmp/static" | grep -q "ended    remote-stop"

# The client links libwebsockets, OpenSSL and libev: all from wvoice.pc.
cc -std=c17 -Wall -Wextra -Werror -o "$tmp/call" "$src/examples/call.c" \
	$(pkg-config --cflags wvoice) "$libdir/../libwvoice.a" \
	$(pkg-config --libs --static wvoice | sed 's/-lwvoice//')
env -u WVOICE_URL "$tmp/call" | grep -q "skipping"
echo "install smoke: headers, wvoice.pc, shared and static library all work"
