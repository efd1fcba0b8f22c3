#!/usr/bin/env bash
# End-to-end checks of `lethe deadline`: exact JSON for a few known cases and
# exit code 2 with a one-line message for bad input.
set -u

BIN="${LETHE_BINARY:?LETHE_BINARY must point at the lethe binary}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_json "<expected stdout>" args...
expect_json() {
  local want="$1"
  shift
  local got rc
  got="$("$BIN" deadline "$@" 2>"$TMP/err")"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "deadline $* exited $rc: $(cat "$TMP/err")"
  elif [ "$got" != "$want" ]; then
    fail "deadline $*"$'\n'"  want: $want"$'\n'"  got:  $got"
  fi
}

# expect_error <exit code> "<substring of stderr>" args...
expect_error() {
  local want_rc="$1" want_msg="$2"
  shift 2
  local out rc lines
  out="$("$BIN" deadline "$@" 2>"$TMP/err")"
  rc=$?
  lines="$(wc -l <"$TMP/err")"
  if [ "$rc" -ne "$want_rc" ]; then
    fail "deadline $* exited $rc, want $want_rc (stderr: $(cat "$TMP/err"))"
  elif ! grep -qF -- "$want_msg" "$TMP/err"; then
    fail "deadline $*: stderr lacks '$want_msg': $(cat "$TMP/err")"
  elif [ "$lines" -ne 1 ]; then
    fail "deadline $*: want a one-line error, got $lines lines: $(cat "$TMP/err")"
  elif [ -n "$out" ]; then
    fail "deadline $*: printed to stdout on error: $out"
  fi
}

# The contract's example: Feb 28 2026 is a Saturday, so Monday Mar 2, end of day in Berlin (CET).
expect_json '{"regulation":"gdpr","received_at":"2026-01-31T10:00:00Z","due_date":"2026-03-02","due_at":"2026-03-02T22:59:59Z"}' \
  --regulation gdpr --received 2026-01-31T10:00:00Z --tz Europe/Berlin

# Offsets are normalised to UTC; default zone is UTC.
expect_json '{"regulation":"uk_gdpr","received_at":"2025-01-31T09:00:00Z","due_date":"2025-02-28","due_at":"2025-02-28T23:59:59Z"}' \
  --regulation uk_gdpr --received 2025-01-31T10:00:00+01:00

# Extension: receipt + 3 months (Apr 30, summer time), not chained from Mar 2.
expect_json '{"regulation":"gdpr","received_at":"2026-01-31T10:00:00Z","due_date":"2026-04-30","due_at":"2026-04-30T21:59:59Z","extended":true}' \
  --regulation gdpr --received 2026-01-31T10:00:00Z --tz Europe/Berlin --extended

# Holidays from a file: Dec 25 and 26 2026, then the weekend -> Mon Dec 28.
cat >"$TMP/holidays.txt" <<'EOF'
# Christmas
2026-12-25
2026-12-26  # Boxing Day

EOF
expect_json '{"regulation":"gdpr","received_at":"2026-11-25T10:00:00Z","due_date":"2026-12-28","due_at":"2026-12-28T22:59:59Z"}' \
  --regulation gdpr --received 2026-11-25T10:00:00Z --tz Europe/Berlin --holidays "$TMP/holidays.txt"

# CCPA: 45 calendar days, acknowledgement within 10 business days.
expect_json '{"regulation":"ccpa","received_at":"2026-01-31T20:00:00Z","due_date":"2026-03-17","due_at":"2026-03-18T06:59:59Z","acknowledge_by":"2026-02-13"}' \
  --regulation ccpa --received 2026-01-31T20:00:00Z --tz America/Los_Angeles
expect_json '{"regulation":"ccpa","received_at":"2026-01-31T20:00:00Z","due_date":"2026-05-01","due_at":"2026-05-02T06:59:59Z","extended":true,"acknowledge_by":"2026-02-13"}' \
  --regulation ccpa --received 2026-01-31T20:00:00Z --tz America/Los_Angeles --extended

# LGPD 15 days; custom SLA from --sla-days.
expect_json '{"regulation":"lgpd","received_at":"2026-01-31T10:00:00Z","due_date":"2026-02-15","due_at":"2026-02-15T23:59:59Z"}' \
  --regulation lgpd --received 2026-01-31T10:00:00Z
expect_json '{"regulation":"custom","received_at":"2026-01-31T10:00:00Z","due_date":"2026-02-20","due_at":"2026-02-20T23:59:59Z"}' \
  --regulation custom --received 2026-01-31T10:00:00Z --sla-days 20
# Working days: Sat Jan 31 + 15 working days (10 + 5 extension) = Fri Feb 20.
expect_json '{"regulation":"custom","received_at":"2026-01-31T10:00:00Z","due_date":"2026-02-20","due_at":"2026-02-20T23:59:59Z","extended":true}' \
  --regulation custom --received 2026-01-31T10:00:00Z --sla-days 10 --sla-extension-days 5 --business-days --extended

# Bad input: exit 2, one line on stderr naming the problem.
expect_error 2 'unknown regulation "hipaa"' --regulation hipaa --received 2026-01-31T10:00:00Z
expect_error 2 '--received' --regulation gdpr --received 2026-02-30T10:00:00Z
expect_error 2 'no such date' --regulation gdpr --received 2026-02-30T10:00:00Z
expect_error 2 'missing offset' --regulation gdpr --received 2026-01-31T10:00:00
expect_error 2 'cannot open holidays file' --regulation gdpr --received 2026-01-31T10:00:00Z --holidays "$TMP/missing.txt"
echo "2026-13-01" >"$TMP/bad_holidays.txt"
expect_error 2 "$TMP/bad_holidays.txt:1" --regulation gdpr --received 2026-01-31T10:00:00Z --holidays "$TMP/bad_holidays.txt"
expect_error 2 'unknown time zone' --regulation gdpr --received 2026-01-31T10:00:00Z --tz Mars/Olympus_Mons
expect_error 2 'no extension' --regulation lgpd --received 2026-01-31T10:00:00Z --extended
expect_error 2 'needs --sla-days' --regulation custom --received 2026-01-31T10:00:00Z
expect_error 2 '--sla-days: must be between' --regulation custom --received 2026-01-31T10:00:00Z --sla-days 99999999
expect_error 2 'only applies to --regulation custom' --regulation gdpr --received 2026-01-31T10:00:00Z --sla-days 5

# A missing required option is a usage error too (CLI11 may print more than one line).
"$BIN" deadline --regulation gdpr >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "missing --received exited $rc, want 2"

if [ "$failures" -ne 0 ]; then
  echo "$failures deadline CLI check(s) failed" >&2
  exit 1
fi
echo "deadline CLI: all checks passed"
