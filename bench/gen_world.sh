#!/usr/bin/env bash
# Generates the benchmark world into DIR (default: build/bench-data/world):
# an SQLite app with one subject (user 1, ada@example.com) owning 150,001 rows
# across four joined tables among ~300k rows of 20k other users, and ~240 MB
# of the subject's files (half incompressible "photos", half text) among
# ~40 MB of other users' files. Nothing generated here is committed.
#
#   bench/gen_world.sh DIR [SCALE]     SCALE (default 1) multiplies row counts
set -euo pipefail

DIR=${1:?usage: gen_world.sh DIR [SCALE]}
SCALE=${2:-1}
VERSION="v1-scale$SCALE"
if [[ -f "$DIR/.done" && "$(cat "$DIR/.done")" == "$VERSION" ]]; then
  exit 0  # already generated; the world is only ever copied, never changed
fi
rm -rf "$DIR"
mkdir -p "$DIR/files"

USERS=20000
APPS=$((125000 * SCALE))      # every 5th belongs to the subject
EXTRA_DRAFTS=$((50000 * SCALE))  # two more drafts on each of the subject's applications
EVENTS=$((150000 * SCALE))    # every 3rd belongs to the subject
SUBJECT_APPS=$((APPS / 5))

sqlite3 "$DIR/app.db" >/dev/null <<SQL
PRAGMA journal_mode=WAL;
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, language TEXT, created_at TEXT);
CREATE TABLE applications(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), job TEXT,
                          status TEXT, cover_letter TEXT, created_at TEXT);
CREATE TABLE drafts(id INTEGER PRIMARY KEY, application_id INTEGER NOT NULL REFERENCES applications(id),
                    body TEXT, updated_at TEXT);
CREATE TABLE events(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), kind TEXT, ip TEXT,
                    at TEXT);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $USERS)
INSERT INTO users SELECT i, CASE i WHEN 1 THEN 'ada@example.com' ELSE 'user' || i || '@example.com' END,
  'Name ' || i, 'en', '2025-01-01T00:00:00Z' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $APPS)
INSERT INTO applications SELECT i, CASE WHEN i % 5 = 0 THEN 1 ELSE 2 + i % ($USERS - 1) END,
  'job ' || (i % 977), 'submitted', hex(randomblob(60)), '2025-06-01T12:00:00Z' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $APPS)
INSERT INTO drafts SELECT i, i, hex(randomblob(50)), '2025-06-02T12:00:00Z' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $EXTRA_DRAFTS)
INSERT INTO drafts SELECT $APPS + i, 5 * (((i - 1) % $SUBJECT_APPS) + 1), hex(randomblob(50)),
  '2025-06-03T12:00:00Z' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $EVENTS)
INSERT INTO events SELECT i, CASE WHEN i % 3 = 0 THEN 1 ELSE 2 + i % ($USERS - 1) END,
  CASE i % 4 WHEN 0 THEN 'login' WHEN 1 THEN 'view' WHEN 2 THEN 'apply' ELSE 'logout' END,
  '10.' || (i % 256) || '.' || (i / 256 % 256) || '.1', '2025-07-01T00:00:00Z' FROM n;
COMMIT;
-- A real application indexes its foreign keys; so do both sides of the benchmark.
CREATE INDEX applications_user ON applications(user_id);
CREATE INDEX drafts_application ON drafts(application_id);
CREATE INDEX events_user ON events(user_id);
PRAGMA wal_checkpoint(TRUNCATE);
PRAGMA journal_mode=DELETE;
SQL

# The subject's files: 40 x 4 MiB random (photos, incompressible) and
# 40 x 2 MiB text (documents, compressible).
mkdir -p "$DIR/files/1/photos" "$DIR/files/1/docs"
for i in $(seq 1 40); do
  head -c 4194304 /dev/urandom > "$DIR/files/1/photos/img_$i.jpg"
done
# (head closes the pipe early on purpose: no pipefail for this one line)
(set +o pipefail; seq 1 260000 | sed 's/^/line of the application document number /' | head -c 2097152 > "$DIR/doc.txt")
for i in $(seq 1 40); do
  { echo "document $i"; cat "$DIR/doc.txt"; } > "$DIR/files/1/docs/doc_$i.txt"
done
rm "$DIR/doc.txt"
# Other users: 300 x 128 KiB, including ids that share the subject's digits.
for u in 10 11 12 100 101 2 3 $(seq 1000 1296); do
  mkdir -p "$DIR/files/$u"
  head -c 131072 /dev/urandom > "$DIR/files/$u/upload.bin"
done
echo "$VERSION" > "$DIR/.done"
