#!/usr/bin/env bash
# One odd request must never wedge the queue (issue 8, item 6).
# 1. user_id 9999999999999999999 used to make the sqlite connector throw
#    (std::stoll); the exception escaped the worker, `lethe run --once`
#    aborted with rc 134 and the request stayed in_progress forever, every
#    later request waiting behind it. Now it finds no row and completes, the
#    run exits 0/1, and the next request completes in the same run.
# 2. A worker that hangs holding a request (SIGSTOP, lease still live) is
#    not raced by other workers; an admin fails it with a reason
#    (`lethe request fail`), later requests run, and the hung worker, when
#    it wakes, cannot overwrite the admin's decision.
set -euo pipefail
LETHE=${LETHE_BINARY:?set by ctest}
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI is missing" >&2; exit 1; }
dir=$(mktemp -d)
hung_pid=
cleanup() {
  if [[ -n "$hung_pid" ]]; then kill -CONT "$hung_pid" 2>/dev/null || true; kill -9 "$hung_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
cd "$dir"
export LETHE_AUDIT_KEY=test-audit-key
fail() { echo "FAIL: $*" >&2; exit 1; }
field() { "$LETHE" request show --config lethe.json "$1" --json |
          python3 -c 'import json,sys; r=json.load(sys.stdin); v=r
for k in sys.argv[1].split("."): v=v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$2"; }
submit() { # type email user_id
  local id
  id=$("$LETHE" request submit --config lethe.json --type "$1" --email "$2" --user-id "$3" --verified)
  "$LETHE" request approve --config lethe.json "$id" >/dev/null
  echo "$id"
}
started_events() { sqlite3 lethe.db "SELECT count(*) FROM events WHERE request_id='$1' AND kind='started'"; }

# Many orders for user 1, so that an export takes long enough to be caught running.
sqlite3 app.db >/dev/null <<'SQL'
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, item TEXT);
INSERT INTO users VALUES (1, 'ada@example.com'), (2, 'bob@example.com');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO orders SELECT i, 1 + i % 2, hex(randomblob(24)) FROM n;
SQL
cat > lethe.json <<'JSON'
{"store": {"sqlite": "lethe.db"}, "exports": {"dir": "exports"},
 "audit": {"pseudonym_key_env": "LETHE_AUDIT_KEY"},
 "workers": {"lease": "PT1H"},
 "connectors": [
   {"name": "app", "type": "sqlite", "path": "app.db",
    "collections": [
      {"name": "users", "primary_key": "id", "identity": {"email": "email", "user_id": "id"}, "portable": true},
      {"name": "orders", "primary_key": "id", "references": {"user_id": "users.id"}, "portable": true}]}]}
JSON
"$LETHE" check --config lethe.json >/dev/null || fail "lethe check rejects the config"

# --- 1. the odd identity
odd=$(submit access odd@example.com 9999999999999999999)
normal=$(submit access bob@example.com 2)
set +e
"$LETHE" run --once --config lethe.json >run1.out 2>run1.err
rc=$?
set -e
[[ $rc -eq 0 || $rc -eq 1 ]] || { cat run1.err >&2; fail "lethe run --once exited $rc (134 = aborted on an exception)"; }
st=$(field "$odd" status)
[[ "$st" == completed ]] || { cat run1.err >&2; fail "the odd request ended $st, not completed"; }
[[ "$(field "$odd" result.records)" == 0 ]] || fail "the odd identity matched records: $(field "$odd" result.records)"
[[ "$(field "$normal" status)" == completed ]] || fail "the request after it ended $(field "$normal" status)"
[[ $rc -eq 0 ]] || fail "run --once exited $rc with every request completed"
grep -q 9999999999999999999 run1.err run1.out && fail "an identity value reached the log"

# --- 2. a hung worker and the admin's way out
hung=$(submit access ada@example.com 1)
"$LETHE" run --once --config lethe.json >hung.out 2>hung.err &
hung_pid=$!
for _ in $(seq 1 400); do
  [[ "$(sqlite3 lethe.db "SELECT status FROM requests WHERE id='$hung'")" == in_progress ]] && break
  sleep 0.02
done
kill -STOP "$hung_pid"
st=$(field "$hung" status)
[[ "$st" == in_progress ]] || fail "could not catch the export running (it is $st); make the world bigger"

# Other workers leave a live lease alone, and other requests do not wait behind it.
later=$(submit access bob@example.com 2)
"$LETHE" run --once --config lethe.json >run2.out 2>run2.err || fail "run --once beside a hung worker failed"
[[ "$(field "$hung" status)" == in_progress ]] || fail "a second worker took a request with a live lease"
[[ "$(started_events "$hung")" == 1 ]] || fail "the hung request was started $(started_events "$hung") times"
[[ "$(field "$later" status)" == completed ]] || fail "a later request waited behind the hung one"

# Only an admin stops it, and only with a reason; an operator's cancel is refused.
set +e
"$LETHE" request fail --config lethe.json "$hung" 2>err.txt; rc=$?
set -e
[[ $rc -eq 2 ]] && grep -q /reason err.txt || fail "fail without a reason: rc=$rc $(cat err.txt)"
"$LETHE" request fail --config lethe.json "$hung" --actor alice --reason "worker hung" >/dev/null ||
  fail "the admin could not fail the stuck request"
[[ "$(field "$hung" status)" == failed ]] || fail "the stuck request is $(field "$hung" status), not failed"
ev=$(sqlite3 lethe.db "SELECT actor || '|' || reason FROM events WHERE request_id='$hung' AND kind='failed'")
[[ "$ev" == "alice|worker hung" ]] || fail "the failed event is '$ev'"

# The hung worker wakes and finishes: its result is refused, the admin's stands.
kill -CONT "$hung_pid"
set +e
wait "$hung_pid"; rc=$?
set -e
hung_pid=
[[ $rc -eq 0 || $rc -eq 1 ]] || fail "the woken worker exited $rc"
[[ "$(field "$hung" status)" == failed ]] || fail "the stale worker overwrote the admin's fail: $(field "$hung" status)"
[[ "$(sqlite3 lethe.db "SELECT count(*) FROM events WHERE request_id='$hung' AND kind='completed'")" == 0 ]] ||
  fail "the stale worker recorded a completion"

# Retry runs it again, once, to completion.
"$LETHE" request retry --config lethe.json "$hung" >/dev/null
"$LETHE" run --once --config lethe.json >run3.out 2>run3.err || fail "run --once after retry failed"
[[ "$(field "$hung" status)" == completed ]] || fail "the retried request ended $(field "$hung" status)"
"$LETHE" audit verify --config lethe.json >/dev/null || fail "audit chain broken"
echo "ok: an odd identity and a hung worker no longer wedge the queue"
