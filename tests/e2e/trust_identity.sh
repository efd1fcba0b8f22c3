#!/usr/bin/env bash
# Issue 8, items 1-3, against the real binary, a real SQLite app database and
# real files:
#  1. data is found only through proved identities (or ones a keyed
#     collection ties to them): eve proves her email, claims user 42, and
#     gets only her own data; her erasure touches nothing of user 42;
#  2. an identity holding a prefix delimiter never reaches another subject's
#     objects (refused at intake; a found value holding one fails the request);
#  3. after an erasure, nothing of the subject stays: earlier exports are
#     deleted, the store (file, WAL, free pages) and the logs hold no identity.
set -euo pipefail
LETHE=${LETHE_BINARY:?set by ctest}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export LETHE_AUDIT_KEY=trust-test-pseudonym-key
fail() { echo "FAIL: $*" >&2; exit 1; }
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[int(k)] if isinstance(d, list) else d[k]
print(json.dumps(d) if isinstance(d,(dict,list)) else d)' "$1"; }
show() { "$LETHE" request show --config lethe.json --json "$1"; }
run_once() { "$LETHE" run --config lethe.json --once >>run.log 2>&1 || true; }

sqlite3 app.db <<'SQL'
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, handle TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, item TEXT);
INSERT INTO users VALUES (42, 'ada@example.com', 'Ada Lovelace', 'ada'), (7, 'eve@evil.test', 'Eve', 'ada/private'),
                         (9, 'bob@example.com', 'Bob', 'bob');
INSERT INTO orders VALUES (1, 42, 'analytical engine'), (2, 42, 'punch cards'), (3, 7, 'lockpick'), (4, 9, 'kettle');
SQL
mkdir -p files/42/private files/7 files/9 handles/ada/private handles/bob
echo "ada's diary" > files/42/private/diary.txt
echo "ada's cv" > files/42/cv.txt
echo "eve's notes" > files/7/notes.txt
echo "bob's photo" > files/9/photo.txt
echo "ada's handle file" > handles/ada/private/secret.txt
echo "bob's handle file" > handles/bob/b.txt
cat > lethe.json <<'JSON'
{"store": {"sqlite": "lethe.db"}, "timezone": "Europe/Berlin",
 "exports": {"dir": "exports"}, "audit": {"pseudonym_key_env": "LETHE_AUDIT_KEY"},
 "connectors": [
  {"name": "app", "type": "sqlite", "path": "app.db",
   "collections": [
     {"name": "users", "primary_key": "id", "identity": {"email": "email", "user_id": "id"}, "erase": "delete"},
     {"name": "orders", "primary_key": "id", "references": {"user_id": "users.id"}, "erase": "delete"}]},
  {"name": "files", "type": "filesystem", "root": "files",
   "objects": [{"name": "uploads", "prefix": "{identity.user_id}/", "erase": "delete"}]}
 ]}
JSON
"$LETHE" check --config lethe.json > check.txt || fail "check rejects the config"
grep -q 'identity.user_id' check.txt || fail "check should warn about an identity placeholder in a prefix: $(cat check.txt)"

# --- 1. eve proves her email and claims user 42 --------------------------------
eve=$("$LETHE" request submit --config lethe.json --type access --channel email --email eve@evil.test --user-id 42)
"$LETHE" request verify --config lethe.json "$eve" --identity email >/dev/null
[ "$(show "$eve" | json_get status)" = pending ] || fail "code verification should make the request pending"
[ "$(show "$eve" | json_get unverified_identities)" = '["user_id"]' ] || fail "user_id must show as unverified: $(show "$eve")"
"$LETHE" request plan --config lethe.json "$eve" --json > plan.json
[ "$(json_get identities.unverified < plan.json)" = '["user_id"]' ] || fail "plan must name the unverified identity: $(cat plan.json)"
plan_table=$("$LETHE" request plan --config lethe.json "$eve")
grep -q "NOT VERIFIED.*user_id" <<<"$plan_table" || fail "the plan table must say user_id is not verified"
"$LETHE" request approve --config lethe.json "$eve" >/dev/null
run_once
[ "$(show "$eve" | json_get status)" = completed ] || fail "eve's access: $(show "$eve" | json_get status) $(cat run.log)"
zip=$("$LETHE" request export --config lethe.json "$eve")
mkdir eve && (cd eve && unzip -q "$zip")
grep -rq "ada@example.com\|analytical engine\|ada's" eve && fail "eve received user 42's data"
grep -rq "lockpick" eve || fail "eve's own orders missing from her export"

