// `sluice serve`: hosts any set of services in this process until SIGINT or
// SIGTERM.
#pragma once

#include <string>
#include <vector>

namespace sluice::app {

// Returns the process exit code. SIGINT/SIGTERM must already be blocked in
// every thread (main does it first thing).
int RunServe(const std::vector<std::string>& args);

// The main of a single-service binary (services/<name>/main.cc): blocks the
// signals, then `sluice serve --services <service> <argv...>`.
int RunServiceMain(const char* service, int argc, char** argv);

}  // namespace sluice::app
