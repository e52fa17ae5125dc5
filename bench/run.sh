#!/usr/bin/env bash
# Runs every benchmark of docs/PERFORMANCE.md and prints the figures, with the peers
# (grep -F -f, ripgrep) side by side in the same run and the ratios.
#   bash bench/run.sh [BUILD_DIR]        (make bench builds build-bench and calls this)
# Needs ../shared/data. Uses a temporary folder for decompressed inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-bench}
AEGIS=$PWD/$BUILD/aegis
SHARED=${SHARED:-$(cd .. && pwd)/shared/data}
TRAILS=$SHARED/intel/maltrail/trails/static
[ -d "$TRAILS" ] || { echo "bench: $SHARED not found"; exit 1; }
WORK=$(mktemp -d /tmp/aegis-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
RUNS=${RUNS:-3}

echo "== machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
echo "aegis $(git rev-parse --short HEAD), $(grep -E '^CMAKE_BUILD_TYPE|^AEGIS_ARCH' "$BUILD/CMakeCache.txt" | tr '\n' ' ')"

echo
echo "== 1. indicator index: load time and bytes per indicator (all maltrail trails)"
"$AEGIS" intel stats --intel "$TRAILS" --json > "$WORK/stats.json"
python3 - "$WORK/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
i = s["index"]
print(f"indicators accepted {s['accepted']:,} (rejected {s['rejected']:,}), distinct in index {i['indicators']:,}")
print(f"load + build: {s['seconds']:.2f} s   index memory: {i['memory_bytes']/2**20:.1f} MiB = {i['bytes_per_indicator']:.1f} bytes/indicator")
PY
hyperfine --warmup 1 --runs "$RUNS" -N --export-json "$WORK/load.json" \
  "$AEGIS intel stats --intel $TRAILS --json" 2>&1 | grep -E 'Time|Range' || true
/usr/bin/time -f "peak RSS of intel stats: %M KiB" "$AEGIS" intel stats --intel "$TRAILS" --json >/dev/null

echo
echo "== 2. events/s per core: parse + normalise + match, in memory, one thread"
"$BUILD/bench/pipeline_bench" --benchmark_counters_tabular=true 2>&1 | grep -vE '^\*\*\*|^-+$' || true
[ -x "$BUILD/bench/index_bench" ] && { echo; echo "-- index lookups"; "$BUILD/bench/index_bench" 2>&1 | grep -E '^BM_|Benchmark' || true; }

echo
echo "== 3. aegis scan vs grep -F -f vs ripgrep: same files, same domain list"
zcat "$SHARED/events/zeek/zeek-json/dns.json.gz" > "$WORK/dns-1x.json"
for i in 1 2 3 4 5 6 7 8 9 10; do cat "$WORK/dns-1x.json"; done > "$WORK/dns-10x.json"
cat "$TRAILS"/*/*.txt "$TRAILS"/*.txt | sed 's/#.*//; s/[[:space:]]//g' | grep -v '^$' \
  | grep -v '[/:]' | grep -vE '^[0-9.]+$' | sort -u > "$WORK/domains.txt"
echo "domain list: $(wc -l < "$WORK/domains.txt") maltrail domains; events: $(wc -l < "$WORK/dns-1x.json") and $(wc -l < "$WORK/dns-10x.json") Zeek DNS lines ($(du -h "$WORK/dns-10x.json" | cut -f1))"
for size in 1x 10x; do
  f="$WORK/dns-$size.json"
  hyperfine --warmup 1 --runs "$RUNS" -N --export-json "$WORK/cmp-$size.json" \
    -n "aegis scan" "$AEGIS scan $f --intel $WORK/domains.txt --json --no-event --no-progress" \
    -n "grep -F -f" "grep -F -c -f $WORK/domains.txt $f" \
    -n "ripgrep -F -f" "rg -F -c -f $WORK/domains.txt $f" 2>&1 | grep -vE '^\s*$' || true
done
python3 - "$WORK" <<'PY'
import json, sys, os
w = sys.argv[1]
t = {}
for size in ("1x", "10x"):
    for r in json.load(open(os.path.join(w, f"cmp-{size}.json")))["results"]:
        t[(r["command"], size)] = r["mean"]
lines = sum(1 for _ in open(os.path.join(w, "dns-1x.json")))
print()
print(f"{'':16}{'1x wall s':>12}{'10x wall s':>12}{'marginal ev/s':>16}{'ratio 1x':>10}{'ratio 10x':>10}{'ratio marginal':>16}")
a1, a10 = t[("aegis scan", "1x")], t[("aegis scan", "10x")]
am = 9 * lines / (a10 - a1) if a10 > a1 else float("inf")
for name in ("aegis scan", "grep -F -f", "ripgrep -F -f"):
    x1, x10 = t[(name, "1x")], t[(name, "10x")]
    marginal = 9 * lines / (x10 - x1) if x10 > x1 else float("inf")
    print(f"{name:16}{x1:12.2f}{x10:12.2f}{marginal:16,.0f}{x1/a1:10.1f}{x10/a10:10.1f}{am/marginal if marginal else 0:16.1f}")
print("ratio = peer time / aegis time (higher is better for aegis); marginal = events/s over the extra 9x of input, setup excluded")
PY

echo
echo "== 4. Sigma: all SigmaHQ rules over the OTRF datasets, Aegis vs the Zircolite-style SQLite peer"
"$BUILD/bench/sigma_bench" --benchmark_counters_tabular=true 2>&1 | grep -vE '^\*\*\*|^-+$|^  DIFF|because' || true
S="$SHARED/sigma"
O="$SHARED/events/otrf/datasets"
for j in 1 2; do
  echo "aegis scan -j $j, all five SigmaHQ folders over the OTRF datasets (/usr/bin/time):"
  /usr/bin/time -f "  wall %e s, peak RSS %M KiB" "$BUILD/aegis" scan -j "$j" --no-progress --no-event \
    --dedup-window 0 --json --sigma "$S/rules" --sigma "$S/rules-emerging-threats" \
    --sigma "$S/rules-threat-hunting" --sigma "$S/rules-placeholder" --sigma "$S/rules-compliance" \
    "$O" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(f"  {r[\"events\"]:,} events, {r[\"alerts\"]:,} alerts, {r[\"events_per_second\"]:,.0f} events/s (rule load {r[\"sigma\"][\"load_seconds\"]:.2f} s)")'
done

echo
echo "== 5. STIX store: ingest and 1,000-object pages from 1M objects (store level)"
"$BUILD/bench/stix_store_bench" --benchmark_counters_tabular=true 2>&1 | grep -vE '^\*\*\*|^-+$' || true

echo
bash bench/hub_bench.sh "$BUILD"
