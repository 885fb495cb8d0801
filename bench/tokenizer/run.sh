#!/usr/bin/env bash
# Tokenizer benchmark (issue 10), two tables:
#  1. MB/s per vocabulary on English prose, source code, CJK and a mix, side
#     by side in one run: ours, llama.cpp's own tokenizer on the same
#     vocabulary and text, and tiktoken from npm (OpenAI's Rust BPE compiled
#     to WebAssembly; cl100k_base and o200k_base) as a production reference.
#  2. What the gateway adds against prompt size (1 KB .. 1 MB) through
#     `sluice serve` (x-sluice-overhead-ms, the median of 5), with our
#     tokenizer and with llama.cpp's (SLUICE_TOKENIZER=llama) in the same run;
#     then 100 connections of small requests alone and while 1 MB prompts
#     are being counted, to show that counting does not hold them up.
# Needs a build (./dev build); node for tiktoken (installed into .cache/npm).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SLUICE_BUILD_DIR:-$ROOT/build}
VOCABS=${VOCABS:-deepseek-llm,deepseek-coder,llama-bpe,qwen2,gpt-2}
TEXTS=english,code,cjk,mixed
MODELS=$("$ROOT/scripts/llama.sh")/share/llama/models
SLUICE=$BUILD/apps/sluice/sluice
SIM=$BUILD/tools/upstream-sim/upstream-sim
LOADGEN=$BUILD/bench/loadgen/sluice-loadgen
BENCH=$BUILD/bench/tokenizer/sluice-tokenizer-bench
TIKTOKEN=$ROOT/.cache/npm/tiktoken
KEY_HASH=1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213
for binary in "$SLUICE" "$SIM" "$LOADGEN" "$BENCH"; do
  [[ -x $binary ]] || { echo "missing $binary: build first (./dev build)"; exit 1; }
done
RUN=$(mktemp -d)
PIDS=()
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_all; rm -rf "$RUN"' EXIT
wait_for() {
  local deadline=$((SECONDS + 60))
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || { echo "!! $1:"; cat "$1"; exit 1; }
    ((SECONDS < deadline)) || { echo "!! timed out waiting for '$2' in $1"; exit 1; }
    sleep 0.1
  done
}

python3 "$ROOT/bench/tokenizer/corpus.py" "$RUN/texts" "$MODELS" "$ROOT"

echo "### Tokenizer speed (MB/s, one thread; 256 KB texts)"
echo
"$BENCH" "$MODELS" "$RUN/texts" "$VOCABS" "$TEXTS" >"$RUN/ours.tsv"
tiktoken_rows=""
if command -v node >/dev/null; then
  if [[ ! -d $TIKTOKEN/node_modules/tiktoken ]]; then
    mkdir -p "$TIKTOKEN"
    npm install --prefix "$TIKTOKEN" --no-audit --no-fund --loglevel=error tiktoken@1.0.22 >&2
  fi
  node "$ROOT/bench/tokenizer/tiktoken.mjs" "$TIKTOKEN/node_modules" "$RUN/texts" "$TEXTS" >"$RUN/tiktoken.tsv"
fi
python3 - "$RUN/ours.tsv" "$RUN/tiktoken.tsv" <<'PY'
import csv, sys
ours = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
try:
    tik = list(csv.DictReader(open(sys.argv[2]), delimiter="\t"))
except FileNotFoundError:
    tik = []
texts = ["english", "code", "cjk", "mixed"]
print("| vocabulary | text | tokens | sluice MB/s | llama.cpp MB/s | × llama.cpp | same tokens |")
print("|---|---|---:|---:|---:|---:|---|")
for r in ours:
    print(f"| {r['vocab']} | {r['text']} | {r['tokens']} | {float(r['ours_mb_s']):.1f} | "
          f"{float(r['llama_mb_s']):.2f} | {float(r['speedup']):.0f}× | {r['same']} |")
if tik:
    print()
    print("| tiktoken (npm, WASM) | " + " | ".join(texts) + " |")
    print("|---|" + "---:|" * len(texts))
    for enc in ["cl100k_base", "o200k_base"]:
        cells = {r["text"]: r["mb_s"] for r in tik if r["encoding"] == enc}
        print(f"| {enc} MB/s | " + " | ".join(cells.get(t, "-") for t in texts) + " |")
PY

SIM_PORT=$("$SLUICE" free-port)
"$SIM" --listen 127.0.0.1:$SIM_PORT --threads 2 >"$RUN/sim.out" 2>&1 &
PIDS+=($!)
wait_for "$RUN/sim.out" listening $!

