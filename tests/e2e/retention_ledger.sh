#!/usr/bin/env bash
# Retention through the real binary and a real SQLite app database: an
# erasure deletes the invoice whose seven years have run out and keeps (masks)
# the others, records them in the pseudonymous ledger and says so in the
# receipt (with the backups date); a later access request lists them under
# `kept`; when their period ends `lethe run --once` erases them, audited,
# once.
set -euo pipefail
LETHE=${LETHE_BINARY:?set by ctest}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export LETHE_AUDIT_KEY=test-audit-key
fail() { echo "FAIL: $*" >&2; exit 1; }
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps(eval(sys.argv[1])))" "$1"; }

sqlite3 app.db <<'SQL'
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT);
CREATE TABLE invoices (id INTEGER PRIMARY KEY, user_id INTEGER, name TEXT, email TEXT, issued_at TEXT);
INSERT INTO users VALUES (1, 'ada@example.com', 'Ada'), (2, 'bob@example.com', 'Bob');
-- 500's seven years ended 2025-03-31; the others run to 2033-03-31 at the latest.
INSERT INTO invoices VALUES (500, 1, 'Ada', 'ada@example.com', '2018-03-31'),
                            (501, 1, 'Ada', 'ada@example.com', '2026-03-31'),
                            (502, 1, 'Ada', 'ada@example.com', '2025-06-30'),
                            (503, 1, 'Ada', 'ada@example.com', '2024-01-15'),
                            (600, 2, 'Bob', 'bob@example.com', '2018-03-31');
SQL
cat > lethe.json <<'JSON'
{"store": {"sqlite": "lethe.db"}, "audit": {"pseudonym_key_env": "LETHE_AUDIT_KEY"},
 "exports": {"dir": "exports"}, "backups": {"retention": "P30D"},
 "connectors": [{"name": "app", "type": "sqlite", "path": "app.db", "collections": [
   {"name": "users", "primary_key": "id", "identity": {"email": "email"}},
   {"name": "invoices", "primary_key": "id", "references": {"user_id": "users.id"},
    "retain": {"basis": "legal_obligation", "note": "EU tax law", "period": "P7Y", "from": "issued_at"},
    "erase": {"mask": {"name": "null", "email": "hash"}}}]}]}
JSON
run_once() { "$LETHE" run --once --config lethe.json >>run.log 2>&1 || fail "run --once: $(tail -3 run.log)"; }
submit() {
  local id
  id=$("$LETHE" request submit --config lethe.json --type "$1" --email ada@example.com --verified)
  "$LETHE" request approve --config lethe.json "$id" >/dev/null
  echo "$id"
}

# --- erasure
erase=$(submit erasure)
run_once
show=$("$LETHE" request show --config lethe.json "$erase" --json)
[ "$(json_get 'd["status"]' <<<"$show")" = '"completed"' ] || fail "erasure not completed: $show"
[ "$(sqlite3 app.db 'SELECT count(*) FROM invoices WHERE id = 500')" = 0 ] || fail "expired invoice 500 was kept"
[ "$(sqlite3 app.db 'SELECT count(*) FROM invoices WHERE id IN (501, 502, 503) AND name IS NULL')" = 3 ] ||
  fail "invoices within their period must be kept, masked"
[ "$(sqlite3 app.db 'SELECT count(*) FROM invoices WHERE id = 600')" = 1 ] || fail "bob's invoice touched"
kept=$(json_get 'd["result"]["kept_items"]' <<<"$show")
[ "$kept" = '[{"basis": "legal_obligation", "collection": "invoices", "connector": "app", "note": "EU tax law", "records": 3, "until": "2033-03-31"}]' ] ||
  fail "receipt kept_items: $kept"
[ "$(json_get 'd["result"]["retained"][0]["expired_deleted"]' <<<"$show")" = 1 ] || fail "receipt expired_deleted"
gone_by=$(json_get 'd["result"]["backups"]["gone_by"]' <<<"$show")
completed=$(json_get 'd["completed_at"]' <<<"$show")
want=$(python3 -c "import datetime,sys; print(datetime.date.fromisoformat(sys.argv[1][1:11]) + datetime.timedelta(days=30))" "$completed")
[ "$gone_by" = "\"$want\"" ] || fail "backups gone_by $gone_by, want $want (completed $completed)"

# --- the ledger: keys and pseudonyms, no identity values
ledger=$(sqlite3 lethe.db "SELECT key || ' ' || value FROM records WHERE kind = 'kept'")
[ -n "$ledger" ] || fail "no ledger records"
grep -q 'ada@example.com\|Ada' <<<"$ledger" && fail "identity value in the ledger: $ledger"
grep -q '"keys":\["50[1-3]"' <<<"$ledger" || fail "ledger keys: $ledger"

# --- a later access request lists what is kept
access=$(submit access)
run_once
zip=$("$LETHE" request export --config lethe.json "$access")
manifest_kept=$(unzip -p "$zip" manifest.json | json_get 'd["kept"]')
[ "$manifest_kept" = "$kept" ] || fail "manifest kept: $manifest_kept"
report=$(unzip -p "$zip" report.html)
grep -q "3 invoices, kept until 2033-03-31, EU tax law" <<<"$report" || fail "report.html does not say what is kept"

# --- the periods end (set in the past here): run --once erases them, audited, once
sqlite3 lethe.db "UPDATE records SET due_at = strftime('%s','now') - 60 WHERE kind = 'kept'"
run_once
[ "$(sqlite3 app.db 'SELECT count(*) FROM invoices WHERE user_id = 1')" = 0 ] || fail "kept invoices not purged"
[ "$(sqlite3 app.db 'SELECT count(*) FROM invoices WHERE id = 600')" = 1 ] || fail "bob's invoice purged"
[ "$(sqlite3 lethe.db "SELECT count(*) FROM records WHERE kind = 'kept'")" = 0 ] || fail "ledger not emptied"
audit=$("$LETHE" audit show --config lethe.json --json)
n=$(grep -c '"kept_purged"' <<<"$audit" || true)
[ "$n" -ge 1 ] || fail "no kept_purged audit entry"
grep '"kept_purged"' <<<"$audit" | grep -q '"deleted":' || fail "audit entry without counts"
run_once
[ "$(grep -c '"kept_purged"' <<<"$("$LETHE" audit show --config lethe.json --json)")" = "$n" ] || fail "second run acted again"
"$LETHE" audit verify --config lethe.json >/dev/null || fail "audit chain"
echo "retention ledger: ok"
