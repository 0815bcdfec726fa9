#!/usr/bin/env bash
# check-symbols.sh [--update] LIB.so LIST: the dynamic symbols LIB.so
# defines must be exactly the names in LIST (one a line, LC_ALL=C sorted).
# CMake runs it after every link of a shared library, so an accidental
# export fails the build. When the ABI changes on purpose, configure with
# -DWV_ABI_UPDATE=ON once: it rewrites LIST, which goes into the same commit.
set -euo pipefail
update=false
if [ "${1:-}" = --update ]; then update=true; shift; fi
lib=$1 list=$2
exported() { nm -D --defined-only "$lib" | awk '{print $3}' | LC_ALL=C sort; }
if $update; then
	exported >"$list"
	exit 0
fi
if ! diff -u "$list" <(exported) >&2; then
	echo "check-symbols: $lib exports other names than $list" \
	     "(-: listed, not exported; +: exported, not listed)." \
	     "Only WV_EXPORT wv_ names the headers declare are exported;" \
	     "an ABI change on purpose: cmake -DWV_ABI_UPDATE=ON." >&2
	exit 1
fi
