#!/usr/bin/env bash
# bench/jobs: async jobs end to end through Kafka: kcat produces N job lines
# (OpenAI batch input) to the dev broker, `sluice serve` (one process, the
# dev broker in process, metering on) runs them at batch priority against
# the upstream simulator (no added latency), and kcat waits for the N
# results. Prints jobs/s from the first produce to the last result, and the
# gateway's CPU per job (one job before, apart: the consumer group's join).
# Then the same lines as one batch of OpenAI's Batch
# API (POST /v1/files, POST /v1/batches, polled to completed): lines/s and
# CPU per line.
# Last, WORKER_JOBS jobs for the self-hosted worker (model "local", a small
# generated model): the scheduler's micro-batcher sends batch calls to it in
# groups; prints the groups' size histogram.
# Usage: bench/jobs/run.sh [jobs]   (SLUICE_BUILD_DIR, CONCURRENCY, WORKER_JOBS)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SLUICE_BUILD_DIR:-$ROOT/build}
JOBS=${1:-20000}
CONCURRENCY=${CONCURRENCY:-256}
SLUICE=$BUILD/apps/sluice/sluice
WORKER_JOBS=${WORKER_JOBS:-512}
SIM=$BUILD/tools/upstream-sim/upstream-sim
KEY_HASH=1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213
command -v kcat >/dev/null || { echo "kcat is missing (apt-get install kcat)"; exit 1; }
RUN=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$RUN"' EXIT
wait_for() {  # file pattern pid
  local deadline=$((SECONDS + 60))
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || { cat "$1"; exit 1; }
    ((SECONDS < deadline)) || { echo "timed out waiting for '$2'"; cat "$1"; exit 1; }
    sleep 0.1
  done
}
SIM_PORT=$("$SLUICE" free-port)
"$SIM" --listen 127.0.0.1:$SIM_PORT --threads 1 >"$RUN/sim.out" 2>&1 &
SIM_PID=$!; PIDS+=($SIM_PID); wait_for "$RUN/sim.out" listening $SIM_PID
PORT=$("$SLUICE" free-port)
"$SLUICE" make-test-model --out "$RUN/local.gguf" --params 3000000 --seed 1 >/dev/null
cat >"$RUN/sluice.yaml" <<YAML
server: {http_listen: 127.0.0.1:$PORT, grpc_listen: 127.0.0.1:0, http_threads: 2}
metering: {sqlite_path: "$RUN/metering.db"}
providers:
  - {name: sim, kind: openai, base_url: "http://127.0.0.1:$SIM_PORT/v1"}
  - {name: local, kind: worker}
models:
  - {provider: sim, model: deepseek-chat, tokenizer: deepseek-llm, chat_template: deepseek3, context_window: 131072}
  - {provider: local, model: local, tokenizer: llama-bpe, chat_template: llama3, context_window: 2048}
routes:
  - {model: deepseek-chat, provider: sim}
  - {model: local, provider: local}
worker: {model_path: "$RUN/local.gguf", slots: 32, slot_context: 256, step_tokens: 512}
tenants:
  - {name: demo, api_key_sha256s: [$KEY_HASH]}
jobs: {concurrency: $CONCURRENCY, batch_concurrency: $CONCURRENCY}
logging: {level: warn}
YAML
"$SLUICE" serve --config "$RUN/sluice.yaml" >"$RUN/sluice.out" 2>&1 &
GATEWAY=$!; PIDS+=($GATEWAY)
wait_for "$RUN/sluice.out" "sluice: ready" $GATEWAY
BROKERS=$(sed -n 's/.*in-process Kafka dev broker at \([^ ]*\).*/\1/p' "$RUN/sluice.out" | head -1)
[[ -n $BROKERS ]] || { echo "no dev broker address in:"; cat "$RUN/sluice.out"; exit 1; }

awk -v n="$JOBS" 'BEGIN { for (i = 0; i < n; i++) printf "{\"custom_id\":\"job-%d\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"What is job %d?\"}]}}\n", i, i }' >"$RUN/jobs.jsonl"
ticks() { awk '{print $14+$15}' /proc/$GATEWAY/stat; }
sim_ticks() { awk '{print $14+$15}' /proc/$SIM_PID/stat; }
# One job first, apart: the consumer group's join (seconds on the dev
# broker) is not what jobs/s is about.
joined=$(date +%s.%N)
echo '{"custom_id":"warm-up","method":"POST","url":"/v1/chat/completions","body":{"model":"deepseek-chat","messages":[{"role":"user","content":"warm up"}]}}' |
  kcat -P -b "$BROKERS" -t sluice.jobs -k warm-up -H 'authorization=Bearer sk-sluice-demo'
