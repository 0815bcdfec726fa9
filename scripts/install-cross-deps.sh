#!/usr/bin/env bash
# Installs what `make cross-test` needs, if anything is missing: Debian's
# cross compilers for aarch64 and armhf, qemu-user to run their programs,
# the core's dependencies (jansson, speexdsp) and its tests' (cmocka,
# spandsp) for those architectures as multiarch packages, and valgrind for
# the instruction counts. About 600 MB.
set -euo pipefail

archs=(arm64 armhf)
packages=(crossbuild-essential-arm64 crossbuild-essential-armhf qemu-user valgrind)
for a in "${archs[@]}"; do
	packages+=("libjansson-dev:$a" "libspeexdsp-dev:$a" "libcmocka-dev:$a"
		   "libspandsp-dev:$a")
done

for a in "${archs[@]}"; do
	dpkg --print-foreign-architectures | grep -qx "$a" && continue
	[ "$(id -u)" -eq 0 ] ||
		{ echo "install-cross-deps: run as root to add the $a architecture" >&2; exit 1; }
	# A new architecture's packages are unknown until the next update,
	# which install-deps.sh runs before it installs anything.
	dpkg --add-architecture "$a"
done
exec "$(dirname "$0")/install-deps.sh" "${packages[@]}"
