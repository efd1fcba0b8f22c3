#!/usr/bin/env bash
# The audit log is tamper-evident in fact (docs/audit.md): with a keyed chain
# and an anchor file outside the store, someone who can write the store file
# (sqlite3: drop the append-only triggers, then edit) cannot hide a deletion
# or an edit. Each tampering below makes `lethe audit verify` exit 1 naming the
# first bad entry. Also: the store file is created 0600, heads are written at
# shutdown by CLI commands, `lethe run` and `lethe serve`, and an older store
# without an anchor is taken in with `lethe audit anchor`.
set -euo pipefail
LETHE=${LETHE_BINARY:?set by ctest}
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI is missing" >&2; exit 1; }
dir=$(mktemp -d)
srv=""
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"
export LETHE_AUDIT_KEY=e2e-pseudonym-key
export LETHE_CHAIN_KEY=e2e-chain-key-never-in-the-store
fail() { echo "FAIL: $*" >&2; exit 1; }

opkey=e2e-operator-key
cat > lethe.json <<JSON
{"store": {"sqlite": "data/lethe.db"}, "listen": "127.0.0.1:0",
 "operators": [{"name": "alice", "role": "admin", "key_sha256": "$("$LETHE" hash-key "$opkey")"}],
 "audit": {"pseudonym_key_env": "LETHE_AUDIT_KEY", "chain_key_env": "LETHE_CHAIN_KEY",
           "anchor_file": "anchor/lethe.anchor"},
 "connectors": []}
JSON
verify_ok() { "$LETHE" audit verify --config lethe.json >out.txt 2>err.txt || fail "verify after $1: $(cat err.txt)"; }
entries() { sqlite3 data/lethe.db "SELECT count(*) FROM audit"; }
last_head_seq() { tail -n 1 anchor/lethe.anchor | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])'; }

# --- a real log, written by CLI commands and `lethe run --once`.
id=$("$LETHE" request submit --config lethe.json --type access --email ada@example.com --verified)
"$LETHE" request submit --config lethe.json --type erasure --email bob@example.com >/dev/null
"$LETHE" request approve --config lethe.json "$id" >/dev/null
"$LETHE" run --config lethe.json --once >/dev/null
n=$(entries)
[ "$n" -ge 5 ] || fail "expected at least 5 audit entries, got $n"
[ "$(last_head_seq)" = "$n" ] || fail "the last command's shutdown should anchor entry $n, anchor has $(last_head_seq)"
verify_ok "the commands"
grep -q "audit chain intact: $n entries" out.txt || fail "verify output: $(cat out.txt)"

# --- the store and the anchor are private; the chain key is not in the store.
for f in data/lethe.db data/lethe.db-wal data/lethe.db-shm anchor/lethe.anchor; do
  [ ! -e "$f" ] || [ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f"), want 600"
done
[ "$(stat -c %a data/lethe.db)" = 600 ] || fail "store mode"
grep -q "$LETHE_CHAIN_KEY" data/lethe.db* && fail "the chain key is in the store"

# --- `lethe serve` anchors what it appended when it stops (SIGTERM).
"$LETHE" serve --config lethe.json 2>serve.log &
srv=$!
for _ in $(seq 100); do grep -q "listening on port" serve.log && break; sleep 0.1; done
port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' serve.log)
[ -n "$port" ] || fail "serve did not start: $(cat serve.log)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/v1/requests" \
  -H "Authorization: Bearer $opkey" -H 'Content-Type: application/json' \
  -d '{"type": "access", "regulation": "gdpr", "subject": {"email": "eve@example.com"}}')
[ "$code" = 201 ] || fail "create over HTTP: $code"
kill -TERM "$srv"; wait "$srv" || true; srv=""
n=$(entries)
[ "$(last_head_seq)" = "$n" ] || fail "serve's shutdown should anchor entry $n, anchor has $(last_head_seq)"
verify_ok "serve"

cp data/lethe.db pristine.db
cp anchor/lethe.anchor pristine.anchor
restore() { cp pristine.db data/lethe.db; rm -f data/lethe.db-wal data/lethe.db-shm; cp pristine.anchor anchor/lethe.anchor; }
expect_tampered() {  # $1 what, $2 the entry verify must name
  local rc
  set +e; "$LETHE" audit verify --config lethe.json >out.txt 2>err.txt; rc=$?; set -e
  [ $rc -eq 1 ] || fail "$1 not detected (rc=$rc): $(cat out.txt err.txt)"
  grep -q "audit entry $2:" err.txt || fail "$1: expected entry $2 to be named: $(cat err.txt)"
}
untrigger="DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"

# 1. Delete the newest entries: the chain alone still links, the anchor does not.
restore
sqlite3 data/lethe.db "$untrigger DELETE FROM audit WHERE seq > $((n - 2));"
expect_tampered "deleting the last two entries" $((n - 1))
grep -q "truncated" err.txt || fail "truncation should be called so: $(cat err.txt)"

