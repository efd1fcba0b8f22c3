#!/usr/bin/env bash
# End to end through the `lethe` binary over the real services: a subject's
# rows in PostgreSQL, objects in S3 (s3rver) and vectors in Chroma. `lethe
# check` connects to all three, an access request exports them (object content
# included), an erasure removes exactly them and verifies, and another
# subject's data stays. Needs the services: scripts/services.sh start, then the
# env file sourced. Written to live in tests/e2e/ (ctest runs tests/e2e/*.sh).
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
for v in LETHE_PG_DSN LETHE_S3_ENDPOINT LETHE_S3_ACCESS_KEY LETHE_S3_SECRET_KEY LETHE_CHROMA_URL; do
  [ -n "${!v:-}" ] || fail "$v is not set: run bash scripts/services.sh start && set -a && . tests/services/.run/env && set +a"
done
for tool in psql curl unzip python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
SRC=${LETHE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${LETHE_BINARY:-$SRC/build/lethe}
[ -x "$BIN" ] || fail "no lethe binary at $BIN"

ID=$$
SCHEMA=lethe_e2e_$ID
BUCKET=lethe-e2e-$ID
COLL=lethe_e2e_$ID
DIR=$(mktemp -d /tmp/lethe-e2e-conn-XXXXXX)
CHROMA_DB=$LETHE_CHROMA_URL/api/v2/tenants/default_tenant/databases/default_database
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

s3() {  # s3 METHOD PATH [curl args...]
  local method=$1 path=$2; shift 2
  curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$LETHE_S3_ACCESS_KEY:$LETHE_S3_SECRET_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X "$method" "$@" "$LETHE_S3_ENDPOINT/$BUCKET$path"
}
chroma() {  # chroma METHOD PATH [JSON]
  curl -sS -f -X "$1" -H 'content-type: application/json' ${3:+-d "$3"} "$CHROMA_DB$2"
}
sql() { psql "$LETHE_PG_DSN" -v ON_ERROR_STOP=1 -qtA -c "SET client_min_messages=warning; SET search_path=$SCHEMA; $1"; }

cleanup() {
  psql "$LETHE_PG_DSN" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
  for k in 42/cv.pdf 42/photos/a.jpg 43/cv.pdf; do s3 DELETE "/$k" >/dev/null 2>&1 || true; done
  s3 DELETE "" >/dev/null 2>&1 || true
  curl -s -X DELETE "$CHROMA_DB/collections/$COLL" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

# --- the subject's world: Ann (42) and Bob (43) --------------------------------
psql "$LETHE_PG_DSN" -v ON_ERROR_STOP=1 -q -c "SET client_min_messages=warning; CREATE SCHEMA $SCHEMA"
sql "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);
     CREATE TABLE notes (id int PRIMARY KEY, user_id bigint, body text, embedding real[]);
     CREATE TABLE invoices (id int PRIMARY KEY, user_id bigint, email text, issued_at date);
     INSERT INTO users VALUES (42, 'ann@example.com', 'Ann'), (43, 'bob@example.com', 'Bob');
     INSERT INTO notes VALUES (1, 42, 'ann note', '{0.5,1.5}'), (2, 43, 'bob note', NULL);
     INSERT INTO invoices VALUES (7, 42, 'ann@example.com', '2026-01-01'), (8, 43, 'bob@example.com', '2026-01-01');"
s3 PUT "" >/dev/null
printf 'ANN-CV-%%PDF' >"$DIR/ann.pdf"
s3 PUT /42/cv.pdf -T "$DIR/ann.pdf" >/dev/null
s3 PUT /42/photos/a.jpg -d 'jpeg' >/dev/null
s3 PUT /43/cv.pdf -d 'bob' >/dev/null
CID=$(chroma POST /collections "{\"name\": \"$COLL\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
chroma POST "/collections/$CID/add" '{"ids": ["c1", "c2", "c3"], "embeddings": [[1, 2], [3, 4], [5, 6]],
  "documents": ["ann chunk", "ann chunk 2", "bob chunk"],
  "metadatas": [{"user_id": 42}, {"user_id": "42"}, {"user_id": "43"}]}' >/dev/null

cat >"$DIR/config.json" <<EOF
{
  "store": {"sqlite": "lethe.db"},
  "exports": {"dir": "exports"},
  "audit": {"pseudonym_key_env": "LETHE_AUDIT_KEY"},
  "connectors": [
    {"name": "app", "type": "postgres", "dsn_env": "LETHE_PG_DSN", "schema": "$SCHEMA",
     "collections": [
       {"name": "users", "primary_key": "id", "identity": {"email": "email"}, "portable": true, "erase": "delete"},
       {"name": "notes", "primary_key": "id", "references": {"user_id": "users.id"}, "portable": true,
        "erase": "delete"},
       {"name": "invoices", "primary_key": "id", "references": {"user_id": "users.id"},
        "retain": {"basis": "legal_obligation", "period": "P7Y", "from": "issued_at"},
        "erase": {"mask": {"email": "hash"}}}
     ]},
    {"name": "blobs", "type": "s3", "endpoint": "$LETHE_S3_ENDPOINT", "bucket": "$BUCKET", "region": "us-east-1",
     "access_key_env": "LETHE_S3_ACCESS_KEY", "secret_key_env": "LETHE_S3_SECRET_KEY", "path_style": true,
     "objects": [{"name": "uploads", "prefix": "{app.users.id}/", "portable": true, "erase": "delete"}]},
    {"name": "vectors", "type": "chroma", "url": "$LETHE_CHROMA_URL",
     "collections": [{"name": "$COLL", "where": {"user_id": "{app.users.id}"}, "omit": ["embeddings"],
                      "erase": "delete"}]}
  ]
}
EOF
cd "$DIR"
export LETHE_AUDIT_KEY=e2e-audit-key

"$BIN" check --config config.json >check.json || fail "lethe check failed"
python3 - <<'EOF' || fail "lethe check did not connect all three connectors"
import json
out = open("check.json").read()
j = json.loads(out[out.index("{"):])
assert all(c["connected"] for c in j["connectors"]), j["connectors"]
assert [c["type"] for c in j["connectors"]] == ["postgres", "s3", "chroma"]
EOF

request_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

# --- access: everything of Ann's, nothing of Bob's -----------------------------
RID=$("$BIN" request submit --config config.json --type access --email ann@example.com --verified --json | request_id)
"$BIN" request approve --config config.json "$RID" >/dev/null
"$BIN" run --config config.json --once >/dev/null 2>run.log || { cat run.log >&2; fail "run --once (access) failed"; }
ZIP=$(ls exports/*.zip | head -1)
[ -n "$ZIP" ] || fail "no export zip"
[ "$(unzip -p "$ZIP" files/blobs/42/cv.pdf)" = 'ANN-CV-%PDF' ] || fail "object content differs in the export"
grep -q 'files/blobs/42/photos/a.jpg' <<<"$(unzip -l "$ZIP")" || fail "second object missing from the export"
grep -q 'files/blobs/43/' <<<"$(unzip -l "$ZIP")" && fail "Bob's object is in Ann's export"
python3 - "$ZIP" <<'EOF' || fail "export data is wrong"
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
data = lambda n: json.loads(z.read(n))
assert [u["email"] for u in data("data/app/users.json")] == ["ann@example.com"]
notes = data("data/app/notes.json")
assert [n["body"] for n in notes] == ["ann note"] and notes[0]["embedding"] == [0.5, 1.5], notes
chunks = sorted(data("data/vectors/" + [n for n in z.namelist() if n.startswith("data/vectors/")][0].split("/")[-1]),
                key=lambda c: c["id"])
assert [c["id"] for c in chunks] == ["c1", "c2"] and "embedding" not in chunks[0], chunks
assert len(data("data/blobs/uploads.json")) == 2
for name in z.namelist():
    assert b"bob" not in z.read(name).lower() or name == "report.html", name
EOF

# --- erasure: Ann's data gone or masked, Bob's untouched -----------------------
RID=$("$BIN" request submit --config config.json --type erasure --email ann@example.com --verified --json | request_id)
"$BIN" request approve --config config.json "$RID" >/dev/null
"$BIN" run --config config.json --once >/dev/null 2>run.log || { cat run.log >&2; fail "run --once (erasure) failed"; }
"$BIN" request show --config config.json "$RID" --json >show.json
python3 - <<'EOF' || fail "erasure result is wrong"
import json
r = json.load(open("show.json"))
assert r["status"] == "completed", r["status"]
res = r["result"]
assert res["verified"] is True, res
rows = {c["connector"] + "." + c["collection"]: c for c in res["collections"]}
assert rows["app.users"]["rows"] == 1 and rows["app.notes"]["rows"] == 1, rows
assert rows["blobs.uploads"]["rows"] == 2 and rows["blobs.uploads"]["remaining"] == 0, rows
assert [v for k, v in rows.items() if k.startswith("vectors.")][0]["rows"] == 2, rows
assert "ann@example.com" not in json.dumps(res)
EOF
[ "$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM users")" = "43" ] || fail "users not erased exactly"
[ "$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM notes")" = "2" ] || fail "notes not erased exactly"
case "$(sql "SELECT email FROM invoices WHERE id = 7")" in hmac:*) ;; *) fail "retained invoice not masked" ;; esac
[ "$(sql "SELECT email FROM invoices WHERE id = 8")" = "bob@example.com" ] || fail "Bob's invoice changed"
KEYS=$(s3 GET "?list-type=2" | grep -o '<Key>[^<]*</Key>' | tr -d '\n')
[ "$KEYS" = "<Key>43/cv.pdf</Key>" ] || fail "S3 keys after erasure: $KEYS"
LEFT=$(chroma POST "/collections/$CID/get" '{"include": []}' | python3 -c 'import json,sys; print(",".join(sorted(json.load(sys.stdin)["ids"])))')
[ "$LEFT" = "c3" ] || fail "Chroma ids after erasure: $LEFT"
"$BIN" audit verify --config config.json >/dev/null || fail "audit chain does not verify"

echo "e2e connectors: 1 passed, 0 failed"
