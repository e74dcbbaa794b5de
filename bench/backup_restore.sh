#!/usr/bin/env bash
# Back up a Polku PostgreSQL database, restore it into a fresh database, and check that the copy is identical
# (var/security/retention.md, "Backup and restore"). Prints the time and size of each step.
#
#   bench/backup_restore.sh postgres://postgres@127.0.0.1:5432/polku_source [RESTORED_DB_NAME]
#
# The restored database is left in place (drop it with dropdb when done). Needs pg_dump, pg_restore, createdb of
# the server's major version and the polku command (.venv/bin/polku by default, or $POLKU).
set -euo pipefail
SOURCE_URL=${1:?usage: $0 SOURCE_DATABASE_URL [RESTORED_DB_NAME]}
SOURCE_DB=${SOURCE_URL##*/}
TARGET_DB=${2:-${SOURCE_DB}_restored}
TARGET_URL=${SOURCE_URL%/*}/$TARGET_DB
POLKU=${POLKU:-.venv/bin/polku}
WORK=$(mktemp -d)
DUMP=$WORK/polku.dump
JOBS=${JOBS:-4}

seconds() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.1f}")' "$1"; }

start=$(date +%s.%N)
pg_dump --format=custom --no-owner --file="$DUMP" "$SOURCE_URL"
echo "backup:   $(seconds "$start") s, $(du -h "$DUMP" | cut -f1) ($DUMP)"

psql -q "${SOURCE_URL%/*}/postgres" -c "DROP DATABASE IF EXISTS \"$TARGET_DB\"" -c "CREATE DATABASE \"$TARGET_DB\""
start=$(date +%s.%N)
pg_restore --no-owner --exit-on-error --jobs="$JOBS" --dbname="$TARGET_URL" "$DUMP"
echo "restore:  $(seconds "$start") s (pg_restore --jobs=$JOBS)"

start=$(date +%s.%N)
DATABASE_URL=$SOURCE_URL "$POLKU" db checksum --format json > "$WORK/source.json"
echo "checksum: $(seconds "$start") s (source)"
DATABASE_URL=$TARGET_URL "$POLKU" db checksum --format json > "$WORK/restored.json"
python3 - "$WORK/source.json" "$WORK/restored.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
rows = sum(t["rows"] for t in a["tables"].values())
diff = sorted(t for t in set(a["tables"]) | set(b["tables"]) if a["tables"].get(t) != b["tables"].get(t))
print(f"tables:   {len(a['tables'])}, rows {rows:,}; digest source {a['digest'][:16]}, restored {b['digest'][:16]}")
if diff:
    sys.exit("DIFFERENT tables: " + ", ".join(diff))
print("identical: every table has the same row count and checksum")
PY
if DATABASE_URL=$TARGET_URL "$POLKU" help audit >/dev/null 2>&1; then
    DATABASE_URL=$TARGET_URL "$POLKU" audit verify
else
    echo "polku audit verify: not available in this version; skipped"
fi
rm -rf "$WORK"
