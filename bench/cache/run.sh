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
SLUICE=$BUILD/apps/sluice/sluice
SIM=$BUILD/tools/upstream-sim/upstream-sim
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 1; }

RUN=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$RUN"' EXIT
SIM_PORT=$("$SLUICE" free-port)
HTTP_PORT=$("$SLUICE" free-port)
"$SIM" --listen 127.0.0.1:$SIM_PORT --threads 2 >"$RUN/sim.out" 2>&1 &
PIDS+=($!)
cat >"$RUN/sluice.yaml" <<YAML
server: {http_listen: 127.0.0.1:$HTTP_PORT, grpc_listen: 127.0.0.1:0, http_threads: 2}
metering: {sqlite_path: "$RUN/metering.db"}
providers:
  - {name: sim, kind: openai, base_url: "http://127.0.0.1:$SIM_PORT/v1"}
routes:
  - {model: deepseek-chat, provider: sim}
tenants:
  - {name: demo, api_key_sha256s: [1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213]}
logging: {level: warn}
YAML
"$SLUICE" serve --config "$RUN/sluice.yaml" >"$RUN/sluice.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "sluice: ready" "$RUN/sluice.out" 2>/dev/null && break; sleep 0.1; done
grep -q "sluice: ready" "$RUN/sluice.out" || { cat "$RUN/sluice.out"; exit 1; }
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
