#!/usr/bin/env bash
# Installs playwright-core from the npm registry into tests/browser/
# (node_modules/, not in git), at the version its package-lock.json pins,
# when it is missing or the lock changed. The browser is Debian's chromium
# (install-deps.sh): playwright never downloads one.
set -euo pipefail
dir=$(cd "$(dirname "$0")/../tests/browser" && pwd)
stamp=$dir/node_modules/.wvoice-lock

if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
	exit 0
fi
echo "browser-deps: npm ci in tests/browser"
(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
	--loglevel=error)
cp "$dir/package-lock.json" "$stamp"
