#!/usr/bin/env bash
# Starts and stops the real services Lethe's integration tests talk to:
# PostgreSQL, an S3 server (s3rver), a Chroma vector database and an SMTP
# catcher with a REST API (maildev). Everything listens on 127.0.0.1 on free
# ports; state lives in tests/services/.run/ (and the PostgreSQL data dir in
# /tmp, owned by the postgres user). `start` writes tests/services/.run/env,
# shell assignments the tests read:
#
#   bash scripts/services.sh start && set -a && . tests/services/.run/env && set +a
#
# A service that does not come up fails `start` (exit 1) with its log: in CI a
# missing service is a failure, never a skipped test.
#
#   services.sh start | stop | status | env
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SVC="$ROOT/tests/services"
RUN="$SVC/.run"
ENV_FILE="$RUN/env"
WAIT_SECONDS=${LETHE_SERVICES_TIMEOUT:-60}
PG_BIN=${LETHE_PG_BIN:-}
S3_BUCKET=lethe-test

log() { echo "services: $*" >&2; }

find_pg_bin() {
  if [ -n "$PG_BIN" ]; then return; fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && PG_BIN=$d
  done
  if [ -z "$PG_BIN" ]; then
    log "PostgreSQL server binaries not found (run scripts/install-deps.sh)"
    exit 1
  fi
}

# A free TCP port on 127.0.0.1, chosen by the kernel. Another process may take
# it before we bind it; start_* then retries with a new port.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits until "$@" succeeds or WAIT_SECONDS pass; fails early when the process
# in pid file $1 has died.
wait_until() {
  local pidfile=$1; shift
  local deadline=$((SECONDS + WAIT_SECONDS))
  while [ $SECONDS -lt $deadline ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 1; fi
    sleep 0.3
  done
  return 1
}

# True when an HTTP GET of $1 answers 2xx. Node is there anyway (the services
# are node packages), so this needs no curl binary.
http_ok() {
  node -e 'const r=require("http").get(process.argv[1],{timeout:2000},s=>{s.resume();process.exit(s.statusCode>=200&&s.statusCode<300?0:1)});r.on("error",()=>process.exit(1));r.on("timeout",()=>process.exit(1))' "$1"
}

fail_with_log() {
  local name=$1 logfile=$2
  log "$name did not start; its log ($logfile):"
  tail -n 60 "$logfile" >&2 || true
  stop_all
  exit 1
}

# Runs a node service in its own session (so stop can end its whole process
# group) with output to $RUN/<name>.log and its pid in $RUN/<name>.pid.
spawn() {
  local name=$1; shift
  setsid "$@" >"$RUN/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/$name.pid"
}

ensure_node_modules() {
  if ! command -v npm >/dev/null 2>&1; then
    log "npm not found (run scripts/install-deps.sh)"
    exit 1
  fi
  local want have=""
  want=$(sha256sum "$SVC/package-lock.json" | cut -d' ' -f1)
  [ -f "$SVC/node_modules/.lethe-lock-sha256" ] && have=$(cat "$SVC/node_modules/.lethe-lock-sha256")
  if [ "$want" != "$have" ]; then
    log "installing test service packages (npm ci)"
    (cd "$SVC" && npm ci --no-audit --no-fund --loglevel=error) >&2
    echo "$want" >"$SVC/node_modules/.lethe-lock-sha256"
  fi
}

# --- PostgreSQL -------------------------------------------------------------

# initdb refuses to run as root, so as root the cluster belongs to the
# postgres user; otherwise to whoever runs this script.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  find_pg_bin
  local attempt port data
  for attempt in 1 2 3; do
    port=$(free_port)
    data=/tmp/lethe-pg-$port
    rm -rf "$data"
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    echo "$data" >"$RUN/postgres.datadir"
    # Passwords are checked on TCP (as the tests' DSN uses); the unix socket
    # in the data dir trusts the cluster owner, for setup below.
    if ! as_pg "$PG_BIN/initdb" -D "$data/db" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >"$RUN/postgres.log" 2>&1; then
      fail_with_log postgres "$RUN/postgres.log"
    fi
    if as_pg "$PG_BIN/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t "$WAIT_SECONDS" \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" \
        start >>"$RUN/postgres.log" 2>&1; then
      break
    fi
    cat "$data/server.log" >>"$RUN/postgres.log" 2>/dev/null || true
    if [ $attempt -eq 3 ]; then fail_with_log postgres "$RUN/postgres.log"; fi
    log "postgres failed on port $port, retrying"
    rm -rf "$data"
  done
  if ! wait_until "" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    cat "$data/server.log" >>"$RUN/postgres.log" 2>/dev/null || true
    fail_with_log postgres "$RUN/postgres.log"
  fi
  as_pg "$PG_BIN/psql" -v ON_ERROR_STOP=1 -q -h "$data" -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE lethe LOGIN PASSWORD 'lethe'" \
    -c "CREATE DATABASE lethe OWNER lethe" >>"$RUN/postgres.log" 2>&1 \
    || fail_with_log postgres "$RUN/postgres.log"
  echo "LETHE_PG_DSN=postgresql://lethe:lethe@127.0.0.1:$port/lethe" >>"$ENV_FILE.tmp"
  log "postgres on 127.0.0.1:$port"
}

