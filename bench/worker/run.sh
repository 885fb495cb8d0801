#!/usr/bin/env bash
# The self-hosted worker against llama.cpp's own llama-server, side by side
# on the same generated model, the same thread count and the same slots:
#   1. output tokens/s, TTFT and inter-token latency at 1, 4 and 16 streams
#      (ours through the whole gateway: ingress, router, adapters, worker;
#      llama-server direct);
#   2. two workers, requests sharing four long system prompts: ours with
#      prefix-aware routing and with round robin, and two llama-servers
#      behind round robin.
# llama-server is built once from the pinned llama.cpp source into the cache
# beside the `llama` build (scripts/llama.sh --server, ~8 minutes on 2 cores).
#
# Env: THREADS (default: the machine's cores), PARAMS (model size, default
# 100M), MAX_TOKENS (64), BUILD (the build dir, default build/), PARTS
# ("12": both; "1" or "2": one of them).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
THREADS=${THREADS:-$(nproc)}
PARAMS=${PARAMS:-100000000}
MAX_TOKENS=${MAX_TOKENS:-64}
SLUICE=$BUILD/apps/sluice/sluice
BENCH=$BUILD/bench/worker/sluice-stream-bench
RUN=$(mktemp -d /tmp/sluice-worker-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$RUN"
}
trap cleanup EXIT
log() { echo "[worker-bench] $*" >&2; }

LLAMA_SERVER=$("$ROOT/scripts/llama.sh" --server)
MODEL=$CACHE/models/bench-$PARAMS-s1.gguf
if [ ! -f "$MODEL" ]; then
  mkdir -p "$(dirname "$MODEL")"
  "$SLUICE" make-test-model --out "$MODEL" --params "$PARAMS" --seed 1 >&2
fi
log "model $MODEL, $THREADS threads"

# Waits until URL answers 200.
wait_http() {
  local url=$1 deadline=$((SECONDS + 120))
  until curl -sf -o /dev/null "$url"; do
    [ $SECONDS -lt $deadline ] || { log "$url never came up"; exit 1; }
    sleep 0.2
  done
}

# Starts `sluice serve` on CONFIG; prints its HTTP base (or internal gRPC
# address with --internal).
start_sluice() {
  local name=$1 config=$2 want=${3:-HTTP}
  "$SLUICE" serve --config "$config" >"$RUN/$name.out" 2>"$RUN/$name.err" &
  PIDS+=($!)
  local deadline=$((SECONDS + 120))
  until grep -q "sluice: ready" "$RUN/$name.out" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { cat "$RUN/$name.err" >&2; log "$name did not start"; exit 1; }
    sleep 0.2
  done
  if [ "$want" = HTTP ]; then
    sed -n 's/.*HTTP listening on \(http:[^ ]*\).*/\1/p' "$RUN/$name.out" | head -1
  else
    sed -n 's/.*internal gRPC listening on \([^ ]*\).*/\1/p' "$RUN/$name.out" | head -1
  fi
}

start_llama_server() {
  local name=$1 slots=$2 threads=$3 port
  port=$("$SLUICE" free-port)
  "$LLAMA_SERVER" -m "$MODEL" --host 127.0.0.1 --port "$port" -t "$threads" -tb "$threads" \
    -np "$slots" -c $((slots * 2048)) -b 512 -ub 512 --no-webui >"$RUN/$name.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/health"
  echo "http://127.0.0.1:$port"
}

# The gateway's config: the local provider (the co-hosted worker, or a pool
# of worker processes), the demo tenant.
gateway_config() {
  local file=$1 worker_yaml=$2 pool=$3
  cat >"$file" <<EOF
server: {http_listen: 127.0.0.1:0, grpc_listen: 127.0.0.1:0, http_threads: 2}
metering: {sqlite_path: $RUN/metering-$(basename "$file").db}
providers:
  - {name: local, kind: worker, timeouts: {first_token: 600s, total: 600s}$pool}
models:
  - {provider: local, model: local, context_window: 2048, tokenizer: llama-bpe, chat_template: llama3}
routes:
  - {model: local, provider: local}
tenants:
  - {name: demo, api_key_sha256s: [1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213]}
$worker_yaml
logging: {level: warn}
EOF
}

