#!/usr/bin/env bash
# Issue 11's cold sync at scale: the same 200-feed cold sync (200 x 50 items from
# ../shared/bench/gen_feeds.py, seed 1, served by ../shared/bench/serve.py on 127.0.0.1 with 50 ms
# latency and gzip) into (a) an empty store and (b) a copy of a store of ENTRIES entries (default
# 1,000,000) across 5,000 feeds that holds what years of syncing leave, copy-detection data included
# (examples/scale_fixture.rs --write-path, built once into target/bench-data/, ignored by git).
# Runs alternate (empty, big, empty, big, ...; REPS each), each timed with /usr/bin/time; prints the
# medians and their ratio (goal: big <= 1.2x empty).
#
#   bench/scale-sync.sh [ENTRIES]
#
# Needs: python3, curl, /usr/bin/time (apt-get install -y time). A benchmark, not a test: the machine is
# shared, so compare within one run. Environment: REPS (3), BENCH (../shared/bench), SYNDIC (the binary
# to time; default target/release/syndic, built by this script),
# WORK (target/bench-data/scale-sync-work: the stores synced into, one at a time; put it on a tmpfs
# such as /dev/shm when the disk cannot hold a second copy of the fixture), FIXTURE_DIR (where the
# fixture is built and kept: target/bench-data; about 5 GB at 1M entries).
# Everything targets 127.0.0.1 only.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-1000000}"
REPS="${REPS:-3}"
# The fixture is built as if synced with this script's feeds.toml all along (other topic
# keywords or filter rules would re-tag or re-filter every entry first).
PORT=8796
BENCH="${BENCH:-$ROOT/../shared/bench}"
[ -x "$BENCH/serve.py" ] || [ -f "$BENCH/serve.py" ] || BENCH=/work/shared/bench
WORK="${WORK:-$ROOT/target/bench-data/scale-sync-work}"
# The corpus's items are dated 2024-04-10 .. 2024-06-04 (gen_feeds.py: BASE_TIME 2024-06-01 and
# 50 items 1-30 hours apart per feed, copies up to 3 days later). The fixture's newest entry is on
# 2024-04-29 (95% of the corpus is newer), so copy detection's 7-day window of the corpus's first
# weeks reaches into the fixture's last ones, 1,000 entries a day; the sync runs just after the
# corpus's newest item.
FIXTURE_NOW=1714348800          # 2024-04-29T00:00:00Z
SYNC_NOW=2024-06-05T00:00:00Z
cd "$ROOT"
SYNDIC="${SYNDIC:-target/release/syndic}"
cargo build --release --quiet --bin syndic --example scale_fixture
mkdir -p target/bench-data "$WORK"
CORPUS="target/bench-data/corpus-200x50"
[ -f "$CORPUS/manifest.json" ] ||
  python3 "$BENCH/gen_feeds.py" --feeds 200 --items 50 --out "$CORPUS" --seed 1 --port "$PORT" > /dev/null
CONFIG="$WORK/feeds.toml"
{ printf '[settings]\nconcurrency = 16\nper_host = 16\n\n'; python3 "$BENCH/bench_util.py" feedstoml "$CORPUS" "$PORT"; } \
  > "$CONFIG"