start_sluice() {  # $1: our | llama; sets URL
  local port; port=$("$SLUICE" free-port)
  cat >"$RUN/$1.yaml" <<YAML
server: {http_listen: 127.0.0.1:$port, grpc_listen: 127.0.0.1:0, http_threads: 2, max_body_bytes: 4194304}
metering: {sqlite_path: "$RUN/metering-$1.db"}
keys: {sqlite_path: "$RUN/keys-$1.db"}
providers:
  - {name: sim, kind: openai, base_url: "http://127.0.0.1:$SIM_PORT/v1"}
models:
  - {provider: sim, model: deepseek-chat, context_window: 4194304, tokenizer: deepseek-llm, chat_template: deepseek3}
routes:
  - {model: deepseek-chat, provider: sim}
tenants:
  - {name: demo, api_key_sha256s: [$KEY_HASH]}
logging: {level: warn}
YAML
  local env=()
  [[ $1 == llama ]] && env=(SLUICE_TOKENIZER=llama)
  env "${env[@]}" "$SLUICE" serve --config "$RUN/$1.yaml" >"$RUN/$1.out" 2>&1 &
  PIDS+=($!)
  wait_for "$RUN/$1.out" "sluice: ready" $!
  URL=http://127.0.0.1:$port/v1/chat/completions
}

prompt_body() {  # $1: bytes of English prose in one user message
  python3 - "$RUN/texts/english.txt" "$1" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
n = int(sys.argv[2])
body = (text * (n // len(text) + 1))[:n]
print(json.dumps({"model": "deepseek-chat", "temperature": 0,
                  "messages": [{"role": "user", "content": body}]}))
PY
}

overhead() {  # median x-sluice-overhead-ms of 5 requests with body file $1
  local i values=()
  for i in 1 2 3 4 5; do
    values+=("$(curl -s -o /dev/null -D - -H "Authorization: Bearer sk-sluice-demo" \
      -H "x-sluice-cache: bypass" -H "Content-Type: application/json" \
      --data-binary @"$1" "$URL" | tr -d '\r' | sed -n 's/^x-sluice-overhead-ms: //ip')")
  done
  printf '%s\n' "${values[@]}" | sort -g | sed -n 3p
}
count_kind() {
  curl -s -o /dev/null -D - -H "Authorization: Bearer sk-sluice-demo" -H "x-sluice-cache: bypass" \
    -H "Content-Type: application/json" --data-binary @"$1" "$URL" | tr -d '\r' |
    sed -n 's/^x-sluice-prompt-count: //ip'
}

SIZES="1024 10240 102400 358400 1048576"
for size in $SIZES; do prompt_body "$size" >"$RUN/prompt-$size.json"; done
declare -A OURS LLAMA KIND
start_sluice our
for size in $SIZES; do OURS[$size]=$(overhead "$RUN/prompt-$size.json"); KIND[$size]=$(count_kind "$RUN/prompt-$size.json"); done
small='{"model":"deepseek-chat","temperature":0,"messages":[{"role":"user","content":"What is a sluice gate?"}]}'
load() {
  "$LOADGEN" --url "$URL" --header "Authorization: Bearer sk-sluice-demo" --header "x-sluice-cache: bypass" \
    --body "$small" --rate 500 --connections 100 --duration 6 --warmup 2
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
alone=$(load)
big_prompts() {  # 1 MB prompts back to back; extra curl flags in "$@"
  while true; do
    curl -s -o /dev/null -H "Authorization: Bearer sk-sluice-demo" -H "x-sluice-cache: bypass" \
      -H "Content-Type: application/json" "$@" --data-binary @"$RUN/prompt-1048576.json" "$URL"
  done
}
big_prompts &
BIG=$!
beside=$(load)
kill $BIG 2>/dev/null || true; wait $BIG 2>/dev/null || true
# The same 1 MB prompts with their task named: the bounds decide, nothing
# is counted. What is left of the difference is carrying 1 MB bodies.
big_prompts -H "x-sluice-task: simple_qa" &
BIG=$!
uncounted=$(load)
kill $BIG 2>/dev/null || true; wait $BIG 2>/dev/null || true
stop_all
"$SIM" --listen 127.0.0.1:$SIM_PORT --threads 2 >"$RUN/sim2.out" 2>&1 &
PIDS+=($!)
wait_for "$RUN/sim2.out" listening $!
start_sluice llama
for size in $SIZES; do LLAMA[$size]=$(overhead "$RUN/prompt-$size.json"); done

echo
echo "### What the gateway adds against prompt size (deepseek-llm; x-sluice-overhead-ms, median of 5)"
echo
echo "| prompt | sluice (our tokenizer) | sluice (llama.cpp's tokenizer) | count behind the decision |"
echo "|---:|---:|---:|---|"
for size in $SIZES; do
  echo "| $((size / 1024)) KB | ${OURS[$size]} ms | ${LLAMA[$size]} ms | ${KIND[$size]} |"
done
echo
echo "### 100 connections of small requests at 500/s, alone and beside 1 MB prompts being counted"
echo
echo "| | requests | errors | TTLB p50 ms | TTLB p99 ms |"
echo "|---|---:|---:|---:|---:|"
for row in alone beside uncounted; do
  r=${!row}
  case $row in
    alone) label="alone" ;;
    beside) label="beside 1 MB prompts being counted" ;;
    uncounted) label="beside 1 MB prompts not counted (task named)" ;;
  esac
  echo "| $label | $(field "$r" requests) | $(field "$r" errors) | $(field "$r" ttlb_p50) | $(field "$r" ttlb_p99) |"
done
