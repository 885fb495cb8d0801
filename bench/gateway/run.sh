#!/usr/bin/env bash
# bench/gateway: what a gateway adds to a chat completion, four contenders in
# one run against the same fixed-answer upstream (the simulator, no added
# latency): the upstream called directly, sluice in one process (every
# service, metering on, the Kafka dev broker in process), sluice split into
# processes (metering, cache, adapters, router, ingress, and the dev broker),
# and Portkey's open-source gateway (@portkey-ai/gateway, node).
#
# Load: bench/loadgen (sluice-loadgen), open loop with Poisson arrivals at
# fixed rates (latency from the scheduled time: no coordinated omission),
# and closed loop (32 connections) for saturation. Unary and streamed.
# CPU per request: the contender's processes' CPU time (utime+stime) over
# the 5k/s run, divided by the requests it answered. Peak RSS: the sum of
# their VmHWM at the end.
#
# Prints a markdown table (and the targets' status), writes the raw rows to
# $OUT/rows.tsv and a plot of added latency against offered load to
# $OUT/added-latency.png (gnuplot).
# Usage: bench/gateway/run.sh   (environment: SLUICE_BUILD_DIR, OUT,
#   SECONDS_EACH (6), RATES ("1000 5000"), PLOT_RATES, CONTENDERS, PORTKEY_DIR)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SLUICE_BUILD_DIR:-$ROOT/build}
OUT=${OUT:-$ROOT/bench/results}
SECONDS_EACH=${SECONDS_EACH:-6}
WARMUP=2
RATES=${RATES:-1000 5000}
PLOT_RATES=${PLOT_RATES:-500 1000 2000 3000 4000 5000}
CONTENDERS=${CONTENDERS:-direct one split portkey}
PORTKEY_DIR=${PORTKEY_DIR:-$ROOT/.cache/npm/portkey}
SLUICE=$BUILD/apps/sluice/sluice
SIM=$BUILD/tools/upstream-sim/upstream-sim
LOADGEN=$BUILD/bench/loadgen/sluice-loadgen
KEY_HASH=1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213
for binary in "$SLUICE" "$SIM" "$LOADGEN"; do
  [[ -x $binary ]] || { echo "missing $binary: build first (./dev build)"; exit 1; }
done
mkdir -p "$OUT"
RUN=$(mktemp -d)
PIDS=()
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
SIM_PID=""
# The simulator serves every contender: stopped only at the end.
stop_sim() {
  [[ -n $SIM_PID ]] || return 0
  kill "$SIM_PID" 2>/dev/null || true
  wait "$SIM_PID" 2>/dev/null || true
}
trap 'stop_all; stop_sim; rm -rf "$RUN"' EXIT

# Waits until file $1 has a line matching $2 (or process $3 dies).
wait_for() {
  local deadline=$((SECONDS + 60))
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || { echo "!! $1:"; cat "$1"; exit 1; }
    ((SECONDS < deadline)) || { echo "!! timed out waiting for '$2' in $1"; cat "$1"; exit 1; }
    sleep 0.1
  done
}

SIM_PORT=$("$SLUICE" free-port)
"$SIM" --listen 127.0.0.1:$SIM_PORT --threads 2 >"$RUN/sim.out" 2>&1 &
SIM_PID=$!
wait_for "$RUN/sim.out" listening $SIM_PID

config() {  # the sluice config for HTTP port $1
  cat <<YAML
server: {http_listen: 127.0.0.1:$1, grpc_listen: 127.0.0.1:0, http_threads: 2}
metering: {sqlite_path: "$RUN/metering-$1.db"}
keys: {sqlite_path: "$RUN/keys-$1.db"}
providers:
  - {name: sim, kind: openai, base_url: "http://127.0.0.1:$SIM_PORT/v1"}
models:
  - {provider: sim, model: deepseek-chat, input_usd_per_mtok: 0.28, output_usd_per_mtok: 0.42, context_window: 131072, tokenizer: deepseek-llm, chat_template: deepseek3}
routes:
  - {model: deepseek-chat, provider: sim}
tenants:
  - {name: demo, api_key_sha256s: [$KEY_HASH]}
logging: {level: warn}
YAML
}