timeout 120 kcat -C -b "$BROKERS" -t sluice.job-results -o beginning -c 1 -q >/dev/null
echo "first job (the consumer group's join included): $(awk -v s="$joined" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }') s"
t0=$(ticks); s0=$(sim_ticks); start=$(date +%s.%N)
kcat -P -b "$BROKERS" -t sluice.jobs -k jobs -H 'authorization=Bearer sk-sluice-demo' -l "$RUN/jobs.jsonl"
produced=$(date +%s.%N)
timeout 600 kcat -C -b "$BROKERS" -t sluice.job-results -o beginning -c "$((JOBS + 1))" -q -f '%s\n' |
  grep -v '"custom_id":"warm-up"' >"$RUN/results.jsonl"
end=$(date +%s.%N); t1=$(ticks); s1=$(sim_ticks)
ok=$(grep -c '"status_code":200' "$RUN/results.jsonl" || true)
awk -v n="$JOBS" -v ok="$ok" -v s="$start" -v p="$produced" -v e="$end" -v t="$((t1 - t0))" -v st="$((s1 - s0))" -v c="$CONCURRENCY" 'BEGIN {
  d = e - s
  printf "| jobs | answered 200 | seconds | jobs/s | gateway CPU µs per job | simulator CPU µs per job | concurrency | kcat -P took s |\n|---|---|---|---|---|---|---|---|\n"
  printf "| %d | %d | %.2f | %.0f | %.0f | %.0f | %d | %.2f |\n", n, ok, d, n / d, t * 10000 / n, st * 10000 / n, c, p - s
}'

# The same lines through the Batch API.
AUTH='authorization: Bearer sk-sluice-demo'
t0=$(ticks); start=$(date +%s.%N)
FILE_ID=$(curl -sf "http://127.0.0.1:$PORT/v1/files" -H "$AUTH" -F purpose=batch \
            -F "file=@$RUN/jobs.jsonl" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
BATCH_ID=$(curl -sf "http://127.0.0.1:$PORT/v1/batches" -H "$AUTH" \
             -d "{\"input_file_id\":\"$FILE_ID\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" |
           sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
[[ -n $BATCH_ID ]] || { echo "no batch created"; cat "$RUN/sluice.out"; exit 1; }
deadline=$((SECONDS + 600))
until curl -sf "http://127.0.0.1:$PORT/v1/batches/$BATCH_ID" -H "$AUTH" | grep -q '"status":"completed"'; do
  ((SECONDS < deadline)) || { echo "batch not completed in 600 s"; exit 1; }
  sleep 0.05
done
end=$(date +%s.%N); t1=$(ticks)
counts=$(curl -sf "http://127.0.0.1:$PORT/v1/batches/$BATCH_ID" -H "$AUTH" |
         sed -n 's/.*"request_counts":{"total":\([0-9]*\),"completed":\([0-9]*\).*/\2/p')
awk -v n="$JOBS" -v ok="$counts" -v s="$start" -v e="$end" -v t="$((t1 - t0))" -v c="$CONCURRENCY" 'BEGIN {
  d = e - s
  printf "\n| batch lines | completed | seconds | lines/s | gateway CPU µs per line | batch_concurrency |\n|---|---|---|---|---|---|\n"
  printf "| %d | %d | %.2f | %.0f | %.0f | %d |\n", n, ok, d, n / d, t * 10000 / n, c
}'

# Jobs for the worker: the micro-batcher's groups.
awk -v n="$WORKER_JOBS" 'BEGIN { for (i = 0; i < n; i++) printf "{\"custom_id\":\"local-%d\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"local\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"What is job %d?\"}]}}\n", i, i }' >"$RUN/local.jsonl"
start=$(date +%s.%N)
kcat -P -b "$BROKERS" -t sluice.jobs -k local -H 'authorization=Bearer sk-sluice-demo' -l "$RUN/local.jsonl"
timeout 600 kcat -C -b "$BROKERS" -t sluice.job-results -o beginning -c "$((JOBS + WORKER_JOBS + 1))" -q -f '%s\n' >"$RUN/all-results.jsonl"
end=$(date +%s.%N)
ok=$(grep '"custom_id":"local-' "$RUN/all-results.jsonl" | grep -c '"status_code":200' || true)
awk -v n="$WORKER_JOBS" -v ok="$ok" -v s="$start" -v e="$end" 'BEGIN {
  printf "\n| worker jobs | answered 200 | seconds | jobs/s |\n|---|---|---|---|\n"
  printf "| %d | %d | %.2f | %.0f |\n", n, ok, e - s, n / (e - s)
}'
echo
echo "micro-batch sizes toward the worker (groups of batch calls that left together):"
echo
echo "| size ≤ | groups |"
echo "|---|---|"
curl -sf "http://127.0.0.1:$PORT/metrics" |
  sed -n 's/^sluice_scheduler_micro_batch_size_bucket{provider="local",le="\([^"]*\)"} \(.*\)/| \1 | \2 |/p'
