#!/usr/bin/env bash
# Removes what `make install` installed: each file its install manifest
# (CMake's install_manifest.txt, written by the last install from that
# build directory) lists, then the directories of those files named wvoice
# (include/wvoice/) once empty. Other directories stay, even empty: bin/ or
# share/man/man1/ may have been there before, and may be someone else's.
# The manifest's paths do not hold DESTDIR: give the install's, if any.
set -euo pipefail
manifest=${1:?usage: uninstall.sh INSTALL_MANIFEST}

if [ ! -f "$manifest" ]; then
	echo "uninstall: no $manifest: nothing was installed by make install" \
	     "from this tree" >&2
	exit 1
fi

dirs=()
while IFS= read -r f || [ -n "$f" ]; do
	[ -n "$f" ] || continue
	f=${DESTDIR:-}$f
	if [ -e "$f" ] || [ -L "$f" ]; then
		echo "-- Removing: $f"
		rm -f -- "$f"
	fi
	d=$(dirname -- "$f")
	[ "$(basename -- "$d")" = wvoice ] && dirs+=("$d")
done <"$manifest"

for d in ${dirs[@]+"${dirs[@]}"}; do
	if [ -d "$d" ] && [ -z "$(ls -A -- "$d")" ]; then
		echo "-- Removing: $d/"
		rmdir -- "$d"
	fi
done
