# Shared by crash_erasure.sh and crash_export.sh (sourced; not a test itself:
# ctest only runs tests/e2e/*.sh).
#
# Builds a world with a subject (user 1, ada@example.com) and many others in
# SQLite, plain files and JSONL logs, then runs `lethe run --once` and kills
# it with SIGKILL at random moments, restarting until the request is done.
set -euo pipefail

SRC=${LETHE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LETHE=${LETHE_BINARY:-$SRC/build/lethe}
[[ -x "$LETHE" ]] || { echo "lethe binary not found at $LETHE" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI is missing" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/lethe-crash-XXXXXX")
trap 'rm -rf "$T"' EXIT
export LETHE_AUDIT_KEY=crash-test-pseudonym-key

SEED=${CRASH_SEED:-$RANDOM}
RANDOM=$SEED
echo "crash test in $T (seed $SEED; rerun with CRASH_SEED=$SEED)"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Reads JSON on stdin and prints the value at a JSON path ($.a.b), with the
# sqlite3 CLI so the test needs no jq.
json_get() {
  local f
  f=$(mktemp "$T/json.XXXXXX")
  cat > "$f"
  sqlite3 :memory: "SELECT json_extract(CAST(readfile('$f') AS TEXT), '$1')"
  rm -f "$f"
}

# Counts in the world, for the subject (1 / ada) and for everyone else.
USERS=2000
APPS=24000        # every 4th is the subject's: 6000
EVENTS=24000      # every 3rd is the subject's: 8000
SUBJECT_ROWS=$((1 + APPS / 4 + APPS / 4 + EVENTS / 3))   # users + applications + drafts + events
OTHER_ROWS=$(((USERS - 1) + APPS * 3 / 4 + APPS * 3 / 4 + EVENTS * 2 / 3))
SUBJECT_FILES=3000
OTHER_FILES=500
LOG_LINES=60000   # every 5th line is the subject's by user_id, every 7th (not 5th) by email
SUBJECT_LINES=$((LOG_LINES / 5 + LOG_LINES / 7 - LOG_LINES / 35))
OTHER_LINES=$((LOG_LINES - SUBJECT_LINES))

build_world() {
  cd "$T"
  sqlite3 app.db >/dev/null <<SQL
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);
CREATE TABLE applications(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, job TEXT);
CREATE TABLE drafts(id INTEGER PRIMARY KEY, application_id INTEGER NOT NULL, body TEXT);
CREATE TABLE events(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, kind TEXT);
CREATE INDEX applications_user ON applications(user_id);
CREATE INDEX drafts_application ON drafts(application_id);
CREATE INDEX events_user ON events(user_id);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $USERS)
INSERT INTO users SELECT i, CASE i WHEN 1 THEN 'ada@example.com' ELSE 'u' || i || '@example.com' END, 'N' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $APPS)
INSERT INTO applications SELECT i, CASE WHEN i % 4 = 0 THEN 1 ELSE 2 + i % ($USERS - 1) END, 'job ' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $APPS)
INSERT INTO drafts SELECT i, i, hex(randomblob(40)) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $EVENTS)
INSERT INTO events SELECT i, CASE WHEN i % 3 = 0 THEN 1 ELSE 2 + i % ($USERS - 1) END, 'view' FROM n;
COMMIT;
SQL
  local i
  for i in $(seq 1 $SUBJECT_FILES); do
    mkdir -p "files/1/d$((i % 30))"
    printf 'file %d of the subject\n' "$i" > "files/1/d$((i % 30))/f$i.txt"
  done
  # Others, including ids that share the subject's digits (10, 100, 11, ...).
  for i in $(seq 1 $OTHER_FILES); do
    local u=$((10 + i % 100))
    mkdir -p "files/$u"
    printf 'file %d of user %d\n' "$i" "$u" > "files/$u/f$i.txt"
  done
  mkdir -p logs
  awk -v n=$LOG_LINES 'BEGIN {
    for (i = 1; i <= n; i++) {
      if (i % 5 == 0) printf "{\"n\":%d,\"user_id\":1,\"ip\":\"10.0.0.1\"}\n", i > "logs/app.jsonl";
      else if (i % 7 == 0) printf "{\"n\":%d,\"email\":\"ada@example.com\"}\n", i > "logs/app.jsonl";
      else printf "{\"n\":%d,\"user_id\":%d,\"ip\":\"10.0.0.2\"}\n", i, 2 + i % 1000 > "logs/app.jsonl";
    }
  }'
  cat > lethe.json <<'JSON'
{
  "store": {"sqlite": "lethe.db"},
  "self_service": {"erasure_grace": "PT0S"},
  "exports": {"dir": "exports"},
  "workers": {"lease": "PT1S"},
  "audit": {"pseudonym_key_env": "LETHE_AUDIT_KEY"},
  "connectors": [
    {"name": "app", "type": "sqlite", "path": "app.db",
     "collections": [
       {"name": "users", "primary_key": "id", "identity": {"email": "email", "user_id": "id"},
        "portable": true, "erase": "delete"},
       {"name": "applications", "primary_key": "id", "references": {"user_id": "users.id"},
        "portable": true, "erase": "delete"},
       {"name": "drafts", "primary_key": "id", "references": {"application_id": "applications.id"},
        "erase": "delete"},
       {"name": "events", "primary_key": "id", "references": {"user_id": "users.id"}, "erase": "delete"}
     ]},
    {"name": "files", "type": "filesystem", "root": "files",
     "objects": [{"name": "uploads", "prefix": "{app.users.id}/", "portable": true, "erase": "delete"}]},
    {"name": "logs", "type": "jsonl", "files": "logs/*.jsonl",
     "match": {"user_id": "{app.users.id}", "email": "{identity.email}"}, "erase": "drop"}
  ]
}
JSON
  "$LETHE" check --config lethe.json >/dev/null || fail "lethe check rejects the world's config"
}

