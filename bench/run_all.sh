#!/usr/bin/env bash
# Every benchmark under bench/, in one go (./dev bench): the gateway table
# with its four contenders and the targets (bench/gateway), then the cache
# (bench/cache), async jobs through Kafka (bench/jobs), token counting
# (bench/tokenizer), metering ingest (bench/metering). Results and the plot
# go to bench/results/ (not tracked).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export OUT=${OUT:-$ROOT/bench/results}
mkdir -p "$OUT"
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
  echo "## bench/gateway ($(date -u +%Y-%m-%d), $(nproc) cores, ${CPU:-unknown CPU}; load generator, upstream and gateway share them)"
  echo
  "$ROOT/bench/gateway/run.sh"
  echo
  echo "## bench/cache"
  echo
  "$ROOT/bench/cache/run.sh"
  echo
  echo "## bench/jobs"
  echo
  "$ROOT/bench/jobs/run.sh"
  echo
  echo "## bench/tokenizer"
  echo
  "$ROOT/bench/tokenizer/run.sh"
  echo
  echo "## bench/metering"
  echo
  "$ROOT/bench/metering/run.sh"
} 2>&1 | tee "$OUT/latest.md"
