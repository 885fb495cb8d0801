// `sluice keys`: virtual keys from the command line, in the same store the
// gateway reads (the config's `keys`), without a running gateway:
//   sluice keys create --tenant T [--name N] [--models a,b] [--rpm N]
//                      [--tpm N] [--budget-usd X] [--priority N]
//                      [--cache bypass|refresh]
//   sluice keys list [--tenant T]
//   sluice keys revoke KEY_ID
// each with [--config FILE] [--sqlite-path FILE] as `serve` takes them.
// Answers are JSON on stdout, as the admin API gives them.
#pragma once

#include <string>
#include <vector>

namespace sluice::app {

// Returns the process exit code: 0 done, 1 failed, 2 bad usage.
int RunKeys(const std::vector<std::string>& args);

}  // namespace sluice::app
