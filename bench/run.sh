#!/usr/bin/env bash
# `make bench`: Lethe against hand-written baselines doing the same job, in the same run.
#
#   export:  lethe access request   vs  sqlite3 -json per table + zip -r -6 of the files
#   erasure: lethe erasure request  vs  one cascade DELETE transaction in sqlite3 + rm -rf
#
# The world (bench/gen_world.sh) is one subject with 150,001 rows across four
# joined tables and ~240 MB of files, among ~300k rows and ~40 MB of files
# of other users. It is generated under the build directory and reused.
# Lethe is driven by its own binary, as an operator would:
# `lethe request submit --verified`, `lethe request approve`, `lethe run --once`.
# Time and peak RSS come from wait4 (bench/rusage.cpp), for the `lethe run --once` that does
# the work and for the whole baseline pipeline (peak = its largest process).
#
#   bench/run.sh BUILD_DIR
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
LETHE="$BUILD/lethe"
DATA="$BUILD/bench-data"
WORLD="$DATA/world"
export LETHE_AUDIT_KEY=bench-pseudonym-key  # not a secret: a throwaway store

[[ -x "$LETHE" ]] || { echo "bench: $LETHE not built" >&2; exit 2; }
for tool in sqlite3 zip unzip awk; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done
# Wall time and peak RSS: bench_rusage (built from bench/rusage.cpp), else GNU time.
if [[ -x "$BUILD/bench_rusage" ]]; then
  timed() { local out=$1; shift; "$BUILD/bench_rusage" "$out" "$@"; }
elif [[ -x /usr/bin/time ]]; then
  timed() { local out=$1; shift; /usr/bin/time -f "%e %M" -o "$out" "$@"; }
else
  echo "bench: neither $BUILD/bench_rusage nor /usr/bin/time exists" >&2
  exit 2
fi

echo "== generating the world (cached in $WORLD)"
bash "$SRC/bench/gen_world.sh" "$WORLD"

SUBJECT_ROWS=150001
SUBJECT_FILES=80

# A fresh copy of the world: the database copied, files hard-linked (deleting
# a link leaves the world intact).
fresh() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$WORLD/app.db" "$dir/app.db"
  cp -al "$WORLD/files" "$dir/files"
  cat > "$dir/lethe.json" <<'JSON'
{
  "store": {"sqlite": "lethe.db"},
  "self_service": {"erasure_grace": "PT0S"},
  "exports": {"dir": "exports"},
  "audit": {"pseudonym_key_env": "LETHE_AUDIT_KEY"},
  "connectors": [
    {"name": "app", "type": "sqlite", "path": "app.db",
     "collections": [
       {"name": "users", "primary_key": "id", "identity": {"email": "email", "user_id": "id"},
        "categories": ["identity", "contact"], "purpose": "account", "portable": true, "erase": "delete"},
       {"name": "applications", "primary_key": "id", "references": {"user_id": "users.id"},
        "categories": ["applications"], "purpose": "recruiting", "portable": true, "erase": "delete"},
       {"name": "drafts", "primary_key": "id", "references": {"application_id": "applications.id"},
        "categories": ["applications"], "purpose": "recruiting", "erase": "delete"},
       {"name": "events", "primary_key": "id", "references": {"user_id": "users.id"},
        "categories": ["usage"], "purpose": "security", "erase": "delete"}
     ]},
    {"name": "files", "type": "filesystem", "root": "files",
     "objects": [{"name": "uploads", "prefix": "{app.users.id}/", "categories": ["uploads"],
                  "purpose": "recruiting", "portable": true, "erase": "delete"}]}
  ]
}
JSON
}

# measure NAME CMD...: runs CMD under GNU time; sets NAME_s and NAME_kb.
measure() {
  local name=$1
  shift
  local out="$DATA/$name.time"
  if ! timed "$out" "$@" > "$DATA/$name.log" 2>&1; then
    echo "bench: $name failed:" >&2
    tail -20 "$DATA/$name.log" >&2
    exit 1
  fi
  read -r secs kb < <(tail -1 "$out")
  printf -v "${name}_s" '%s' "$secs"
  printf -v "${name}_kb" '%s' "$kb"
  printf '   %-16s %8.2f s  %8.1f MB peak RSS\n' "$name" "$secs" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')"
}

