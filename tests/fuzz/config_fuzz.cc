// The YAML config loader: any text is a config or an INVALID_ARGUMENT that
// names where it is wrong, never a crash or an escaped exception.
#include <cstddef>
#include <cstdint>

#include "libs/config/config_loader.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  absl::StatusOr<v1::Config> config =
      config::ParseConfig(fuzz::AsText(data, size), "fuzz.yaml");
  if (!config.ok() && !absl::IsInvalidArgument(config.status())) {
    fuzz::Fail("a config error that is not INVALID_ARGUMENT");
  }
  return 0;
}
