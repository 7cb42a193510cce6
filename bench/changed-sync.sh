#!/usr/bin/env bash
# A cron sync in which every feed changed a little: the 200 x 50 benchmark corpus
# (../shared/bench/gen_feeds.py, seed 1) read from local files, synced once with the first five
# items of every twentieth feed left out, then again with all of them, every file touched so that
# all 200 are read and parsed again (a file feed's validators are its size and time): 50 new
# entries, 9,950 that the store already holds as they are.
#
#   bench/changed-sync.sh [REPS] [BINARY...]
#
# Each binary makes its own first store (its schema may differ from another's), then the second
# sync is timed REPS times (default 3) into a fresh copy of it, the binaries alternated so that the
# machine's load falls on all of them alike. Prints each run's wall and CPU time and peak memory,
# and whether the binaries' stores agree entry by entry (title, link, date, story, attribution).
# Without a binary it builds and runs target/release/syndic. Needs GNU time (apt-get install -y time).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPS="${1:-3}"
shift || true
BENCH="${BENCH:-$ROOT/../shared/bench}"
[ -f "$BENCH/gen_feeds.py" ] || BENCH=/work/shared/bench
cd "$ROOT"
[ -x /usr/bin/time ] || { echo "changed-sync.sh: needs GNU time (apt-get install -y time)" >&2; exit 2; }
if [ $# -eq 0 ]; then
  cargo build --release --quiet --bin syndic
  set -- target/release/syndic
fi
CORPUS="target/bench-data/corpus-200x50"
[ -f "$CORPUS/manifest.json" ] ||
  python3 "$BENCH/gen_feeds.py" --feeds 200 --items 50 --out "$CORPUS" --seed 1 --port 8796 > /dev/null
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/full" "$TMP/cut"
cp "$CORPUS"/feeds/*.xml "$TMP/full/"
# The documents of the first sync: every twentieth feed without its five newest items.
python3 - "$TMP/full" "$TMP/cut" << 'EOF'
import os, re, sys
full, cut = sys.argv[1:3]
for i, name in enumerate(sorted(os.listdir(full))):
    text = open(os.path.join(full, name), encoding="utf-8").read()
    if i % 20 == 0:
        items = list(re.finditer(r"<(item|entry)>.*?</\1>\s*", text, re.S))
        assert len(items) >= 5, name
        text = text[: items[0].start()] + text[items[4].end() :]
    open(os.path.join(cut, name), "w", encoding="utf-8").write(text)
EOF
{
  printf '[settings]\nconcurrency = 16\nper_host = 16\n\n'
  for f in $(ls "$TMP/full" | sort); do
    printf '[[feeds]]\nurl = "file://%s/cur/%s"\nname = "%s"\n\n' "$TMP" "$f" "${f%.xml}"
  done
} > "$TMP/feeds.toml"

n=0
for bin in "$@"; do
  n=$((n + 1))
  ln -sfn "$TMP/cut" "$TMP/cur"
  SYNDIC_NOW=2024-06-05T00:00:00Z "$bin" --config "$TMP/feeds.toml" --db "$TMP/base.$n.db" sync -q
done

printf '%-40s %8s %8s %8s %10s\n' binary wall user sys "peak (MB)"
for rep in $(seq "$REPS"); do
  n=0
  for bin in "$@"; do
    n=$((n + 1))
    rm -f "$TMP/run.$n.db" "$TMP/run.$n.db"-*
    cp "$TMP/base.$n.db" "$TMP/run.$n.db"
    ln -sfn "$TMP/full" "$TMP/cur"
    touch "$TMP/full"/*.xml
    SYNDIC_NOW=2024-06-05T01:00:00Z /usr/bin/time -o "$TMP/time" -f '%e %U %S %M' \
      "$bin" --config "$TMP/feeds.toml" --db "$TMP/run.$n.db" sync -q
    read -r wall user sys rss < "$TMP/time"
    printf '%-40s %8s %8s %8s %10s\n' "$bin" "$wall" "$user" "$sys" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1000 }')"
  done
done

python3 - "$TMP" "$n" << 'EOF'
import sqlite3, sys
tmp, n = sys.argv[1], int(sys.argv[2])
def load(path):
    c = sqlite3.connect(path)
    rows = c.execute("""
        SELECT f.url, e.entry_key, e.title, e.url, e.published,
               (SELECT f2.url || ' ' || d.entry_key FROM entries d JOIN feeds f2 ON f2.id = d.feed_id
                WHERE d.id = e.duplicate_of),
               e.dup_reason, e.attribution
        FROM entries e JOIN feeds f ON f.id = e.feed_id""").fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}
stores = [load(f"{tmp}/run.{i}.db") for i in range(1, n + 1)]
print(f"entries after the second sync: {', '.join(str(len(s)) for s in stores)}")
for i, s in enumerate(stores[1:], 2):
    differ = [k for k in set(stores[0]) | set(s) if stores[0].get(k) != s.get(k)]
    print(f"binary {i} against binary 1: {len(differ)} entries differ" + (f", e.g. {differ[0]}" if differ else ""))
EOF