# Starts contender $1; sets URL, HEADERS (loadgen flags) and CPIDS (the
# processes whose CPU and memory count).
start_contender() {
  CPIDS=()
  HEADERS=()
  case $1 in
    direct)
      URL=http://127.0.0.1:$SIM_PORT/v1/chat/completions
      CPIDS=($SIM_PID)
      ;;
    one|one-untraced)
      local port; port=$("$SLUICE" free-port)
      config "$port" >"$RUN/one.yaml"
      # The same process keeping no spans: what tracing costs.
      [[ $1 == one-untraced ]] && echo "tracing: {keep_disabled: true}" >>"$RUN/one.yaml"
      "$SLUICE" serve --config "$RUN/one.yaml" >"$RUN/one.out" 2>&1 &
      PIDS+=($!); CPIDS=($!)
      wait_for "$RUN/one.out" "sluice: ready" $!
      URL=http://127.0.0.1:$port/v1/chat/completions
      HEADERS=(--header "Authorization: Bearer sk-sluice-demo" --header "x-sluice-cache: bypass")
      ;;
    split)
      local port; port=$("$SLUICE" free-port)
      config "$port" >"$RUN/split.yaml"
      export SLUICE_INTERNAL_SECRET=bench-internal-secret
      "$SLUICE" dev-kafka >"$RUN/kafka.out" 2>&1 &
      PIDS+=($!); CPIDS+=($!)
      wait_for "$RUN/kafka.out" BOOTSTRAP= $!
      local brokers; brokers=$(sed -n 's/^BOOTSTRAP=//p' "$RUN/kafka.out")
      local -A internal=()
      local service remotes
      for service in metering cache adapters router ingress; do
        remotes=()
        case $service in
          adapters) remotes=(--remote "metering=${internal[metering]}") ;;  # its spans
          router) remotes=(--remote "adapters=${internal[adapters]}" --remote "cache=${internal[cache]}"
                           --remote "metering=${internal[metering]}") ;;
          ingress) remotes=(--remote "router=${internal[router]}" --remote "metering=${internal[metering]}"
                            --remote "cache=${internal[cache]}") ;;
        esac
        hosted=$service
        [[ $service == router ]] && hosted=router,scheduler  # the scheduler lives with its router
        "$SLUICE" serve --config "$RUN/split.yaml" --kafka-brokers "$brokers" \
          --services "$hosted" "${remotes[@]}" >"$RUN/split-$service.out" 2>&1 &
        PIDS+=($!); CPIDS+=($!)
        wait_for "$RUN/split-$service.out" "sluice: ready" $!
        internal[$service]=$(sed -n 's/.*internal gRPC listening on //p' "$RUN/split-$service.out")
      done
      URL=http://127.0.0.1:$port/v1/chat/completions
      HEADERS=(--header "Authorization: Bearer sk-sluice-demo" --header "x-sluice-cache: bypass")
      ;;
    portkey)
      local port; port=$("$SLUICE" free-port)
      (cd "$PORTKEY_DIR" && exec node node_modules/@portkey-ai/gateway/build/start-server.js \
        --port=$port --headless) >"$RUN/portkey.out" 2>&1 &
      PIDS+=($!); CPIDS=($!)
      wait_for "$RUN/portkey.out" "Ready for connections" $!
      URL=http://127.0.0.1:$port/v1/chat/completions
      HEADERS=(--header "x-portkey-provider: openai" --header "x-portkey-custom-host: http://127.0.0.1:$SIM_PORT/v1"
               --header "Authorization: Bearer sk-bench")
      ;;
  esac
}

body() {  # stream: 0|1
  local stream_field=""
  [[ $1 == 1 ]] && stream_field='"stream":true,"stream_options":{"include_usage":true},'
  echo "{\"model\":\"deepseek-chat\",\"temperature\":0,$stream_field\"messages\":[{\"role\":\"user\",\"content\":\"What is a sluice gate?\"}]}"
}

ticks() { local t=0 pid; for pid in "$@"; do t=$((t + $(awk '{print $14+$15}' /proc/$pid/stat))); done; echo $t; }
hwm_mb() {
  local kb=0 pid
  for pid in "$@"; do kb=$((kb + $(awk '/VmHWM/ {print $2}' /proc/$pid/status))); done
  echo $((kb / 1024))
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# One load run: contender mode rate (0: closed loop); appends a row to
# rows.tsv: contender mode rate rps ttfb_p50 ttfb_p99 ttlb_p50 ttlb_p99
# errors cpu_us_per_request.
measure() {
  local contender=$1 stream=$2 rate=$3 connections=256
  ((rate == 0)) && connections=32
  local t0 t1 result
  t0=$(ticks "${CPIDS[@]}")
  result=$("$LOADGEN" --url "$URL" "${HEADERS[@]}" --body "$(body "$stream")" \
    --rate "$rate" --connections $connections --duration "$SECONDS_EACH" --warmup $WARMUP)
  t1=$(ticks "${CPIDS[@]}")
  local requests errors cpu
  requests=$(field "$result" requests)
  errors=$(( $(field "$result" errors) + $(field "$result" non2xx) ))
  # Ticks are 10 ms; the run counts warm-up requests too.
  local total=$(( requests * (SECONDS_EACH + WARMUP) / SECONDS_EACH ))
  cpu=$(( total > 0 ? (t1 - t0) * 10000 / total : 0 ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$contender" "$stream" "$rate" \
    "$(field "$result" rps)" "$(field "$result" ttfb_p50)" "$(field "$result" ttfb_p99)" \
    "$(field "$result" ttlb_p50)" "$(field "$result" ttlb_p99)" "$errors" "$cpu" >>"$OUT/rows.tsv"
}

: >"$OUT/rows.tsv"
: >"$OUT/rss.tsv"
for contender in $CONTENDERS; do
  if [[ $contender == portkey && ! -f $PORTKEY_DIR/node_modules/@portkey-ai/gateway/build/start-server.js ]]; then
    echo "!! Portkey is not installed in $PORTKEY_DIR (./dev bench installs it)"; exit 1
  fi
  start_contender "$contender"
  echo "-- $contender" >&2
  for stream in 0 1; do
    # Warm-up: connections, caches, JIT (node).
    "$LOADGEN" --url "$URL" "${HEADERS[@]}" --body "$(body "$stream")" --rate 0 \
      --connections 32 --duration 2 >/dev/null
    rates=$RATES
    [[ $contender == one || $contender == split ]] && [[ $stream == 0 ]] && rates=$(echo "$RATES $PLOT_RATES" | tr ' ' '\n' | sort -nu | tr '\n' ' ')
    for rate in $rates 0; do measure "$contender" "$stream" "$rate"; done
  done
  printf '%s\t%s\n' "$contender" "$(hwm_mb "${CPIDS[@]}")" >>"$OUT/rss.tsv"
  [[ $contender == direct ]] || stop_all
done

python3 "$ROOT/bench/gateway/report.py" "$OUT" "$SECONDS_EACH" "$RATES"
if command -v gnuplot >/dev/null; then
  gnuplot -e "rows='$OUT/plot.tsv'; out='$OUT/added-latency.png'" "$ROOT/bench/gateway/plot.gp" &&
    echo "plot: $OUT/added-latency.png"
else
  echo "(gnuplot is missing: no plot; ./dev bench installs it)"
fi