# Re-chaining as "a few lines of Python": canonical JSON as Lethe hashes it
# (sorted keys, compact), hash = SHA-256 (or, with --key, HMAC under the
# derived chain key) over the entry with its prev_hash, from entry $2 on.
cat > rechain.py <<'PY'
import hashlib, hmac, json, sqlite3, sys, time
db, start = sys.argv[1], int(sys.argv[2])
key = None
if len(sys.argv) > 3:
    key = hmac.new(sys.argv[3].encode(), b"lethe audit chain key v1", hashlib.sha256).hexdigest().encode()
con = sqlite3.connect(db)
rows = con.execute("SELECT seq, at, request_id, kind, actor, subject_ref, detail, prev_hash, hash FROM audit ORDER BY seq").fetchall()
prev = ""
for seq, at, rid, kind, actor, ref, detail, prev_hash, h in rows:
    if seq < start:
        prev = h
        continue
    body = {"seq": seq, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)), "request_id": rid,
            "kind": kind, "actor": actor, "subject_ref": ref, "detail": json.loads(detail), "prev_hash": prev}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    h = hmac.new(key, text, hashlib.sha256).hexdigest() if key else hashlib.sha256(text).hexdigest()
    con.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, h, seq))
    prev = h
con.commit()
PY

# The script is right: re-chaining with the real key changes nothing.
restore
sqlite3 data/lethe.db "$untrigger"
python3 rechain.py data/lethe.db 1 "$LETHE_CHAIN_KEY"
[ "$(sqlite3 data/lethe.db 'SELECT hash FROM audit ORDER BY seq DESC LIMIT 1')" = \
  "$(sqlite3 pristine.db 'SELECT hash FROM audit ORDER BY seq DESC LIMIT 1')" ] || fail "rechain.py does not reproduce the chain"
verify_ok "a faithful re-chain"

# 2. Edit one entry and re-chain from it with plain SHA-256: named at the edit.
restore
sqlite3 data/lethe.db "$untrigger UPDATE audit SET actor='mallory' WHERE seq=3;"
python3 rechain.py data/lethe.db 3
expect_tampered "edit + re-chain from the edited entry" 3

# 3. Edit one entry and re-chain the whole log with plain SHA-256: every hash
#    from entry 1 on is forged, and keying began at entry 1 (the anchor says so).
restore
sqlite3 data/lethe.db "$untrigger UPDATE audit SET kind='nothing' WHERE seq=4;"
python3 rechain.py data/lethe.db 1
expect_tampered "edit + whole re-chain" 1

# 4. Delete the last entries and re-chain: still short of the signed head.
restore
sqlite3 data/lethe.db "$untrigger DELETE FROM audit WHERE seq = $n;"
python3 rechain.py data/lethe.db 1 "$LETHE_CHAIN_KEY"   # even with the key
expect_tampered "delete + re-chain with the key" "$n"

# 5. The anchor file deleted: verify refuses to vouch for the log.
restore
rm anchor/lethe.anchor
set +e; "$LETHE" audit verify --config lethe.json >/dev/null 2>err.txt; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "no signed head" err.txt || fail "missing anchor: rc=$rc $(cat err.txt)"

# 6. An anchor line forged without the key.
restore
python3 - anchor/lethe.anchor <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
h = json.loads(lines[-1]); h["seq"] -= 1
lines[-1] = json.dumps(h)
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
set +e; "$LETHE" audit verify --config lethe.json >/dev/null 2>err.txt; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "line $(wc -l < pristine.anchor)" err.txt || fail "forged anchor line: rc=$rc $(cat err.txt)"

# --- an older store: written without a chain key or an anchor, then taken in.
mkdir old && cd old
cat > old.json <<'JSON'
{"store": {"sqlite": "lethe.db"}, "audit": {"pseudonym_key_env": "LETHE_AUDIT_KEY"}, "connectors": []}
JSON
"$LETHE" request submit --config old.json --type access --email old@example.com --verified >/dev/null
# Make it look as an older Lethe left it: the same rows, hashed with plain SHA-256.
sqlite3 lethe.db "$untrigger"
python3 ../rechain.py lethe.db 1
sqlite3 lethe.db "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
old_n=$(sqlite3 lethe.db "SELECT count(*) FROM audit")
sed 's|"pseudonym_key_env": "LETHE_AUDIT_KEY"|&, "anchor_file": "../old.anchor"|' old.json > new.json
set +e; "$LETHE" audit verify --config new.json >/dev/null 2>err.txt; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "lethe audit anchor" err.txt || fail "an unanchored old store should say how to anchor it: $(cat err.txt)"
"$LETHE" audit anchor --config new.json >/dev/null
"$LETHE" request submit --config new.json --type erasure --email old@example.com >/dev/null
"$LETHE" audit verify --config new.json >out.txt 2>err.txt || fail "old store after anchoring: $(cat err.txt)"
grep -q "entries 1-$old_n were written before the chain was keyed" out.txt || fail "unkeyed range not named: $(cat out.txt)"
# Re-chaining the keyed part back into the old format is caught where keying began.
sqlite3 lethe.db "$untrigger"
python3 ../rechain.py lethe.db 1
set +e; "$LETHE" audit verify --config new.json >/dev/null 2>err.txt; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "audit entry $((old_n + 1)):" err.txt || fail "old store re-chained: rc=$rc $(cat err.txt)"
echo "audit anchor: ok"
