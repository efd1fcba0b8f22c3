#!/usr/bin/env bash
# An access export survives kill -9 at random points: at no moment is there
# a partial zip at a final path, and after restarts the one package holds
# exactly the subject's records, files and log lines.
# An export keeps no progress between runs (it restarts), so kills are spread
# wider than for erasure to also land while the zip is being written.
: "${CRASH_STEP_MS:=300}" "${CRASH_KILLS:=10}"
source "$(dirname "$0")/crash_lib.bash"
command -v unzip >/dev/null || fail "unzip is missing"

build_world
ID=$(submit_approved access)
echo "access $ID"

# After each kill: every .zip in the exports directory is a complete archive.
check_no_partial_zip() {
  [[ -d "$T/exports" ]] || return 0
  local z
  while IFS= read -r z; do
    unzip -tqq "$z" >/dev/null 2>&1 || fail "partial zip at a final path after a kill: ${z#$T/}"
  done < <(find "$T/exports" -type f -name '*.zip')
}
AFTER_KILL=check_no_partial_zip
crash_until_done "$ID"
check_no_partial_zip

zip=$(export_path "$ID")
[[ -n "$zip" ]] || fail "lethe request export names no package"
[[ -f "$zip" ]] || fail "export_path does not exist: $zip"
unzip -tqq "$zip" >/dev/null || fail "the export does not test clean"

records() {
  unzip -p "$zip" "data/$1.json" > "$T/records.json" || fail "data/$1.json is missing"
  sqlite3 :memory: "SELECT json_array_length(CAST(readfile('$T/records.json') AS TEXT))"
}
[[ "$(records app/users)" == 1 ]] || fail "users: $(records app/users) records"
[[ "$(records app/applications)" == $((APPS / 4)) ]] || fail "applications: $(records app/applications) records"
[[ "$(records app/drafts)" == $((APPS / 4)) ]] || fail "drafts: $(records app/drafts) records"
[[ "$(records app/events)" == $((EVENTS / 3)) ]] || fail "events: $(records app/events) records"
[[ "$(records logs/lines)" == "$SUBJECT_LINES" ]] || fail "log lines: $(records logs/lines) records"
files=$(unzip -Z1 "$zip" | grep -c '^files/files/1/.*[^/]$' || true)
[[ "$files" == "$SUBJECT_FILES" ]] || fail "package holds $files of the subject's files, expected $SUBJECT_FILES"
others=$(unzip -Z1 "$zip" | grep '^files/' | grep -vc '^files/files/1/' || true)
[[ "$others" == 0 ]] || fail "package holds $others files of other users"
grep -qx 'file 7 of the subject' <<<"$(unzip -p "$zip" files/files/1/d7/f7.txt)" || fail "file content differs"

# The export changed nothing.
[[ "$(sql 'SELECT count(*) FROM drafts')" == "$APPS" ]] || fail "an access request changed data"
[[ "$(find "$T/files" -type f | wc -l)" == $((SUBJECT_FILES + OTHER_FILES)) ]] || fail "files changed"
check_audit

# Killed runs must not leave their half-written zips behind: they hold the
# subject's data and nothing would ever delete them.
left=$(find "$T/exports" -mindepth 1 ! -path "$zip" | sed "s|^$T/||")
[[ -z "$left" ]] || fail "killed runs left files in exports/ besides the package: $(echo $left)"
echo "ok: export completed through kill -9 with exactly the subject's data"
