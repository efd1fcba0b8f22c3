#!/usr/bin/env bash
# Many workers, one store (issue 8, item 7; contract §1): `lethe serve` and
# two `lethe run --once` started together on one SQLite store, with a
# slow-ish erasure and exports queued. Each request is claimed under a lease
# by exactly one of them: one "started" event, one completion, no failure,
# every erasure task attempted once, one package per export, and exactly
# the subject's rows gone. Before leases both runs took every in_progress
# request as "crashed" and ran it: the loser's finish aborted its batch, an
# export could end failed though it succeeded, an erasure cascaded twice.
source "$(dirname "$0")/crash_lib.bash"
command -v python3 >/dev/null || fail "python3 is missing"

build_world
ERASURE=$(submit_approved erasure)
ACCESS=()
for u in 2 3 4; do
  id=$(cd "$T" && "$LETHE" request submit --config lethe.json --type access --email "u$u@example.com" --user-id "$u" \
       --verified) || fail "submit failed"
  (cd "$T" && "$LETHE" request approve --config lethe.json "$id" >/dev/null) || fail "approve failed"
  ACCESS+=("$id")
done
echo "erasure $ERASURE, access ${ACCESS[*]}"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$T" && exec "$LETHE" serve --config lethe.json --listen "127.0.0.1:$port" >serve.log 2>&1) &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; rm -rf "$T"' EXIT
(cd "$T" && exec "$LETHE" run --once --config lethe.json >run_a.log 2>&1) &
a=$!
(cd "$T" && exec "$LETHE" run --once --config lethe.json >run_b.log 2>&1) &
b=$!
rc_a=0; wait "$a" || rc_a=$?
rc_b=0; wait "$b" || rc_b=$?
echo "run --once A exit $rc_a: $(tail -1 "$T/run_a.log")"
echo "run --once B exit $rc_b: $(tail -1 "$T/run_b.log")"
[[ $rc_a -eq 0 && $rc_b -eq 0 ]] || { tail -5 "$T/run_a.log" "$T/run_b.log" >&2; fail "a run --once failed (A $rc_a, B $rc_b)"; }

# serve may still be running the last one it claimed.
all=("$ERASURE" "${ACCESS[@]}")
for _ in $(seq 1 300); do
  pending=0
  for id in "${all[@]}"; do [[ "$(request_status "$id")" == completed ]] || pending=1; done
  [[ $pending == 0 ]] && break
  sleep 0.1
done
kill "$serve_pid" 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true

events() { sqlite3 "$T/lethe.db" "SELECT count(*) FROM events WHERE request_id='$1' AND kind='$2'"; }
for id in "${all[@]}"; do
  st=$(request_status "$id")
  [[ "$st" == completed ]] || { request_json "$id" >&2; fail "$id ended $st, not completed"; }
  [[ "$(events "$id" started)" == 1 ]] || fail "$id has $(events "$id" started) started events"
  [[ "$(events "$id" completed)" == 1 ]] || fail "$id has $(events "$id" completed) completed events"
  [[ "$(events "$id" failed)" == 0 ]] || fail "$id has a failed event"
  [[ "$(events "$id" taken_over)" == 0 ]] || fail "$id was taken over though no worker died"
done
# Between them the two runs finished at most every request once (serve the rest).
ran() { sed -n 's/^ran \([0-9]*\) request.*/\1/p' "$T/$1" | tail -1; }
n_a=$(ran run_a.log); n_b=$(ran run_b.log)
[[ $((n_a + n_b)) -le ${#all[@]} ]] || fail "the runs finished $n_a + $n_b requests of ${#all[@]}"
echo "run A finished $n_a, run B $n_b, serve the other $((${#all[@]} - n_a - n_b))"

# The erasure ran once: every task attempted once, the subject's rows gone, everyone else's intact.
attempts=$(sqlite3 "$T/lethe.db" "SELECT group_concat(DISTINCT attempts) FROM tasks WHERE request_id='$ERASURE'")
[[ "$attempts" == "1" ]] || fail "erasure tasks were attempted $attempts times"
left=$(sql "SELECT (SELECT count(*) FROM users WHERE id = 1) + (SELECT count(*) FROM applications WHERE user_id = 1)
  + (SELECT count(*) FROM events WHERE user_id = 1) + (SELECT count(*) FROM drafts WHERE id % 4 = 0)")
[[ "$left" == 0 ]] || fail "$left rows of the subject are left"
others_rows=$(sql "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM applications)
  + (SELECT count(*) FROM drafts) + (SELECT count(*) FROM events)")
[[ "$others_rows" == "$OTHER_ROWS" ]] || fail "others have $others_rows rows, expected $OTHER_ROWS"
[[ "$(find "$T/files" -type f | wc -l)" == "$OTHER_FILES" ]] || fail "files of others changed"
[[ "$(wc -l < "$T/logs/app.jsonl")" == "$OTHER_LINES" ]] || fail "log lines of others changed"

# Each export was published once: one package per access request.
zips=$(find "$T/exports" -name '*.zip' | wc -l)
[[ "$zips" == "${#ACCESS[@]}" ]] || fail "$zips zips in exports/ for ${#ACCESS[@]} requests"
check_audit
echo "ok: serve and two run --once shared one store; each request ran exactly once"
