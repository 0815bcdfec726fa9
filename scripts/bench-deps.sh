#!/usr/bin/env bash
# What make bench needs beyond the build: valgrind (bench_load's
# instructions per frame, through install-deps.sh's package check) and the
# ws package from the npm registry in bench/load-peer/ (node_modules/, not
# in git), at the version its package-lock.json pins, when it is missing or
# the lock changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/install-deps.sh" valgrind

dir=$here/../bench/load-peer
stamp=$dir/node_modules/.wvoice-lock
if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
	exit 0
fi
echo "bench-deps: npm ci in bench/load-peer"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
cp "$dir/package-lock.json" "$stamp"
