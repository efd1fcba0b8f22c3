#!/usr/bin/env bash
# HTTP load test: self-service submissions per second, and inbox list
# latency (p50/p99) over a store holding 100k requests.
#   bash bench/http_load.sh [BUILD_DIR]      (N=100000 CONNS=4 SECS=10 to change)
set -euo pipefail
BUILD=${1:-build}
N=${N:-100000}
CONNS=${CONNS:-4}
SECS=${SECS:-10}
LETHE=$BUILD/lethe
LOAD=$BUILD/bench_http_load
[ -x "$LETHE" ] && [ -x "$LOAD" ] || { echo "build $LETHE and $LOAD first" >&2; exit 2; }

dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

export BENCH_JWT_SECRET=bench-secret-0123456789abcdef0123456789 BENCH_OPERATOR_KEY=bench-key LETHE_AUDIT_KEY=bench-audit
port=$((20000 + RANDOM % 20000))
cat > "$dir/config.json" <<JSON
{"listen": "127.0.0.1:$port", "store": {"sqlite": "lethe.db"},
 "operators": [{"name": "bench", "role": "admin", "key_sha256": "$(printf %s "$BENCH_OPERATOR_KEY" | sha256sum | cut -d' ' -f1)"}],
 "self_service": {"jwt": {"hs256_secret_env": "BENCH_JWT_SECRET", "issuer": "https://app.example", "audience": "lethe"},
                  "auto_approve": ["access"]},
 "connectors": []}
JSON

"$LOAD" seed "$dir/lethe.db" "$N"
"$LETHE" serve --config "$dir/config.json" --no-workers 2>"$dir/serve.log" &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

echo "== $N requests in the store, $CONNS connections, $(nproc) cores"
"$LOAD" list "$port" 2000 "$CONNS"
"$LOAD" submit "$port" "$SECS" "$CONNS"

kill -TERM "$pid"
wait "$pid" && echo "server stopped cleanly (exit 0)"
pid=