stop_postgres() {
  [ -f "$RUN/postgres.datadir" ] || return 0
  local data
  data=$(cat "$RUN/postgres.datadir")
  if [ -f "$data/db/postmaster.pid" ]; then
    find_pg_bin
    as_pg "$PG_BIN/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null 2>&1 || {
      # pg_ctl could not stop it: end the postmaster by its recorded pid.
      local pid
      pid=$(head -n1 "$data/db/postmaster.pid" 2>/dev/null || true)
      [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    }
  fi
  case "$data" in /tmp/lethe-pg-*) rm -rf "$data" ;; esac
  rm -f "$RUN/postgres.datadir"
}

# --- node services ----------------------------------------------------------

# start_node NAME CHECK_URL_TEMPLATE COMMAND... ; PORT in the arguments and
# URL is replaced by a free port (PORT2 by a second one).
start_node() {
  local name=$1 url_t=$2; shift 2
  local attempt port port2 url args a
  for attempt in 1 2 3; do
    port=$(free_port)
    port2=$(free_port)
    while [ "$port2" = "$port" ]; do port2=$(free_port); done
    args=()
    for a in "$@"; do a=${a//PORT2/$port2}; args+=("${a//PORT/$port}"); done
    url=${url_t//PORT2/$port2}; url=${url//PORT/$port}
    spawn "$name" "${args[@]}"
    if wait_until "$RUN/$name.pid" http_ok "$url"; then
      STARTED_PORT=$port
      STARTED_PORT2=$port2
      log "$name on 127.0.0.1:$port"
      return 0
    fi
    stop_pid "$name"
    if [ $attempt -lt 3 ] && grep -q -i "EADDRINUSE\|address already in use" "$RUN/$name.log"; then
      log "$name: port taken, retrying"
      continue
    fi
    fail_with_log "$name" "$RUN/$name.log"
  done
}

start_s3() {
  rm -rf "$RUN/s3"
  mkdir -p "$RUN/s3"
  # s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3
  # only offers through its legacy provider.
  start_node s3 "http://127.0.0.1:PORT/" \
    node --openssl-legacy-provider "$SVC/node_modules/s3rver/bin/s3rver.js" -d "$RUN/s3" -a 127.0.0.1 -p PORT \
    --configure-bucket "$S3_BUCKET" --no-vhost-buckets
  {
    echo "LETHE_S3_ENDPOINT=http://127.0.0.1:$STARTED_PORT"
    echo "LETHE_S3_BUCKET=$S3_BUCKET"
    echo "LETHE_S3_REGION=us-east-1"
    echo "LETHE_S3_ACCESS_KEY=S3RVER"
    echo "LETHE_S3_SECRET_KEY=S3RVER"
  } >>"$ENV_FILE.tmp"
}

start_chroma() {
  rm -rf "$RUN/chroma"
  mkdir -p "$RUN/chroma"
  start_node chroma "http://127.0.0.1:PORT/api/v2/heartbeat" \
    node "$SVC/node_modules/chromadb/dist/cli.mjs" run --path "$RUN/chroma" --host 127.0.0.1 --port PORT
  echo "LETHE_CHROMA_URL=http://127.0.0.1:$STARTED_PORT" >>"$ENV_FILE.tmp"
}

start_maildev() {
  rm -rf "$RUN/mail"
  mkdir -p "$RUN/mail"
  # PORT: web/REST API, PORT2: SMTP.
  start_node maildev "http://127.0.0.1:PORT/email" \
    node "$SVC/node_modules/maildev/bin/maildev" --web PORT --smtp PORT2 --ip 127.0.0.1 \
    --web-ip 127.0.0.1 --mail-directory "$RUN/mail"
  wait_until "$RUN/maildev.pid" port_open "$STARTED_PORT2" || fail_with_log maildev "$RUN/maildev.log"
  {
    echo "LETHE_SMTP_URL=smtp://127.0.0.1:$STARTED_PORT2"
    echo "LETHE_MAILDEV_API=http://127.0.0.1:$STARTED_PORT"
  } >>"$ENV_FILE.tmp"
}

# --- stop ---------------------------------------------------------------------

# Ends the process group started for NAME (setsid made its pid the group id).
stop_pid() {
  local name=$1 pid i
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
}

stop_all() {
  stop_pid s3
  stop_pid chroma
  stop_pid maildev
  stop_postgres
  rm -f "$ENV_FILE" "$ENV_FILE.tmp"
}

# --- commands -----------------------------------------------------------------

start_all() {
  mkdir -p "$RUN"
  # Leftovers of an earlier run (crashed test, killed shell) are stopped first.
  stop_all
  ensure_node_modules
  local vec="$SVC/node_modules/sqlite-vec-linux-x64/vec0.so"
  if [ ! -f "$vec" ]; then
    log "sqlite-vec extension missing at $vec"
    exit 1
  fi
  : >"$ENV_FILE.tmp"
  start_postgres
  start_s3
  start_chroma
  start_maildev
  echo "LETHE_SQLITE_VEC=$vec" >>"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  log "env written to $ENV_FILE"
}

status_all() {
  local name rc=0
  for name in s3 chroma maildev; do
    if [ -f "$RUN/$name.pid" ] && kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
      echo "$name: running (pid $(cat "$RUN/$name.pid"))"
    else
      echo "$name: stopped"; rc=1
    fi
  done
  if [ -f "$RUN/postgres.datadir" ] && [ -f "$(cat "$RUN/postgres.datadir")/db/postmaster.pid" ]; then
    echo "postgres: running ($(cat "$RUN/postgres.datadir"))"
  else
    echo "postgres: stopped"; rc=1
  fi
  return $rc
}

case "${1:-}" in
  start) start_all ;;
  stop) stop_all ;;
  status) status_all ;;
  env) echo "$ENV_FILE" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