# Submits a verified request of TYPE for the subject and approves it; prints its id.
submit_approved() {
  local id
  id=$(cd "$T" && "$LETHE" request submit --config lethe.json --type "$1" --email ada@example.com --user-id 1 \
       --verified) || fail "submit failed"
  (cd "$T" && "$LETHE" request approve --config lethe.json "$id" >/dev/null) || fail "approve failed"
  echo "$id"
}

request_json() { (cd "$T" && "$LETHE" request show --config lethe.json --json "$1"); }
# Path of a request's export zip, absolute.
export_path() {
  local p
  p=$(cd "$T" && "$LETHE" request export --config lethe.json "$1") || return 0
  [[ "$p" = /* ]] && echo "$p" || echo "$T/$p"
}
request_status() { request_json "$1" | json_get '$.status'; }
# "done/total" tasks of a request: shows how far the killed runs got.
request_progress() {
  local f
  f=$(mktemp "$T/json.XXXXXX")
  request_json "$1" > "$f"
  sqlite3 :memory: "SELECT (SELECT count(*) FROM json_each(json_extract(CAST(readfile('$f') AS TEXT), '\$.tasks'))
                            WHERE json_extract(value, '\$.status') = 'done') || '/' ||
                           json_array_length(CAST(readfile('$f') AS TEXT), '\$.tasks')"
  rm -f "$f"
}

# Starts `lethe run --once` and SIGKILLs it: the k-th time after a random
# moment in [20 + (k-1)*STEP, 20 + k*STEP) ms, so the first kills land early
# and, as each restart resumes further on, later kills land in later phases.
# Calls the function named by AFTER_KILL (if set) after each kill. Then runs
# it unkilled until the request is completed; fails if it ends otherwise, or
# if no run at all was killed mid-work (the test would prove nothing).
KILLS=${CRASH_KILLS:-8}
STEP_MS=${CRASH_STEP_MS:-150}
AFTER_KILL=${AFTER_KILL:-}
crash_until_done() {
  local id=$1 k pid rc killed=0
  for k in $(seq 1 "$KILLS"); do
    (cd "$T" && exec "$LETHE" run --once --config lethe.json >>"$T/run.log" 2>&1) &
    pid=$!
    local ms=$((20 + (k - 1) * STEP_MS + RANDOM % STEP_MS))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    [[ "$rc" != 137 ]] || killed=$((killed + 1))
    # The killed run held the request's lease; the next run may take it
    # over only once it has expired (PT1S, counted in whole seconds).
    [[ "$rc" != 137 ]] || sleep 2.2
    echo "  run $k: killed after ${ms} ms (exit $rc), status $(request_status "$id"), tasks done $(request_progress "$id")"
    if [[ -n "$AFTER_KILL" ]]; then "$AFTER_KILL"; fi
    [[ "$(request_status "$id")" == completed ]] && break
  done
  echo "  $killed of the runs were killed mid-work"
  [[ "$killed" -gt 0 ]] || fail "no run was killed mid-work: the world is too small to test crashes"
  for k in 1 2 3; do
    [[ "$(request_status "$id")" == completed ]] && break
    (cd "$T" && "$LETHE" run --once --config lethe.json >>"$T/run.log" 2>&1) || true
  done
  local st
  st=$(request_status "$id")
  if [[ "$st" != completed ]]; then
    tail -20 "$T/run.log" >&2
    request_json "$id" >&2
    fail "request ended $st, not completed"
  fi
}

sql() { sqlite3 "$T/app.db" "$1"; }

check_audit() {
  (cd "$T" && "$LETHE" audit verify --config lethe.json >/dev/null) || fail "lethe audit verify fails"
}
