# Sourced by the bench scripts: starts the upstream simulator (no added
# latency) and `sluice serve` (one process: route deepseek-chat → the
# simulator, the demo tenant, logging warn) on free ports, waits until both
# are ready, and stops them on exit.
# Needs BUILD; reads SIM_THREADS and HTTP_THREADS (default 2 each).
# Sets RUN (a scratch directory), SLUICE, SIM, SIM_PORT and HTTP_PORT.
start_gateway() {
  SLUICE=$BUILD/apps/sluice/sluice
  SIM=$BUILD/tools/upstream-sim/upstream-sim
  command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 1; }
  [[ -x $SLUICE && -x $SIM ]] || { echo "build sluice and upstream-sim first (in $BUILD)"; exit 1; }
  RUN=$(mktemp -d)
  GATEWAY_PIDS=()
  trap 'for p in "${GATEWAY_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$RUN"' EXIT
  SIM_PORT=$("$SLUICE" free-port)
  HTTP_PORT=$("$SLUICE" free-port)
  "$SIM" --listen 127.0.0.1:$SIM_PORT --threads "${SIM_THREADS:-2}" >"$RUN/sim.out" 2>&1 &
  GATEWAY_PIDS+=($!)
  cat >"$RUN/sluice.yaml" <<YAML
server: {http_listen: 127.0.0.1:$HTTP_PORT, grpc_listen: 127.0.0.1:0, http_threads: ${HTTP_THREADS:-2}}
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
  GATEWAY_PIDS+=($!)
  for _ in $(seq 1 100); do
    grep -q "sluice: ready" "$RUN/sluice.out" 2>/dev/null &&
      grep -q "listening" "$RUN/sim.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "listening" "$RUN/sim.out" || { cat "$RUN/sim.out"; exit 1; }
  grep -q "sluice: ready" "$RUN/sluice.out" || { cat "$RUN/sluice.out"; exit 1; }
}
