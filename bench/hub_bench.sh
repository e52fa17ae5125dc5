#!/usr/bin/env bash
# Threat-intelligence hub benchmark (docs/PERFORMANCE.md §6), over real HTTP against a
# real `aegis serve` process on SQLite:
#   1. POST ingest: 1,000,000 STIX indicators built from the maltrail trails, sent as
#      1,000-object TAXII envelopes by curl (4 in flight): objects/s end to end.
#   2. GET: 1,000-object pages from the 1M-object collection at random `added_after`
#      positions, driven by wrk: p50/p99 latency (1 connection, then 4).
#   3. Memory: the server's peak and current RSS.
#   bash bench/hub_bench.sh [BUILD_DIR]     COUNT=100000 for a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-bench}
AEGIS=$PWD/$BUILD/aegis
SHARED=${SHARED:-$(cd .. && pwd)/shared/data}
TRAILS=$SHARED/intel/maltrail/trails/static
COUNT=${COUNT:-1000000}
DURATION=${DURATION:-20s}
[ -d "$TRAILS" ] || { echo "hub bench: $TRAILS not found"; exit 1; }
command -v wrk >/dev/null || { echo "hub bench: wrk is missing (apt-get install wrk)"; exit 1; }
WORK=$(mktemp -d /tmp/aegis-hub-bench.XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
DB=$WORK/hub.db

"$AEGIS" org create ncc --name "National Cyber Centre" --type national-centre --db "$DB" >/dev/null
"$AEGIS" user add bench --org ncc --role analyst --db "$DB" >/dev/null
TOKEN=$("$AEGIS" token create --user bench --scopes read,write --json --db "$DB" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
cat > "$WORK/aegis.toml" <<TOML
[store]
url = "sqlite:$DB"
[server]
listen = "127.0.0.1:0"
threads = 4
access_log = false
[hub]
org = "ncc"
detect = false
[log]
level = "warn"
TOML
"$AEGIS" serve --config "$WORK/aegis.toml" --port-file "$WORK/port" 2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
BASE=http://127.0.0.1:$PORT/taxii2/hub/collections/indicators
MEDIA='application/taxii+json;version=2.1'

echo "== 6. hub: TAXII ingest and paging over HTTP, $COUNT objects"
python3 bench/gen_stix.py "$TRAILS" "$WORK/env" --count "$COUNT" --batch 1000
START=$(date +%s.%N)
ls "$WORK"/env/*.json | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST \
  -H "Authorization: Bearer $TOKEN" -H "Content-Type: $MEDIA" -H "Accept: $MEDIA" \
  --data-binary @{} "$BASE/objects/" > "$WORK/codes"
END=$(date +%s.%N)
python3 - "$START" "$END" "$COUNT" "$WORK/codes" <<'PY'
import sys
start, end, count = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
codes = open(sys.argv[4]).read().split()
bad = [c for c in codes if c != "202"]
print(f"POST ingest: {count:,} objects in {len(codes)} requests, {end-start:.1f} s = "
      f"{count/(end-start):,.0f} objects/s end to end ({len(bad)} requests not 202: {sorted(set(bad))})")
PY
grep -E 'VmHWM|VmRSS' /proc/$SERVER_PID/status | tr -s ' \t' ' ' | sed 's/^/after ingest: /'

# The range of date_added, for added_after positions that always leave a full page.
curl -s -D "$WORK/first.h" -o "$WORK/first.json" -H "Authorization: Bearer $TOKEN" \
  -H "Accept: $MEDIA" "$BASE/objects/?limit=1000"
python3 - "$WORK/first.json" "$WORK/first.h" <<'PY'
import json, sys
page = json.load(open(sys.argv[1]))
headers = open(sys.argv[2]).read()
print(f"first page: {len(page.get('objects', []))} objects, more={page.get('more')}, "
      f"next={'next' in page}, size {len(open(sys.argv[1], 'rb').read()):,} bytes")
for line in headers.splitlines():
    if line.lower().startswith("x-taxii-date-added"):
        print("  " + line.strip())
PY
FIRST=$(awk -F': ' 'tolower($1)=="x-taxii-date-added-first"{print $2}' "$WORK/first.h" | tr -d '\r')
LAST_US=$(python3 - "$FIRST" "$START" "$END" <<'PY'
import sys
from datetime import datetime, timezone
first = datetime.strptime(sys.argv[1].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
start, end = float(sys.argv[2]), float(sys.argv[3])
# Keep the last ~2% of the ingest window out so every page is full.
print(int(first * 1e6), int((first + (end - start) * 0.98) * 1e6))
PY
)
cat > "$WORK/page.lua" <<LUA
local lo, hi = ${LAST_US% *}, ${LAST_US#* }
math.randomseed(42)
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Accept"] = "$MEDIA"
request = function()
  local us = math.random(lo, hi)
  local s = math.floor(us / 1000000)
  local ts = os.date("!%Y-%m-%dT%H:%M:%S", s) .. string.format(".%06dZ", us % 1000000)
  return wrk.format("GET", "/taxii2/hub/collections/indicators/objects/?limit=1000&added_after=" .. ts)
end
LUA
for conns in 1 4; do
  echo "GET 1,000-object pages at random added_after, $conns connection(s), $DURATION:"
  wrk -t "$(( conns < 2 ? 1 : 2 ))" -c "$conns" -d "$DURATION" --latency -s "$WORK/page.lua" \
    "http://127.0.0.1:$PORT" | grep -E 'Latency|50%|90%|99%|Requests/sec|Transfer/sec|Non-2xx'
done
grep -E 'VmHWM|VmRSS' /proc/$SERVER_PID/status | tr -s ' \t' ' ' | sed 's/^/after paging: /'
ls -la "$DB" | awk '{printf "database file: %.0f MiB\n", $5/1048576}'
