#!/usr/bin/env bash
# Instructions, not seconds: a cold sync of the first FEEDS feeds (default 60, 50 items each) of the
# 200 x 50 benchmark corpus (../shared/bench/gen_feeds.py, seed 1), read from local files, under
# valgrind's callgrind, with the instructions each thread ran counted. The writer (the main thread)
# is what a cold sync waits for; the parse workers run beside it. On these shared 2-core machines a
# sync's time varies by 15% from run to run, so a change of a few percent shows in these counts
# (the same from run to run within a fraction of a percent) and not in a stopwatch. Under callgrind a
# transaction (committed after 250 ms or 1,000 entries) holds fewer entries than natively (57 commits
# against 5 for 60 feeds): what is paid per commit (search index segments and merges) is over-counted.
#
#   bench/instructions.sh [FEEDS] [BINARY...]
#
# Prints, for each binary (default target/release/syndic, built by this script): the writer's
# instructions, the parse workers', the rest (dictionary training, the end's repacking, tokio) and
# the total. Takes about 2 minutes a binary at 60 feeds (callgrind runs the program 50 times slower).
# Needs: valgrind, python3. Environment: BENCH (../shared/bench), OUT (a directory for the callgrind
# files; default a temporary one, removed). Reads local files only; no network.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FEEDS="${1:-60}"
shift || true
BENCH="${BENCH:-$ROOT/../shared/bench}"
[ -f "$BENCH/gen_feeds.py" ] || BENCH=/work/shared/bench
cd "$ROOT"
command -v valgrind > /dev/null || { echo "instructions.sh: needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
if [ $# -eq 0 ]; then
  cargo build --release --quiet --bin syndic
  set -- target/release/syndic
fi
CORPUS="target/bench-data/corpus-200x50"
[ -f "$CORPUS/manifest.json" ] ||
  python3 "$BENCH/gen_feeds.py" --feeds 200 --items 50 --out "$CORPUS" --seed 1 --port 8796 > /dev/null
OUT="${OUT:-}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
[ -n "$OUT" ] || OUT="$TMP"
mkdir -p "$OUT"
{
  printf '[settings]\nconcurrency = 16\nper_host = 16\n\n'
  ls "$ROOT/$CORPUS"/feeds/*.xml | sort | head -n "$FEEDS" | while read -r f; do
    printf '[[feeds]]\nurl = "file://%s"\nname = "%s"\n\n' "$f" "$(basename "$f" .xml)"
  done
} > "$TMP/feeds.toml"

printf '%-40s %14s %14s %14s %14s\n' binary writer "parse workers" other total
n=0
for bin in "$@"; do
  n=$((n + 1))
  rm -f "$TMP/sync.db" "$TMP"/sync.db-*
  valgrind --tool=callgrind --separate-threads=yes --dump-instr=no --callgrind-out-file="$OUT/cg.$n" \
    "$bin" --config "$TMP/feeds.toml" --db "$TMP/sync.db" sync > /dev/null 2> "$OUT/valgrind.$n.log"
  # Each thread's file names the thread: the first is the main thread, the writer; a parse
  # worker's runs syndic::sync::prepare.
  python3 - "$OUT" "$n" "$bin" << 'EOF'
import glob, re, sys
out, n, binary = sys.argv[1:4]
writer = parse = other = 0
for path in sorted(glob.glob(f"{out}/cg.{n}-*")):
    text = open(path, errors="replace").read()
    total = int(re.search(r"^summary: (\d+)", text, re.M).group(1))
    thread = int(re.search(r"^thread: (\d+)", text, re.M).group(1))
    if thread == 1:
        writer += total
    elif "syndic::sync::prepare" in text:
        parse += total
    else:
        other += total
print(f"{binary:<40} {writer:>14,} {parse:>14,} {other:>14,} {writer + parse + other:>14,}")
EOF
done
