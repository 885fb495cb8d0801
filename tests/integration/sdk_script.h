// Runs a node script of tests/compat/openai_sdk (the official `openai` npm
// package, installed by `./dev test`) and collects the one JSON object it
// prints of what it saw.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"

namespace sluice::testing {

struct SdkRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  rapidjson::Document seen;  // the last line that starts with "{"
};

// node and the SDK's directory, or why they cannot be used (./dev test
// installs both; a compatibility test that skipped would prove nothing).
struct SdkTools {
  std::string node;
  std::string sdk_dir;
};
absl::StatusOr<SdkTools> FindSdkTools();

// Runs tests/compat/openai_sdk/`script` with `env` ("NAME=value") added to
// its environment (SLUICE_OPENAI_SDK_DIR is set), for at most `timeout`.
SdkRun RunSdkScript(const SdkTools& tools, const std::string& script,
                    const std::vector<std::string>& env,
                    absl::Duration timeout = absl::Seconds(90));

// Runs the node script at `script` (a path under the source tree, e.g.
// "tests/console/console_check.mjs") with `env` added, as RunSdkScript.
SdkRun RunNodeScript(const std::string& node, const std::string& script,
                     const std::vector<std::string>& env,
                     absl::Duration timeout = absl::Seconds(90));

// The source tree's root (tests/ and the npm caches under .cache/npm).
std::string SourceDir();
// node on PATH, or empty.
std::string FindNode();

}  // namespace sluice::testing
