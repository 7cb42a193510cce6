#!/usr/bin/env bash
# Read commands at scale: a store of ENTRIES entries (default 1,000,000) across 5,000 feeds with
# realistic text, copies and topics (examples/scale_fixture.rs), built once into target/bench-data/
# (ignored by git), then each command timed through the release binary with hyperfine.
#
#   bench/scale.sh [ENTRIES]
#
# Needs: apt-get install -y hyperfine. Targets (p50, issue 11): list <= 30 ms, search <= 100 ms,
# show <= 10 ms, export <= 200 ms. A benchmark, not a test: the machine is shared.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-1000000}"
RUNS="${RUNS:-20}"
cd "$ROOT"
cargo build --release --quiet --bin syndic --example scale_fixture
mkdir -p target/bench-data
DB="target/bench-data/scale-$N.db"
# Built again when what it depends on changed: the schema (migrations), copy detection (its sources),
# the generator (else the timed command would first migrate or rebuild the copy it runs on).
STAMP=$(cat src/store/migrations/*.sql examples/scale_fixture.rs src/dedup.rs src/dedup/*.rs src/store/dedup.rs | grep -v '^ *//' | sha256sum | cut -c1-16)
STAMP="$STAMP $(grep -h 'pub const DEDUP_VERSION' src/dedup.rs)"
if [ "$(cat "$DB.done" 2> /dev/null)" != "$STAMP" ]; then
  rm -f "$DB" "$DB"-wal "$DB"-shm "$DB.done"
  target/release/examples/scale_fixture "$DB" "$N" 5000
  echo "$STAMP" > "$DB.done"
fi

export SYNDIC_DB="$ROOT/$DB" SYNDIC_CONFIG=/nonexistent/feeds.toml SYNDIC_NOW=2026-09-21T12:00:00Z NO_COLOR=1
S="$ROOT/target/release/syndic"
SHOW_ID=$("$S" list --limit 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "target/bench-data/scale-$N.json" \
  -n "list --limit 50" "$S list --limit 50" \
  -n "list --topic climate" "$S list --topic climate --limit 50" \
  -n "search the (common)" "$S search the" \
  -n "search zanzibarite (rare)" "$S search zanzibarite" \
  -n "show" "$S show $SHOW_ID" \
  -n "export json --since 24h" "$S export json --since 24h" > /dev/null
python3 - "target/bench-data/scale-$N.json" "$DB" "$N" <<'PY'
import json, os, sys
runs, db, n = json.load(open(sys.argv[1]))["results"], sys.argv[2], int(sys.argv[3])
targets = {"list": 30, "search": 100, "show": 10, "export": 200}
print(f"\n{n:,} entries, database {os.path.getsize(db)/1e6:.0f} MB ({os.path.getsize(db)//n} bytes per entry)\n")
print("| command | p50 | mean | target |")
print("|---|---|---|---|")
for r in runs:
    t = targets[r["command"].split()[0]]
    p50 = r["median"] * 1000
    print(f"| `{r['command']}` | {p50:.1f} ms | {r['mean']*1000:.1f} ms | <= {t} ms {'ok' if p50 <= t else 'MISSED'} |")
PY