# Reads JSON on stdin, prints the value at a JSON path (sqlite3, so no jq needed).
json_get() {
  cat > "$DATA/json.tmp"
  sqlite3 :memory: "SELECT json_extract(CAST(readfile('$DATA/json.tmp') AS TEXT), '$1')"
}

# Submits an approved request for the subject; prints its id.
submit() {
  local dir=$1 type=$2
  local id
  id=$(cd "$dir" && "$LETHE" request submit --config lethe.json --type "$type" --email ada@example.com \
       --user-id 1 --verified)
  (cd "$dir" && "$LETHE" request approve --config lethe.json "$id" >/dev/null)
  echo "$id"
}

count_subject_rows() {
  sqlite3 "$1" "SELECT (SELECT count(*) FROM users WHERE id = 1)
    + (SELECT count(*) FROM applications WHERE user_id = 1)
    + (SELECT count(*) FROM drafts WHERE application_id IN (SELECT id FROM applications WHERE user_id = 1))
    + (SELECT count(*) FROM events WHERE user_id = 1)"
}
count_all_rows() {
  sqlite3 "$1" "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM applications)
    + (SELECT count(*) FROM drafts) + (SELECT count(*) FROM events)"
}

# ---------------------------------------------------------------- export
echo "== export: one subject, $SUBJECT_ROWS rows + $SUBJECT_FILES files"
fresh "$DATA/export"
ID=$(submit "$DATA/export" access)
measure lethe_export bash -c "cd '$DATA/export' && '$LETHE' run --once --config lethe.json"
ZIP=$(cd "$DATA/export" && "$LETHE" request export --config lethe.json "$ID")
[[ -n "$ZIP" ]] || { echo "bench: lethe produced no export" >&2; exit 1; }
[[ "$ZIP" = /* ]] || ZIP="$DATA/export/$ZIP"

cat > "$DATA/baseline_export.sh" <<EOF
set -euo pipefail
out=\$(mktemp -d "$DATA/baseline-export.XXXXXX")
mkdir -p "\$out/data/app" "\$out/files/files"
db="$WORLD/app.db"
sqlite3 -json "\$db" "SELECT * FROM users WHERE id = 1 OR email = 'ada@example.com'" > "\$out/data/app/users.json"
sqlite3 -json "\$db" "SELECT * FROM applications WHERE user_id = 1" > "\$out/data/app/applications.json"
sqlite3 -json "\$db" "SELECT * FROM drafts WHERE application_id IN (SELECT id FROM applications WHERE user_id = 1)" \
  > "\$out/data/app/drafts.json"
sqlite3 -json "\$db" "SELECT * FROM events WHERE user_id = 1" > "\$out/data/app/events.json"
ln -s "$WORLD/files/1" "\$out/files/files/1"   # zip follows it: no copy
(cd "\$out" && zip -q -r -6 "$DATA/baseline-export.zip" data files)
rm -rf "\$out"
EOF
rm -f "$DATA/baseline-export.zip"
measure base_export bash "$DATA/baseline_export.sh"

# Both packages must hold the same records and files.
records() {
  unzip -p "$1" "data/app/$2.json" > "$DATA/records.tmp"
  sqlite3 :memory: "SELECT json_array_length(CAST(readfile('$DATA/records.tmp') AS TEXT))"
}
for t in users applications drafts events; do
  l=$(records "$ZIP" "$t"); b=$(records "$DATA/baseline-export.zip" "$t")
  [[ "$l" == "$b" ]] || { echo "bench: export $t: lethe $l records, baseline $b" >&2; exit 1; }
done
lf=$(unzip -Z1 "$ZIP" | grep -c '^files/files/1/.*[^/]$' || true)
bf=$(unzip -Z1 "$DATA/baseline-export.zip" | grep -c '^files/files/1/.*[^/]$' || true)
[[ "$lf" == "$SUBJECT_FILES" && "$bf" == "$SUBJECT_FILES" ]] ||
  { echo "bench: export files: lethe $lf, baseline $bf, expected $SUBJECT_FILES" >&2; exit 1; }
lethe_zip_mb=$(( $(stat -c %s "$ZIP") / 1048576 ))
base_zip_mb=$(( $(stat -c %s "$DATA/baseline-export.zip") / 1048576 ))

# ---------------------------------------------------------------- erasure
echo "== erasure: the same subject"
fresh "$DATA/erase-lethe"
fresh "$DATA/erase-base"
others_before=$(( $(count_all_rows "$WORLD/app.db") - SUBJECT_ROWS ))
ID=$(submit "$DATA/erase-lethe" erasure)
measure lethe_erase bash -c "cd '$DATA/erase-lethe' && '$LETHE' run --once --config lethe.json"
cat > "$DATA/baseline_erase.sh" <<EOF
set -euo pipefail
sqlite3 "$DATA/erase-base/app.db" <<'SQL'
PRAGMA foreign_keys = ON;
BEGIN;
DELETE FROM drafts WHERE application_id IN (SELECT id FROM applications WHERE user_id = 1);
DELETE FROM applications WHERE user_id = 1;
DELETE FROM events WHERE user_id = 1;
DELETE FROM users WHERE id = 1;
COMMIT;
SQL
rm -rf "$DATA/erase-base/files/1"
EOF
measure base_erase bash "$DATA/baseline_erase.sh"

status=$(cd "$DATA/erase-lethe" && "$LETHE" request show --config lethe.json --json "$ID" | json_get '$.status')
[[ "$status" == completed ]] || { echo "bench: lethe erasure ended $status" >&2; exit 1; }
for side in erase-lethe erase-base; do
  left=$(count_subject_rows "$DATA/$side/app.db")
  others=$(( $(count_all_rows "$DATA/$side/app.db") - left ))
  [[ "$left" == 0 && "$others" == "$others_before" ]] ||
    { echo "bench: $side left $left subject rows, $others others (expected $others_before)" >&2; exit 1; }
  [[ ! -e "$DATA/$side/files/1" ]] || { echo "bench: $side left the subject's files" >&2; exit 1; }
done
(cd "$DATA/erase-lethe" && "$LETHE" audit verify --config lethe.json >/dev/null) ||
  { echo "bench: audit chain does not verify" >&2; exit 1; }

# ---------------------------------------------------------------- table
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo
echo "Lethe vs hand-written baseline (ratio = lethe / baseline; same machine, same run)"
printf '%-10s | %9s %9s %7s | %11s %11s %7s\n' task "lethe s" "base s" ratio "lethe MB" "base MB" ratio
printf '%s\n' "-----------+-----------------------------+--------------------------------"
# Guard against 0.00 s from a very fast baseline.
nz() { [[ "$1" == 0 || "$1" == 0.00 ]] && echo 0.01 || echo "$1"; }
printf '%-10s | %9s %9s %7s | %11s %11s %7s\n' export "$lethe_export_s" "$base_export_s" \
  "$(ratio "$lethe_export_s" "$(nz "$base_export_s")")" "$(mb "$lethe_export_kb")" "$(mb "$base_export_kb")" \
  "$(ratio "$lethe_export_kb" "$base_export_kb")"
printf '%-10s | %9s %9s %7s | %11s %11s %7s\n' erasure "$lethe_erase_s" "$base_erase_s" \
  "$(ratio "$lethe_erase_s" "$(nz "$base_erase_s")")" "$(mb "$lethe_erase_kb")" "$(mb "$base_erase_kb")" \
  "$(ratio "$lethe_erase_kb" "$base_erase_kb")"
echo
echo "export zip: lethe ${lethe_zip_mb} MB, baseline ${base_zip_mb} MB; $SUBJECT_ROWS rows and $SUBJECT_FILES files each."
echo "Lethe's time includes its store, audit chain, per-task checkpoints, manifest sha256s and report.html."
