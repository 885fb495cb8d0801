#include "tests/integration/sdk_script.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/subprocess.h"

namespace sluice::testing {
namespace {

// An executable named `name` on PATH, or empty.
std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string SourceDir() {
  const char* dir = std::getenv("SLUICE_SOURCE_DIR");
  return dir != nullptr ? dir : SLUICE_SOURCE_DIR_DEFAULT;
}

std::string FindNode() { return FindOnPath("node"); }

absl::StatusOr<SdkTools> FindSdkTools() {
  SdkTools tools;
  tools.node = FindOnPath("node");
  if (tools.node.empty()) {
    return absl::NotFoundError("node is not on PATH (./dev test installs it)");
  }
  const char* env = std::getenv("SLUICE_OPENAI_SDK_DIR");
  tools.sdk_dir = env != nullptr ? env : SourceDir() + "/.cache/npm/openai_sdk";
  if (!std::filesystem::exists(tools.sdk_dir + "/node_modules/openai/package.json")) {
    return absl::NotFoundError(
        absl::StrCat("the openai npm package is not installed in ", tools.sdk_dir,
                     " (./dev test installs it)"));
  }
  std::string lock = SourceDir() + "/tests/compat/openai_sdk/package-lock.json";
  if (ReadFile(tools.sdk_dir + "/.installed-lock") != ReadFile(lock)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the openai npm package in ", tools.sdk_dir, " is not the one ",
                     lock, " pins (./dev test reinstalls it)"));
  }
  return tools;
}

SdkRun RunSdkScript(const SdkTools& tools, const std::string& script,
                    const std::vector<std::string>& env, absl::Duration timeout) {
  std::vector<std::string> with_sdk = {"SLUICE_OPENAI_SDK_DIR=" + tools.sdk_dir};
  with_sdk.insert(with_sdk.end(), env.begin(), env.end());
  return RunNodeScript(tools.node, "tests/compat/openai_sdk/" + script,
                       with_sdk, timeout);
}

SdkRun RunNodeScript(const std::string& node, const std::string& script,
                     const std::vector<std::string>& env,
                     absl::Duration timeout) {
  // The script's settings go in its environment (by env(1)); the shell
  // reports node's exit code on a line of its own: Subprocess waits for
  // lines, not for exits.
  std::vector<std::string> argv = {"/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  for (std::string arg : {std::string("/bin/sh"), std::string("-c"),
                          std::string(R"("$0" "$1" 2>&1; echo "sdk script exit=$?")"),
                          node, SourceDir() + "/" + script}) {
    argv.push_back(std::move(arg));
  }
  SdkRun run;
  auto process = Subprocess::Start(argv);
  if (!process.ok()) {
    run.output = process.status().ToString();
    return run;
  }
  auto done = (*process)->WaitForLine("sdk script exit=", timeout);
  run.output = (*process)->Output();
  if (!done.ok()) {
    run.output += done.status().ToString();
    return run;
  }
  run.exit_code = std::stoi(done->substr(done->find('=') + 1));
  for (absl::string_view line : absl::StrSplit(run.output, '\n')) {
    if (absl::StartsWith(line, "{")) run.seen.Parse(line.data(), line.size());
  }
  return run;
}

}  // namespace sluice::testing
