#!/usr/bin/env bash
# The C sources the WebAssembly build compiles beside the core's, from
# Debian's source packages: speexdsp and jansson (the core's libraries),
# cmocka (the unit tests) and spandsp (test_codec's G.711 reference, a
# header). Nothing of theirs is kept in the tree.
#
#   scripts/wasm-deps.sh [DIR]      (DIR: build-wasm/deps)
#
# apt runs with a configuration of this script's own under DIR/apt: its own
# sources list (deb-src lines only, signed by Debian's archive keyring), its
# own package lists and cache, so the system's apt sources and state are
# never touched and no deb-src entry is needed there. Each package is
# unpacked (Debian's patches applied) into DIR/NAME-VERSION, with the link
# DIR/NAME to it; a package whose link is there is not fetched again, and
# apt's lists are fetched only when something is missing. Root is not
# needed. WV_DEBIAN_MIRROR, WV_DEBIAN_SECURITY_MIRROR and WV_DEBIAN_SUITE
# override where from (deb.debian.org, this system's release).
set -euo pipefail

dir=${1:-build-wasm/deps}
mirror=${WV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${WV_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
suite=${WV_DEBIAN_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-}")}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
packages=(speexdsp jansson cmocka spandsp)

missing=()
for p in "${packages[@]}"; do
	[ -d "$dir/$p" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

[ -n "$suite" ] || { echo "wasm-deps: no Debian release: set WV_DEBIAN_SUITE" >&2; exit 1; }
[ -r "$keyring" ] || { echo "wasm-deps: $keyring is missing (debian-archive-keyring)" >&2; exit 1; }
command -v dpkg-source >/dev/null ||
	{ echo "wasm-deps: dpkg-source is missing (dpkg-dev)" >&2; exit 1; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
apt_dir=$dir/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
cat >"$apt_dir/sources.list" <<EOF
deb-src [signed-by=$keyring] $mirror $suite main
deb-src [signed-by=$keyring] $mirror $suite-updates main
deb-src [signed-by=$keyring] $security $suite-security main
EOF
apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/sources.list"
	-o "Dir::Etc::SourceParts=-"
	-o "Dir::State=$apt_dir"
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::Cache=$apt_dir/cache"
	-o "Acquire::Languages=none"
	-o "APT::Sandbox::User=$(id -un)"
)
log=$apt_dir/log
echo "wasm-deps: fetching Debian's sources of ${missing[*]} into $dir"
apt-get "${apt_opts[@]}" -q update >"$log" 2>&1 ||
	{ cat "$log" >&2; echo "wasm-deps: apt-get update failed" >&2; exit 1; }

for p in "${missing[@]}"; do
	rm -rf "${dir:?}/$p"-[0-9]*/
	if ! (cd "$dir" && apt-get "${apt_opts[@]}" -q source --only-source "$p") >>"$log" 2>&1; then
		# test_codec takes three headers from spandsp (g711.h and the two it
		# needs), which Debian's patches leave as upstream wrote them (they
		# are byte for byte libspandsp-dev's). Should the mirror lack the
		# Debian part, the upstream tarball of the same source package will do.
		orig=$(ls "$dir/$p"_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -1 || true)
		if [ "$p" != spandsp ] || [ -z "$orig" ]; then
			cat "$log" >&2
			echo "wasm-deps: apt-get source $p failed" >&2
			exit 1
		fi
		echo "wasm-deps: $p: Debian's part of the source package could not be fetched; using $(basename "$orig") alone"
		tar -C "$dir" --no-same-owner -xf "$orig"
	fi
	src=$(find "$dir" -maxdepth 1 -type d -name "$p-[0-9]*" | sort | tail -1)
	[ -n "$src" ] || { echo "wasm-deps: $p: nothing unpacked in $dir" >&2; exit 1; }
	ln -sfn "$(basename "$src")" "$dir/$p"
	echo "wasm-deps: $p: $(basename "$src")"
done
