#!/usr/bin/env bash
# Installs the charting library that `wvoice load --html` inlines into its
# page (Chart.js) from the npm registry into report/node_modules/ (not in
# git), at the version report/package-lock.json pins, when it is missing
# or the lock changed. `make install` installs its one file beside the
# command (share/wvoice/report/); the command finds it there, or here when
# run from its build directory.
set -euo pipefail
dir=$(cd "$(dirname "$0")/../report" && pwd)
stamp=$dir/node_modules/.wvoice-lock

if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
	exit 0
fi
echo "report-deps: npm ci in report"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
cp "$dir/package-lock.json" "$stamp"
