#!/usr/bin/env bash
# Removes what `make install` installed: each file its install manifest
# (CMake's install_manifest.txt, written by the last install from that
# build directory) lists, then the directories of those files at or below
# one named wvoice (include/wvoice/, share/wvoice/web/) once empty. Other
# directories stay, even empty: bin/ or share/man/man1/ may have been there
# before, and may be someone else's.
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
	# include/wvoice/, share/wvoice/web/ and the like: wvoice's own.
	d=$(dirname -- "$f")
	case "$d/" in */wvoice/*) dirs+=("$d") ;; esac
done <"$manifest"

# Deepest first, and up to the folder named wvoice, each once empty.
for d in ${dirs[@]+"${dirs[@]}"}; do
	while case "$d/" in */wvoice/*) true ;; *) false ;; esac; do
		if [ -d "$d" ] && [ -z "$(ls -A -- "$d")" ]; then
			echo "-- Removing: $d/"
			rmdir -- "$d"
		fi
		[ "$(basename -- "$d")" = wvoice ] && break
		d=$(dirname -- "$d")
	done
done
