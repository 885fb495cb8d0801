#!/usr/bin/env bash
# Fetches llama.cpp's pinned source from the npm registry (node-llama-cpp ships
# it as a git bundle) and builds its `llama` + `ggml` static libraries once, in
# a cache outside the clone keyed by the release tag. Prints the install prefix.
# `--server`: builds llama-server instead (benchmarks) and prints its path.
set -euo pipefail

NODE_LLAMA_CPP_VERSION=3.22.1
EXPECTED_TAG=v0.5.0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
SRC=$ROOT/third_party/llama.cpp
VARIANT=cpu
[ "${SLUICE_CUDA:-0}" = 1 ] && VARIANT=cuda
PREFIX=$CACHE/llama-$EXPECTED_TAG-$VARIANT

log() { echo "[llama] $*" >&2; }

fetch_source() {
  local pkg=$CACHE/npm/package
  if [ ! -f "$pkg/llama/gitRelease.bundle" ]; then
    mkdir -p "$CACHE/npm"
    log "npm pack node-llama-cpp@$NODE_LLAMA_CPP_VERSION"
    (cd "$CACHE/npm" && npm pack --silent "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" >/dev/null &&
      tar xzf "node-llama-cpp-$NODE_LLAMA_CPP_VERSION.tgz" package/llama)
  fi
  local tag
  tag=$(sed -n 's/.*"release": *"\([^"]*\)".*/\1/p' "$pkg/llama/binariesGithubRelease.json")
  if [ "$tag" != "$EXPECTED_TAG" ]; then
    log "release tag is '$tag', expected '$EXPECTED_TAG'"; exit 1
  fi
  if [ ! -f "$SRC/include/llama.h" ]; then
    rm -rf "$SRC"; mkdir -p "$(dirname "$SRC")"
    git -c advice.detachedHead=false clone -q "$pkg/llama/gitRelease.bundle" "$SRC"
    echo "$tag" > "$SRC/.sluice-release"
  fi
}

# Configures llama.cpp's source into build dir $1 with the flags every build
# shares (Release, static, no tests, the variant's backend, ccache) plus
# the rest of the arguments.
configure() {
  local build=$1; shift
  local extra=()
  [ "$VARIANT" = cuda ] && extra+=(-DGGML_CUDA=ON)
  command -v ccache >/dev/null && extra+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$SRC" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF \
    "${extra[@]}" "$@" >&2
}

build() {
  local build=$CACHE/llama-build-$EXPECTED_TAG-$VARIANT
  log "building llama.cpp $EXPECTED_TAG ($VARIANT) into $PREFIX (once)"
  configure "$build" -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_COMMON=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_PREFIX="$PREFIX"
  cmake --build "$build" --target llama -j"$(nproc)" >&2
  cmake --install "$build" >&2 || { log "install failed"; exit 1; }
  # Vocabularies and chat templates travel with the build, for token counting.
  mkdir -p "$PREFIX/share/llama/models"
  cp "$SRC"/models/ggml-vocab-*.gguf* "$PREFIX/share/llama/models/" 2>/dev/null || true
  cp -r "$SRC/models/templates" "$PREFIX/share/llama/"
  install_internal_headers
  touch "$PREFIX/.complete"
}

# libllama's Unicode classes (src/unicode.h, not installed by llama.cpp):
# our fast tokenizer calls them so that it splits text exactly as llama.cpp.
install_internal_headers() {
  mkdir -p "$PREFIX/include/llama-internal"
  cp "$SRC/src/unicode.h" "$PREFIX/include/llama-internal/"
}

# llama.cpp's own server, for the worker benchmark only (never in tests):
# built from the same source, cached beside the library build.
build_server() {
  local build=$CACHE/llama-server-build-$EXPECTED_TAG-$VARIANT
  log "building llama-server $EXPECTED_TAG ($VARIANT) once (several minutes)"
  configure "$build" -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
  cmake --build "$build" --target llama-server -j"$(nproc)" >&2
  mkdir -p "$(dirname "$SERVER")"
  cp "$build/bin/llama-server" "$SERVER"
}

SERVER=$CACHE/llama-server-$EXPECTED_TAG-$VARIANT/llama-server
if [ "${1:-}" = --server ]; then
  if [ ! -x "$SERVER" ]; then
    fetch_source
    build_server
  fi
  echo "$SERVER"
  exit 0
fi

# The build is cached by release tag: a fresh clone with a warm cache needs
# neither the npm package nor the source tree.
if [ ! -f "$PREFIX/.complete" ]; then
  fetch_source
  build
elif [ ! -f "$PREFIX/include/llama-internal/unicode.h" ]; then
  # A cache built before the header was installed.
  fetch_source
  install_internal_headers
fi
echo "$PREFIX"
