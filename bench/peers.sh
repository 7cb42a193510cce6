#!/usr/bin/env bash
# syndic beside sfeed and newsboat: a cold sync (empty state) then a warm one, from a local server
# with 50 ms latency and gzip (../shared/bench/run_peers.sh), and the ratio table of issue 11.
#
#   bench/peers.sh [SIZE...]        SIZE is FEEDSxITEMS; default: 200x50 1000x50
#
# Needs: apt-get install -y newsboat sfeed time curl; python3. A benchmark, not a test: the machine
# is shared, so compare the ratios of one run, not absolute times across runs.
# Environment: REPS (default 1), PORT (8795), BENCH (../shared/bench), OUT (/tmp/feedbench/syndic-peers).
# Everything targets 127.0.0.1 only.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="${BENCH:-$ROOT/../shared/bench}"
[ -x "$BENCH/run_peers.sh" ] || BENCH=/work/shared/bench
PORT="${PORT:-8795}"
OUT="${OUT:-/tmp/feedbench/syndic-peers}"
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(200x50 1000x50)
TOOLS="${TOOLS:-newsboat-t16 sfeed-j16 syndic-c16}"

(cd "$ROOT" && cargo build --release --quiet --bin syndic)
mkdir -p "$OUT"
for size in "${SIZES[@]}"; do
  feeds=${size%x*}; items=${size#*x}
  corpus="$OUT/corpus-$size"
  [ -f "$corpus/manifest.json" ] ||
    python3 "$BENCH/gen_feeds.py" --feeds "$feeds" --items "$items" --out "$corpus" --seed 1 --port "$PORT" > /dev/null
  TOOLS="$TOOLS" REPS="${REPS:-1}" SYNDIC="$ROOT/target/release/syndic" WORK="$OUT/work" RESULTS="$OUT/results" \
    "$BENCH/run_peers.sh" "$corpus" "$PORT" "$size"
done

# The ratio table: syndic against the best peer, per measure (median over repetitions).
python3 - "$OUT" "${SIZES[@]}" <<'PY'
import json, os, statistics, sys
out, sizes = sys.argv[1], sys.argv[2:]
print("\n| size | measure | syndic | best peer | ratio |")
print("|---|---|---|---|---|")
for size in sizes:
    rows = [json.loads(l) for l in open(os.path.join(out, "results", size, "raw.jsonl"))]
    def med(tool, phase, key):
        xs = [r[key] for r in rows if r["tool"] == tool and r["phase"] == phase and key in r]
        return statistics.median(xs) if xs else None
    tools = sorted({r["tool"] for r in rows})
    ours = [t for t in tools if t.startswith("syndic")][0]
    peers = [t for t in tools if not t.startswith("syndic")]
    for phase, key, label, unit in [("cold", "wall_s", "cold sync, wall", "s"), ("cold", "cpu_s", "cold sync, CPU", "s"),
                                    ("warm", "wall_s", "warm sync, wall", "s"), ("cold", "maxrss_kb", "peak memory, cold", "MB")]:
        scale = 1 / 1024 if unit == "MB" else 1
        vals = {t: med(t, phase, key) for t in peers}
        vals = {t: v for t, v in vals.items() if v is not None}
        best = min(vals, key=vals.get)
        s = med(ours, phase, key)
        print(f"| {size} | {label} | {s*scale:.1f} {unit} | {best} {vals[best]*scale:.1f} {unit} | {s/vals[best]:.2f}x |")
    manifest = json.load(open(os.path.join(out, f"corpus-{size}", "manifest.json")))
    state = os.path.join(out, "work", size, f"{ours}-r1")
    db = sum(os.path.getsize(os.path.join(state, f)) for f in os.listdir(state) if f.startswith("syndic.db"))
    fetched = manifest["feed_bytes_total"]
    print(f"| {size} | database / feed bytes | {db/1e6:.1f} MB ({db // manifest['total_items']} B per entry) | "
          f"fetched {fetched/1e6:.1f} MB | {db/fetched:.2f}x |")
PY
