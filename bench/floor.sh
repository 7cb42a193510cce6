#!/usr/bin/env bash
# The floor under a cold sync, and syndic's cold sync itself, on the same documents in one run:
# the 200 x 50 benchmark corpus (../shared/bench/gen_feeds.py, seed 1: 10,000 entries, 34 MB) read
# from local files, so that no server's latency is in it.
#
#   bench/floor.sh [REPS]
#
# First `cargo bench --bench floor` (benches/floor.rs): what feed-rs, ammonia, an HTML-to-text
# parse, FTS5 and zstd cost alone on these documents, and what syndic's parse stages cost. Then
# REPS (default 3) cold syncs of the same files into an empty store, each with its wall and CPU
# time and peak memory (GNU time: apt-get install -y time). Compare the two within one run.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPS="${1:-3}"
BENCH="${BENCH:-$ROOT/../shared/bench}"
[ -f "$BENCH/gen_feeds.py" ] || BENCH=/work/shared/bench
cd "$ROOT"
[ -x /usr/bin/time ] || { echo "floor.sh: needs GNU time (apt-get install -y time)" >&2; exit 2; }
CORPUS="target/bench-data/corpus-200x50"
[ -f "$CORPUS/manifest.json" ] ||
  python3 "$BENCH/gen_feeds.py" --feeds 200 --items 50 --out "$CORPUS" --seed 1 --port 8796 > /dev/null
cargo build --release --quiet --bin syndic

SYNDIC_FLOOR_CORPUS="$ROOT/$CORPUS/feeds" cargo bench --quiet --bench floor 2>&1 |
  awk '/^floor:/ { print; next }
       /^(floor|syndic)\// { name = $0; sub(/ +time:.*/, "", name); if ($0 !~ /time:/) next }
       /time:/ && name != "" { sub(/.*time: *\[[^ ]+ [^ ]+ /, ""); sub(/ [^ ]+ [^ ]+\]$/, ""); printf "%-70s %s\n", name, $0; name = "" }'

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
{
  printf '[settings]\nconcurrency = 16\nper_host = 16\n\n'
  for f in $(ls "$ROOT/$CORPUS/feeds" | sort); do
    printf '[[feeds]]\nurl = "file://%s/%s/feeds/%s"\nname = "%s"\n\n' "$ROOT" "$CORPUS" "$f" "${f%.xml}"
  done
} > "$TMP/feeds.toml"
printf '\ncold sync of the same files:\n%8s %8s %8s %10s\n' wall user sys "peak (MB)"
for rep in $(seq "$REPS"); do
  rm -f "$TMP/run.db" "$TMP/run.db"-*
  SYNDIC_NOW=2024-06-05T00:00:00Z /usr/bin/time -o "$TMP/time" -f '%e %U %S %M' \
    target/release/syndic --config "$TMP/feeds.toml" --db "$TMP/run.db" sync -q
  read -r wall user sys rss < "$TMP/time"
  printf '%8s %8s %8s %10s\n' "$wall" "$user" "$sys" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1000 }')"
done
