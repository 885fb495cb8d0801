// `sluice make-test-model`: writes a deterministic random-weight llama GGUF
// (services/worker/test_model.h) for tests and benches:
//   sluice make-test-model --out FILE [--params N] [--seed S] [--vocab NAME]
//                          [--template NAME|none] [--f16]
// N takes a K, M or B suffix (2M = 2,000,000).
#pragma once

#include <string>
#include <vector>

namespace sluice::app {

// Returns the process exit code: 0 done, 1 failed, 2 bad usage.
int RunMakeTestModel(const std::vector<std::string>& args);

}  // namespace sluice::app
