#!/usr/bin/env bash
# Browser tests of the inbox and the Settings-page example against a real
# `lethe demo` (tests/e2e/browser/demo.test.js), in Debian's chromium driven
# by playwright-core. Installs playwright-core from the lock file if needed
# (never a browser download: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD).
set -euo pipefail
SRC=${LETHE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export LETHE_SOURCE_DIR=$SRC
export LETHE_BINARY=${LETHE_BINARY:-$SRC/build/lethe}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "browser_demo: $CHROMIUM is missing (scripts/install-deps.sh installs the chromium package)" >&2
  exit 1
fi
cd "$SRC/tests/e2e/browser"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test --test-reporter=spec demo.test.js
