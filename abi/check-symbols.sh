#!/usr/bin/env bash
# check-symbols.sh LIB.so LIST: the dynamic symbols LIB.so defines must be
# exactly the names in LIST (one a line, LC_ALL=C sorted). Run after every
# link of a shared library, so an accidental export fails the build; when
# the ABI changes on purpose, the list changes in the same commit.
set -euo pipefail
lib=$1 list=$2
if ! diff -u "$list" <(nm -D --defined-only "$lib" | awk '{print $3}' |
		       LC_ALL=C sort) >&2; then
	echo "check-symbols: $lib exports other names than $list" \
	     "(-: listed, not exported; +: exported, not listed)." \
	     "Only WV_EXPORT wv_ names the headers declare are exported." >&2
	exit 1
fi
