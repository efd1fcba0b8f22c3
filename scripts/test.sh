#!/usr/bin/env bash
# `make test`: start the real services the integration tests need, run every
# test through ctest, stop the services. A service that fails to start fails
# the run: integration tests never skip in CI.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
bash scripts/services.sh start
trap 'bash scripts/services.sh stop' EXIT
set -a; . tests/services/.run/env; set +a
ctest --test-dir "$BUILD" --output-on-failure -j 2 --timeout 900
