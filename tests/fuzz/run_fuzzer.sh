#!/usr/bin/env bash
# One fuzz target of the fuzz build (SLUICE_FUZZ_DIR, made by ./dev) for a
# bounded time: ctest runs it as fuzz_<name> from ./dev test, ./dev fuzz for
# long. Usage: run_fuzzer.sh NAME CORPUS_DIR... ; new inputs go to a
# scratch directory (or SLUICE_FUZZ_CORPUS/NAME when set), crash inputs to
# SLUICE_FUZZ_DIR/artifacts. Extra libFuzzer flags: SLUICE_FUZZ_FLAGS.
set -euo pipefail
name=$1; shift
if [ -z "${SLUICE_FUZZ_DIR:-}" ]; then
  echo "SLUICE_FUZZ_DIR is not set: run the suite with ./dev test, which builds the fuzzers" >&2
  exit 1
fi
bin=$SLUICE_FUZZ_DIR/tests/fuzz/${name}_fuzz
[ -x "$bin" ] || { echo "no fuzzer at $bin" >&2; exit 1; }
if [ -n "${SLUICE_FUZZ_CORPUS:-}" ]; then
  work=$SLUICE_FUZZ_CORPUS/$name
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
dirs=()
for dir in "$@"; do [ -d "$dir" ] && dirs+=("$dir"); done
mkdir -p "$SLUICE_FUZZ_DIR/artifacts"
# shellcheck disable=SC2086
exec "$bin" -max_total_time="${SLUICE_FUZZ_SECONDS:-15}" -timeout=10 \
  -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$SLUICE_FUZZ_DIR/artifacts/$name-" ${SLUICE_FUZZ_FLAGS:-} \
  "$work" "${dirs[@]}"