# The same claim tied by the data itself: ada proves her email, whose users row has id 42.
ada=$("$LETHE" request submit --config lethe.json --type access --channel email --email ada@example.com --user-id 42)
"$LETHE" request verify --config lethe.json "$ada" --identity email >/dev/null
"$LETHE" request approve --config lethe.json "$ada" >/dev/null
run_once
zip_ada=$("$LETHE" request export --config lethe.json "$ada")
listing=$(unzip -l "$zip_ada")  # captured first: with pipefail, grep -q exiting early could SIGPIPE unzip
grep -q "files/files/42/cv.txt" <<<"$listing" || fail "a tied user_id should find ada's files: $listing"
[ -f "$zip_ada" ] || fail "ada's export missing"

# --- 2. delimiters ------------------------------------------------------------------
set +e; "$LETHE" request submit --config lethe.json --type erasure --email x@example.com --user-id 42/private --verified 2>err.txt; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "/subject/user_id" err.txt || fail "a user_id with '/' must be refused at intake (rc=$rc): $(cat err.txt)"
# A value found in the data that holds the delimiter fails the request instead of reaching ada's objects.
python3 - <<'PY'
import json
c = json.load(open("lethe.json"))
c["connectors"].append({"name": "handles", "type": "filesystem", "root": "handles",
                        "objects": [{"prefix": "{app.users.handle}/", "erase": "delete"}]})
json.dump(c, open("lethe2.json", "w"))
PY
h=$("$LETHE" request submit --config lethe2.json --type erasure --email eve@evil.test --verified)
"$LETHE" request approve --config lethe2.json "$h" >/dev/null
"$LETHE" run --config lethe2.json --once >>run.log 2>&1 || true
[ "$("$LETHE" request show --config lethe2.json --json "$h" | json_get status)" = failed ] || fail "a delimiter in a found value must fail the request"
[ -f handles/ada/private/secret.txt ] || fail "ada's handle files were erased through eve's handle"
"$LETHE" request show --config lethe2.json --json "$h" | grep -q "ada/private" && fail "the error text repeats the value"

# eve's erasure with the same claim deletes nothing of user 42.
ev2=$("$LETHE" request submit --config lethe.json --type erasure --channel email --email eve@evil.test --user-id 42)
"$LETHE" request verify --config lethe.json "$ev2" --identity email >/dev/null
"$LETHE" request approve --config lethe.json "$ev2" >/dev/null
run_once
[ "$(show "$ev2" | json_get status)" = completed ] || fail "eve's erasure: $(cat run.log)"
[ "$(sqlite3 app.db 'select count(*) from users where id=42')" = 1 ] || fail "eve's erasure deleted user 42"
[ "$(sqlite3 app.db 'select count(*) from orders where user_id=42')" = 2 ] || fail "eve's erasure deleted user 42's orders"
[ -f files/42/cv.txt ] && [ -f files/42/private/diary.txt ] || fail "eve's erasure deleted user 42's files"
[ -f "$zip_ada" ] || fail "eve's erasure deleted ada's export"

# --- 3. ada's erasure leaves nothing behind -------------------------------------------
er=$("$LETHE" request submit --config lethe.json --type erasure --email ada@example.com --user-id 42 --verified --note "ada@example.com called")
"$LETHE" request approve --config lethe.json "$er" >/dev/null
run_once
[ "$(show "$er" | json_get status)" = completed ] || fail "ada's erasure: $(cat run.log)"
[ "$(sqlite3 app.db 'select count(*) from users where id=42')" = 0 ] || fail "ada's row left"
[ -e "$zip_ada" ] && fail "ada's earlier export still in the exports folder"
ada_json=$(show "$ada")
grep -q '"export_erased": true' <<<"$ada_json" || fail "ada's access request should say its export was erased"
set +e; "$LETHE" request export --config lethe.json "$ada" >/dev/null 2>&1; rc=$?; set -e
[ $rc -ne 0 ] || fail "ada's old export is still served"
sqlite3 lethe.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
for f in lethe.db lethe.db-wal; do
  [ -f "$f" ] || continue
  grep -q "ada@example.com" "$f" && fail "ada's email is still in $f (free pages or WAL)"
done
grep -q "ada@example.com" run.log && fail "ada's email is in the logs"
[ "$(sqlite3 lethe.db "select count(*) from requests where email='ada@example.com' or user_id='42'")" = 0 ] || fail "a request still names ada"
echo "trust identity: ok"
