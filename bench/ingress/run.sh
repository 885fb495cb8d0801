#!/usr/bin/env bash
# bench/ingress: the latency sluice adds to a chat completion, next to the
# same request sent to the upstream simulator directly, in one run: at fixed
# offered rates (wrk pacing, see chat.lua) and at saturation (closed loop),
# non-streamed and streamed. Goal: under 1 ms added at 5k requests/s on 2 cores.
# Needs a Release build (./dev build) and wrk.
# Usage: bench/ingress/run.sh [seconds per row]   (default 8: about 2 minutes)
# Environment: SLUICE_BUILD_DIR, CONNECTIONS (32), THREADS (wrk's, 2),
#              RATES ("1000 5000"), SIM_THREADS (2), HTTP_THREADS (2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SLUICE_BUILD_DIR:-$ROOT/build}
SECONDS_EACH=${1:-8}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
RATES=${RATES:-1000 5000}
SIM_THREADS=${SIM_THREADS:-2}
HTTP_THREADS=${HTTP_THREADS:-2}
WARMUP_SECONDS=2
SCRIPT=$ROOT/bench/ingress/chat.lua
# The simulator answers at once (no --latency-* flags), so what sluice adds
# is not hidden behind a model's think time.
source "$ROOT/bench/gateway.sh"
start_gateway

url() { [[ $1 == sluice ]] && echo "http://127.0.0.1:$HTTP_PORT/v1/chat/completions" ||
  echo "http://127.0.0.1:$SIM_PORT/v1/chat/completions"; }

# Each path must answer the benchmarked request with 200 and a whole answer
# before its latency means anything.
check() {  # path stream
  local headers=(-H "Content-Type: application/json") stream_field="" want='"chat.completion"'
  [[ $1 == sluice ]] && headers+=(-H "Authorization: Bearer sk-sluice-demo" -H "x-sluice-cache: bypass")
  [[ $2 == 1 ]] && stream_field='"stream":true,' && want='data: [DONE]'
  local status
  status=$(curl -s -o "$RUN/check.body" -w '%{http_code}' -X POST "$(url "$1")" "${headers[@]}" \
    -d "{\"model\":\"deepseek-chat\",\"temperature\":0,$stream_field\"messages\":[{\"role\":\"user\",\"content\":\"What is a sluice gate?\"}]}")
  if [[ $status != 200 ]] || ! grep -qF "$want" "$RUN/check.body"; then
    echo "!! $1 (stream=$2) answered $status, not a 200 with $want:"; cat "$RUN/check.body"; echo
    exit 1
  fi
}
for path in direct sluice; do for stream in 0 1; do check "$path" "$stream"; done; done

wrk_result() {  # path stream rate seconds
  TARGET=$1 STREAM=$2 RATE=$3 WRK_THREADS=$THREADS \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$4s" --latency -s "$SCRIPT" "$(url "$1")" |
    grep '^RESULT' || echo "RESULT wrk-failed"
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

for path in direct sluice; do wrk_result "$path" 0 0 "$WARMUP_SECONDS" >/dev/null; done

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "== bench/ingress: latency sluice adds to a chat completion vs the simulator called directly"
echo "machine:  $(nproc) cores, ${CPU:-unknown CPU}; wrk, the simulator and sluice all share them"
echo "          load average $(cut -d' ' -f1-3 /proc/loadavg) at start: anything else running skews every row"
echo "settings: wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $THREADS threads, $CONNECTIONS connections," \
  "${SECONDS_EACH}s per row after ${WARMUP_SECONDS}s warm-up per path"
echo "          simulator: $SIM_THREADS threads, no added latency;" \
  "sluice: http_threads $HTTP_THREADS, logging warn, x-sluice-cache: bypass (every request goes upstream)"
echo "          fixed rates are wrk pacing (delay() hook), not wrk2: latency runs from when a request"
echo "          is written, with no coordinated-omission correction; a shortfall shows in req/s"
echo
printf '%-12s %-8s %-7s %9s %9s %9s %9s %8s %s\n' load request path 'req/s' 'p50 ms' 'p90 ms' 'p99 ms' errors ''
FAILED=()
for stream in 0 1; do
  request=$([[ $stream == 1 ]] && echo streamed || echo chat)
  for rate in $RATES 0; do
    load=$([[ $rate == 0 ]] && echo saturation || echo "$rate req/s") label=$request
    declare -A p50=() p99=()
    for path in direct sluice; do
      r=$(wrk_result "$path" "$stream" "$rate" "$SECONDS_EACH")
      if [[ $r == *wrk-failed* ]]; then
        FAILED+=("$load $request $path: wrk printed no RESULT")
        printf '%-12s %-8s %-7s %s\n' "$load" "$label" "$path" 'wrk failed'
        load="" label=""
        continue
      fi
      rps=$(field "$r" rps) non2xx=$(field "$r" non2xx) sock=$(field "$r" socket_errors)
      p50[$path]=$(field "$r" p50_ms) p99[$path]=$(field "$r" p99_ms)
      note=""
      if ((non2xx + sock > 0)); then
        note="!! $non2xx non-2xx, $sock socket errors"
        FAILED+=("$load $request $path: $non2xx non-2xx, $sock socket errors")
      fi
      if ((rate > 0 && rps * 100 < rate * 95)); then note="$note (short of the offered rate)"; fi
      printf '%-12s %-8s %-7s %9s %9s %9s %9s %8s %s\n' "$load" "$label" "$path" "$rps" \
        "${p50[$path]}" "$(field "$r" p90_ms)" "${p99[$path]}" "$((non2xx + sock))" "$note"
      load="" label=""
    done
    if [[ -n ${p50[direct]:-} && -n ${p50[sluice]:-} ]]; then
      awk -v a="${p50[sluice]}" -v b="${p50[direct]}" -v c="${p99[sluice]}" -v d="${p99[direct]}" \
        'BEGIN { printf "%-12s %-8s %-7s %9s %+9.3f %9s %+9.3f\n", "", "", "added", "", a - b, "", c - d }'
    fi
    unset p50 p99
  done
done

if ((${#FAILED[@]} > 0)); then
  echo
  echo "!!!! ERRORS: these rows had failed requests; their latencies do not count:"
  printf '!!!!   %s\n' "${FAILED[@]}"
  exit 1
fi
