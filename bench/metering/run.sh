#!/usr/bin/env bash
# Usage events ingested per second by metering (issue 13's target: at least
# 100,000/s on this machine): SQLite store alone (batches as the consumer
# hands them over, synchronous=FULL), then end to end from the dev broker
# through metering's consumer group into the store. Needs a build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SLUICE_BUILD_DIR:-$ROOT/build}
BENCH=$BUILD/bench/metering/sluice-metering-bench
[[ -x $BENCH ]] || { echo "missing $BENCH: build first (./dev build)"; exit 1; }
exec "$BENCH" "$@"
