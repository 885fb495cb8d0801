# Every external library, found once. Debian 12 packages; llama.cpp from the
# cache prefix that scripts/llama.sh prints (passed as SLUICE_LLAMA_PREFIX).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(absl REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(GTest REQUIRED)
find_package(benchmark QUIET)

pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(SIMDJSON IMPORTED_TARGET simdjson)

find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

set(SLUICE_LLAMA_PREFIX "" CACHE PATH "Install prefix of the llama.cpp build")
if(SLUICE_LLAMA_PREFIX)
  find_package(llama REQUIRED PATHS ${SLUICE_LLAMA_PREFIX} NO_DEFAULT_PATH)
  set(SLUICE_HAVE_LLAMA ON)
else()
  set(SLUICE_HAVE_LLAMA OFF)
  message(STATUS "SLUICE_LLAMA_PREFIX not set: llama.cpp targets skipped")
endif()

# RE2 for router task rules (Debian libre2-dev ships a pkg-config file only).
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
# PostgreSQL client for the key store (Debian libpq-dev).
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)

if(SLUICE_MALLOC STREQUAL "tcmalloc")
  find_library(SLUICE_TCMALLOC NAMES tcmalloc_minimal)
  if(NOT SLUICE_TCMALLOC)
    message(FATAL_ERROR "tcmalloc_minimal not found: apt-get install "
            "libgoogle-perftools-dev (./dev does), or -DSLUICE_MALLOC=system")
  endif()
elseif(NOT SLUICE_MALLOC STREQUAL "system")
  message(FATAL_ERROR "SLUICE_MALLOC must be tcmalloc or system")
endif()
