#!/usr/bin/env bash
# The operator CLI over the store: every action of the state machine, the
# audit chain checked after each step, and tampering (edit, delete, reorder)
# detected by `lethe audit verify` with exit 1 naming the entry.
set -euo pipefail
LETHE=${LETHE_BINARY:?set by ctest}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export LETHE_AUDIT_KEY=test-audit-key
cat > lethe.json <<'JSON'
{"store": {"sqlite": "lethe.db"}, "timezone": "Europe/Berlin", "holidays": ["2026-12-25"],
 "audit": {"pseudonym_key_env": "LETHE_AUDIT_KEY"}, "connectors": []}
JSON
fail() { echo "FAIL: $*" >&2; exit 1; }
status_of() { "$LETHE" request show --config lethe.json "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
verify() { "$LETHE" audit verify --config lethe.json >/dev/null || fail "audit chain broken after $1"; }
expect() { local got; got=$(status_of "$1"); [ "$got" = "$2" ] || fail "expected $2, got $got"; verify "$2"; }

id=$("$LETHE" request submit --config lethe.json --type erasure --email ada@example.com --received 2026-01-31T10:00:00Z)
expect "$id" unverified
grep -q '"due_at": "2026-03-02T22:59:59Z"' <<<"$("$LETHE" request show --config lethe.json "$id" --json)" || fail "contract example deadline"
"$LETHE" request verify --config lethe.json "$id" >/dev/null; expect "$id" pending
"$LETHE" request hold --config lethe.json "$id" --kind identity >/dev/null; expect "$id" on_hold
"$LETHE" request resume --config lethe.json "$id" >/dev/null; expect "$id" pending
# Receipt was in January: the first deadline is long past, so extending is refused (exit 1, conflict).
set +e; "$LETHE" request extend --config lethe.json "$id" --reason "complex" 2>err.txt; rc=$?; set -e
[ $rc -eq 1 ] || fail "late extension should exit 1, got $rc"
"$LETHE" request approve --config lethe.json "$id" >/dev/null; expect "$id" approved
"$LETHE" request cancel --config lethe.json "$id" >/dev/null; expect "$id" cancelled
set +e; "$LETHE" request approve --config lethe.json "$id" 2>err.txt; rc=$?; set -e
[ $rc -eq 1 ] || fail "illegal transition should exit 1"
grep -q '"cancelled"' err.txt || fail "error should name the current status: $(cat err.txt)"

id2=$("$LETHE" request submit --config lethe.json --type access --email bob@example.com --verified)
expect "$id2" pending
"$LETHE" request extend --config lethe.json "$id2" --reason "many systems" >/dev/null; expect "$id2" pending
grep -q '"extended": true' <<<"$("$LETHE" request show --config lethe.json "$id2" --json)" || fail "extended flag"
set +e; "$LETHE" request deny --config lethe.json "$id2" 2>err.txt; rc=$?; set -e
[ $rc -eq 2 ] || fail "deny without reason should exit 2, got $rc"
grep -q "/reason" err.txt || fail "deny error should name /reason"
"$LETHE" request deny --config lethe.json "$id2" --reason "manifestly unfounded" >/dev/null; expect "$id2" denied
grep -q "$id2" <<<"$("$LETHE" request list --config lethe.json)" || fail "list shows the request"
[ "$("$LETHE" request list --config lethe.json --status denied --json | grep -c '"id"')" = 1 ] || fail "status filter"

# Usage errors exit 2 with one line.
set +e; "$LETHE" request submit --config lethe.json --type delete --email x@y.z 2>err.txt; rc=$?; set -e
[ $rc -eq 2 ] && [ "$(wc -l < err.txt)" = 1 ] || fail "bad type: rc=$rc $(cat err.txt)"
echo '{"store": {"sqlite": "x.db"}, "connectors": [], "bogus": 1}' > bad.json
set +e; "$LETHE" check --config bad.json 2>err.txt; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "bad.json: /bogus" err.txt || fail "config error: rc=$rc $(cat err.txt)"

# No clear PII in the audit log.
grep -q "ada@example.com" <<<"$("$LETHE" audit show --config lethe.json)" && fail "email in audit log"
n=$(sqlite3 lethe.db "select count(*) from audit")
[ "$n" -eq 9 ] || fail "expected an audit entry per step, got $n"

# Tampering: each kind is detected and names an entry.
cp lethe.db pristine.db
tamper() {
  cp pristine.db lethe.db; rm -f lethe.db-wal lethe.db-shm
  sqlite3 lethe.db "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; $1"
  set +e; "$LETHE" audit verify --config lethe.json 2>err.txt; rc=$?; set -e
  [ $rc -eq 1 ] || fail "$2 not detected (rc=$rc)"
  grep -q "audit entry $3" err.txt || fail "$2: wrong entry named: $(cat err.txt)"
}
tamper "UPDATE audit SET actor='mallory' WHERE seq=4" edit 4
tamper "DELETE FROM audit WHERE seq=3" delete 4
tamper "UPDATE audit SET seq=100 WHERE seq=5; UPDATE audit SET seq=5 WHERE seq=6; UPDATE audit SET seq=6 WHERE seq=100" reorder 5
echo "cli lifecycle: ok"
