#!/usr/bin/env bash
# Installs what `make cross-test` needs, if anything is missing: Debian's
# cross compilers for aarch64 and armhf, qemu-user to run their programs,
# and the core's dependencies (jansson, speexdsp) and its tests' (cmocka,
# spandsp) for those architectures, as multiarch packages. About 600 MB.
set -euo pipefail

archs=(arm64 armhf)
packages=(crossbuild-essential-arm64 crossbuild-essential-armhf qemu-user valgrind)
for a in "${archs[@]}"; do
	packages+=("libjansson-dev:$a" "libspeexdsp-dev:$a" "libcmocka-dev:$a"
		   "libspandsp-dev:$a")
done

added=false
for a in "${archs[@]}"; do
	if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
		[ "$(id -u)" -eq 0 ] || { echo "install-cross-deps: run as root to add the $a architecture" >&2; exit 1; }
		dpkg --add-architecture "$a"
		added=true
	fi
done
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && ! $added && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-cross-deps: missing packages: ${missing[*]}" >&2
	exit 1
fi
echo "install-cross-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
