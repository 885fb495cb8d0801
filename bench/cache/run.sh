#!/usr/bin/env bash
# bench/cache: what a cache hit costs at ingress, next to the same request
# answered by the upstream simulator (x-sluice-cache: bypass), in one run;
# then the L1 eviction policy's hit ratio against LRU on Zipf traces.
# Needs a Release build (./dev build). Usage: bench/cache/run.sh [seconds]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SLUICE_BUILD_DIR:-$ROOT/build}
SECONDS_EACH=${1:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
source "$ROOT/bench/gateway.sh"
start_gateway
URL=http://127.0.0.1:$HTTP_PORT/v1/chat/completions
# Fill the entry, then warm up both paths.
curl -s -o /dev/null -X POST "$URL" -H "Authorization: Bearer sk-sluice-demo" \
  -H "Content-Type: application/json" \
  -d '{"model":"deepseek-chat","temperature":0,"messages":[{"role":"user","content":"What is a sluice gate?"}]}'
for mode in "" bypass; do
  CACHE_MODE=$mode wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$ROOT/bench/cache/post.lua" "$URL" >/dev/null
done

run() {  # label mode
  CACHE_MODE=$2 wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency \
    -s "$ROOT/bench/cache/post.lua" "$URL" | grep RESULT | sed "s/^RESULT/$1/"
}
echo "== cache hit at ingress vs the same request through to the simulator"
echo "   ($CONNECTIONS connections, $THREADS wrk threads, ${SECONDS_EACH}s each, $(nproc) cores shared by all)"
run "cache hit       " ""
run "bypass (upstream)" bypass
echo
echo "== L1 eviction policy vs LRU"
"$BUILD/bench/cache/bench_cache_l1_hit_ratio"