DB="${FIXTURE_DIR:-target/bench-data}/scale-sync-$N.db"
# Built again when what it depends on changed: the schema (migrations), copy detection (its sources),
# the generator (else the timed command would first migrate or rebuild the copy it runs on).
STAMP=$(cat src/store/migrations/*.sql examples/scale_fixture.rs src/dedup.rs src/dedup/*.rs src/store/dedup.rs | grep -v '^ *//' | sha256sum | cut -c1-16)
STAMP="$STAMP $(grep -h 'pub const DEDUP_VERSION' src/dedup.rs)"
if [ "$(cat "$DB.done" 2> /dev/null)" != "$STAMP" ]; then
  rm -f "$DB" "$DB"-wal "$DB"-shm "$DB.done"
  target/release/examples/scale_fixture --write-path --now "$FIXTURE_NOW" --config "$CONFIG" "$DB" "$N" 5000
  echo "$STAMP" > "$DB.done"
fi

SERVER_PID=""
cleanup() {
  rm -f "$WORK"/sync.db "$WORK"/sync.db-* "$WORK"/sync.db.lock
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2> /dev/null; then
    kill -TERM "$SERVER_PID" 2> /dev/null || true
    wait "$SERVER_PID" 2> /dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -f "$WORK/server.ready"
python3 "$BENCH/serve.py" --dir "$CORPUS" --port "$PORT" --latency-ms 50 --gzip --max-seconds 7200 \
  --ready-file "$WORK/server.ready" 2> "$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 600); do
  [ -f "$WORK/server.ready" ] && break
  kill -0 "$SERVER_PID" 2> /dev/null || { echo "serve.py died:" >&2; cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/__health" > /dev/null

RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
for rep in $(seq 1 "$REPS"); do
  for store in empty big; do
    rm -f "$WORK"/sync.db "$WORK"/sync.db-* "$WORK"/sync.db.lock
    if [ "$store" = big ]; then
      cp "$DB" "$WORK/sync.db"
      for suffix in -wal -shm; do [ ! -f "$DB$suffix" ] || cp "$DB$suffix" "$WORK/sync.db$suffix"; done
      # The copy on disk before the clock starts: its write-back is not the sync's.
      sync "$WORK"/sync.db*
    fi
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.txt" env SYNDIC_NOW="$SYNC_NOW" NO_COLOR=1 \
      "$SYNDIC" --config "$CONFIG" --db "$WORK/sync.db" sync -q
    python3 - "$WORK/time.txt" "$WORK/sync.db" "$store" "$rep" >> "$RESULTS" <<'PY'
import json, sqlite3, sys
wall, user, sys_, rss = open(sys.argv[1]).read().split()[-4:]
db = sqlite3.connect(sys.argv[2])
new, copies = db.execute(
    "SELECT COUNT(*), COUNT(duplicate_of) FROM entries WHERE feed_id IN (SELECT id FROM feeds WHERE url LIKE 'http://127.0.0.1:%')"
).fetchone()
print(json.dumps({"store": sys.argv[3], "rep": int(sys.argv[4]), "wall": float(wall),
                  "cpu": float(user) + float(sys_), "rss_mb": int(rss) / 1024, "new": new, "copies": copies}))
PY
    tail -n 1 "$RESULTS" >&2
  done
done

python3 - "$RESULTS" "$DB" "$N" <<'PY'
import json, os, statistics, sys
rows, db, n = [json.loads(l) for l in open(sys.argv[1])], sys.argv[2], int(sys.argv[3])
med = lambda store, key: statistics.median(r[key] for r in rows if r["store"] == store)
size = os.path.getsize(db)
print(f"\nfixture: {n:,} entries, {size/1e6:.0f} MB ({size//n} bytes per entry); "
      f"{len(rows)//2} runs each, medians\n")
print(f"| cold sync 200 x 50 | empty store | {n:,}-entry store | ratio |")
print("|---|---|---|---|")
for key, label, unit in (("wall", "wall", "s"), ("cpu", "CPU (user+sys)", "s"), ("rss_mb", "peak memory", "MB")):
    e, b = med("empty", key), med("big", key)
    fmt = (lambda v: f"{v:.0f} MB") if unit == "MB" else (lambda v: f"{v:.2f} s")
    print(f"| {label} | {fmt(e)} | {fmt(b)} | {b/e:.2f}x |")
print(f"| entries stored (copies) | {med('empty', 'new'):.0f} ({med('empty', 'copies'):.0f}) "
      f"| {med('big', 'new'):.0f} ({med('big', 'copies'):.0f}) | |")
PY