stream_bench() {
  "$BENCH" --header 'Authorization: Bearer sk-sluice-demo' --max-tokens "$MAX_TOKENS" "$@" |
    sed -n 's/^RESULT //p'
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

row() {
  local label=$1 result=$2
  printf '| %-34s | %8s | %9s | %9s | %8s | %8s | %7s |\n' "$label" \
    "$(field tok_s "$result")" "$(field ttft_p50 "$result")" "$(field ttft_p99 "$result")" \
    "$(field itl_p50 "$result")" "$(field itl_p99 "$result")" "$(field cached "$result")"
}

header() {
  echo
  echo "$1"
  echo
  echo '| contender                          | tok/s    | TTFT p50  | TTFT p99  | ITL p50  | ITL p99  | cached  |'
  echo '|------------------------------------|----------|-----------|-----------|----------|----------|---------|'
}

PARTS=${PARTS:-12}
# --- 1. one server, 16 slots -------------------------------------------------
if [[ $PARTS == *1* ]]; then
gateway_config "$RUN/one.yaml" \
  "worker: {model_path: $MODEL, slots: 16, slot_context: 2048, step_tokens: 512, step_target: 250ms, threads: $THREADS}" ""
OURS=$(start_sluice one "$RUN/one.yaml")
THEIRS=$(start_llama_server llama 16 "$THREADS")
header "Streams on one server ($THREADS threads, 16 slots, $MAX_TOKENS tokens each; ms)"
for c in 1 4 16; do
  n=$((c < 4 ? 4 : 2 * c))
  # Warm-up, then the measured runs, alternating.
  stream_bench --url "$OURS/v1/chat/completions" --concurrency "$c" --requests "$c" >/dev/null
  stream_bench --url "$THEIRS/v1/chat/completions" --concurrency "$c" --requests "$c" >/dev/null
  row "sluice worker, $c streams" "$(stream_bench --url "$OURS/v1/chat/completions" --concurrency "$c" --requests "$n")"
  row "llama-server, $c streams" "$(stream_bench --url "$THEIRS/v1/chat/completions" --concurrency "$c" --requests "$n")"
done
cleanup; PIDS=(); RUN=$(mktemp -d /tmp/sluice-worker-bench.XXXXXX)
fi
[[ $PARTS == *2* ]] || exit 0

# --- 2. two servers, shared system prompts ---------------------------------
half=$(( THREADS / 2 > 0 ? THREADS / 2 : 1 ))
shared() {
  stream_bench --prompts shared --system-bytes 6000 --concurrency 4 --requests 48 --trace "${TRACE:-0}" "$@"
}
header "Two servers, four shared ~1.5k-token system prompts, 4 streams ($half threads and 4 slots each; ms)"
for routing in prefix round_robin; do
  cat >"$RUN/w.yaml" <<EOF
server: {internal_listen: 127.0.0.1:0}
services: [worker]
worker: {model_path: $MODEL, slots: 4, cache_slots: 4, slot_context: 2048, step_tokens: 512, step_target: 250ms, threads: $half}
logging: {level: warn}
EOF
  export SLUICE_INTERNAL_SECRET=worker-bench-secret
  a=$(start_sluice "wa-$routing" "$RUN/w.yaml" internal)
  b=$(start_sluice "wb-$routing" "$RUN/w.yaml" internal)
  gateway_config "$RUN/g-$routing.yaml" "services: [ingress, router, scheduler, cache, adapters, metering]" \
    ", workers: [$a, $b], worker_routing: $routing"
  g=$(start_sluice "g-$routing" "$RUN/g-$routing.yaml")
  row "sluice, 2 workers, $routing" "$(shared --url "$g/v1/chat/completions")"
done
l1=$(start_llama_server llama-a 4 "$half")
l2=$(start_llama_server llama-b 4 "$half")
row "llama-server x2, round robin" \
  "$(shared --url "$l1/v1/chat/completions" --url "$l2/v1/chat/completions")"
