#!/usr/bin/env bash
# Erasure survives kill -9 at random points: after restarts it completes with
# exactly the subject's rows, files and log lines gone, everyone else's
# intact, no temporary files left, and an intact audit chain.
source "$(dirname "$0")/crash_lib.bash"

build_world
others_files_before=$(find "$T/files" -type f ! -path "$T/files/1/*" | wc -l)
[[ "$others_files_before" == "$OTHER_FILES" ]] || fail "world has $others_files_before other files"

ID=$(submit_approved erasure)
echo "erasure $ID"

# After each kill: nothing half-written is visible in the logs. A file is
# either the old or the new version, so every line is complete JSON.
check_logs_whole() {
  local bad
  bad=$(sqlite3 :memory: "SELECT count(*) FROM (SELECT json_valid(value) AS ok FROM json_each(
          '[' || replace(rtrim(CAST(readfile('$T/logs/app.jsonl') AS TEXT), char(10)), char(10), ',') || ']'))" 2>/dev/null || true)
  # json_each over the whole array fails as a whole if any line is broken.
  [[ -n "$bad" ]] || fail "logs/app.jsonl holds a broken line after a kill"
}
AFTER_KILL=check_logs_whole
crash_until_done "$ID"

# The subject is gone everywhere...
left=$(sql "SELECT (SELECT count(*) FROM users WHERE id = 1 OR email = 'ada@example.com')
  + (SELECT count(*) FROM applications WHERE user_id = 1) + (SELECT count(*) FROM events WHERE user_id = 1)
  + (SELECT count(*) FROM drafts WHERE id % 4 = 0)")
[[ "$left" == 0 ]] || fail "$left rows of the subject are left"
[[ ! -e "$T/files/1" ]] ||
  fail "files/1 is left with $(find "$T/files/1" -type f | wc -l) files: $(find "$T/files/1" | head -3)"
subject_lines=$(grep -c -E '"user_id":1[,}]|ada@example.com' "$T/logs/app.jsonl" || true)
[[ "$subject_lines" == 0 ]] || fail "$subject_lines log lines of the subject are left"

# ... and nobody else lost anything.
[[ "$(sql 'SELECT count(*) FROM users')" == $((USERS - 1)) ]] || fail "users of others changed"
[[ "$(sql 'SELECT count(*) FROM applications')" == $((APPS * 3 / 4)) ]] || fail "applications of others changed"
[[ "$(sql 'SELECT count(*) FROM drafts')" == $((APPS * 3 / 4)) ]] || fail "drafts of others changed"
[[ "$(sql 'SELECT count(*) FROM events')" == $((EVENTS * 2 / 3)) ]] || fail "events of others changed"
others_rows=$(sql "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM applications)
  + (SELECT count(*) FROM drafts) + (SELECT count(*) FROM events)")
[[ "$others_rows" == "$OTHER_ROWS" ]] || fail "others have $others_rows rows, expected $OTHER_ROWS"
others_files=$(find "$T/files" -type f | wc -l)
[[ "$others_files" == "$OTHER_FILES" ]] || fail "others have $others_files files, expected $OTHER_FILES"
lines=$(wc -l < "$T/logs/app.jsonl")
[[ "$lines" == "$OTHER_LINES" ]] || fail "logs hold $lines lines, expected $OTHER_LINES"
temps=$(find "$T/logs" "$T/files" -name '*.lethe-tmp-*' | wc -l)
[[ "$temps" == 0 ]] || fail "$temps temporary files are left"

check_audit
echo "ok: erasure completed through kill -9; $SUBJECT_ROWS rows, $SUBJECT_FILES files, $SUBJECT_LINES lines erased"
