#!/usr/bin/env bash
# Builds Debian's Abseil (the very version libabsl-dev installs, from its
# Debian source package) with ThreadSanitizer, as shared libraries with
# Debian's sonames (libabsl_*.so.20220623), once, into a cache outside the
# clone keyed by that version. Prints the install prefix; its lib/ goes
# ahead of the system's in the RUNPATH of a SLUICE_SANITIZE=thread build, so
# our code and Debian's libgrpc (which links the same sonames) both lock
# through an instrumented absl::Mutex that ThreadSanitizer can see.
#
# Shared rather than static: a static copy in our binaries would leave
# libgrpc on the system's uninstrumented copy (two Abseils in one process).
# Headers need not be installed: Debian's /usr/include/absl is the same tree.
set -euo pipefail

CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
VERSION=$(dpkg-query -W -f='${Version}' libabsl-dev 2>/dev/null) ||
  { echo "[absl-tsan] libabsl-dev is not installed (./dev deps)" >&2; exit 1; }
PREFIX=$CACHE/absl-tsan-$VERSION
SYSTEM_LIB=/usr/lib/$(gcc -print-multiarch)

log() { echo "[absl-tsan] $*" >&2; }

# Debian's source package (upstream tarball + Debian's patches, which set
# the sonames and the inline namespace `debian3`), through a private apt
# configuration with a deb-src entry: the system's sources stay as they are.
fetch_source() {
  local work=$1 apt=$CACHE/absl-tsan-apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$work"
  echo "deb-src http://deb.debian.org/debian bookworm main" >"$apt/sources.list"
  echo "deb-src http://deb.debian.org/debian bookworm-updates main" >>"$apt/sources.list"
  echo "deb-src http://deb.debian.org/debian-security bookworm-security main" >>"$apt/sources.list"
  local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache")
  log "fetching Debian's source package abseil=$VERSION"
  apt-get "${opts[@]}" -qq update >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
  (cd "$work" && apt-get "${opts[@]}" -qq source --download-only "abseil=$VERSION") >>"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log" >&2; log "could not download abseil=$VERSION"; exit 1; }
  (cd "$work" && dpkg-source -x --no-check ./abseil_*.dsc src) >>"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log" >&2; exit 1; }
}

build() {
  local work=$CACHE/absl-tsan-work-$VERSION
  rm -rf "$work"
  fetch_source "$work"
  log "building Abseil $VERSION with ThreadSanitizer into $PREFIX (once, several minutes)"
  local extra=()
  command -v ccache >/dev/null && extra+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  # Debian's configuration (C++17, shared, its patches) plus TSan; -g1 for
  # line numbers in reports. No NDEBUG, as in Debian's build.
  cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF \
    -DCMAKE_C_FLAGS="-O2 -g1 -fsanitize=thread" -DCMAKE_CXX_FLAGS="-O2 -g1 -fsanitize=thread" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib "${extra[@]}" >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log" >&2; exit 1; }
  nice -n 10 cmake --build "$work/build" -j"${SLUICE_JOBS:-$(nproc)}" >"$work/build.log" 2>&1 ||
    { tail -50 "$work/build.log" >&2; log "build failed ($work/build.log)"; exit 1; }
  rm -rf "$PREFIX"
  cmake --install "$work/build" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
  check
  touch "$PREFIX/.complete"
  rm -rf "$work"
}

# Every Abseil soname the system has must be here, instrumented: one left
# to the system's copy would hide its locks again.
check() {
  local lib name
  for lib in "$SYSTEM_LIB"/libabsl_*.so.[0-9]*[0-9]; do
    [[ $lib =~ \.so\.[0-9]+$ ]] || continue
    name=$(basename "$lib")
    [ -e "$PREFIX/lib/$name" ] || { log "$name missing from $PREFIX/lib"; exit 1; }
  done
  nm -D "$PREFIX/lib/libabsl_synchronization.so.${VERSION%%.*}" | grep -q __tsan_mutex_post_lock ||
    { log "$PREFIX/lib/libabsl_synchronization is not instrumented"; exit 1; }
}

[ -f "$PREFIX/.complete" ] || build
echo "$PREFIX"
